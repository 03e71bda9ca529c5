"""Loyalty across channels: earned on the web, spent at the till, one balance; returns and
cancellations take points back; merges and unmerges of profiles are respected."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from channelhub.core.database import Database
from channelhub.customers import merging
from channelhub.customers.journeys import feed, loyalty, timeline
from channelhub.customers.journeys.model import LoyaltyRule
from channelhub.customers.store import customer_links
from channelhub.orders import fulfilment
from channelhub.orders.model import ReturnCondition
from tests.customers.journeys.conftest import buy, customer


def test_points_earned_on_the_web_are_spent_at_the_till_and_returns_reverse_them(
    shop: Database, api: TestClient
) -> None:
    loyalty.save_rule(shop, LoyaltyRule("*", Decimal(1)))
    put = api.put("/api/v1/loyalty/rules/pos", json={"points_per_unit": "1", "multiplier": "2"})
    assert put.status_code == 200, put.text
    ann = customer(shop, "ann@example.com")

    web_order = buy(shop, "W1", ("SHIRT-1", 2), channel="web", profile_id=ann)  # 50.00
    assert loyalty.account(shop, ann).balance == 50
    buy(shop, "P1", ("MUG-1", 1), channel="pos", profile_id=ann, store="ams")  # 10.00 x2
    assert loyalty.account(shop, ann).balance == 70

    burned = api.post(
        f"/api/v1/customers/{ann}/loyalty/burn",
        json={"points": 30, "channel": "pos", "reference": "till-7-0042"},
    )
    assert burned.status_code == 201, burned.text
    assert burned.json()["points"] == -30
    # The same balance on every channel's view of the customer.
    assert api.get(f"/api/v1/customers/{ann}/loyalty").json()["balance"] == 40
    again = api.post(
        f"/api/v1/customers/{ann}/loyalty/burn",
        json={"points": 30, "channel": "pos", "reference": "till-7-0042"},
    )
    assert again.json()["id"] == burned.json()["id"]  # a retry is the same burn
    too_much = api.post(
        f"/api/v1/customers/{ann}/loyalty/burn",
        json={"points": 41, "channel": "web", "reference": "web-basket-9"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["detail"] == f"customer {ann} has 40 points; cannot spend 41"

    # One of the two shirts comes back (at a store): half the web order's 50 points go.
    fulfilment.ship(shop, web_order, "test")
    fulfilment.return_items(
        shop, web_order, "ams", [fulfilment.ReturnItem(1, 1, ReturnCondition.RESELLABLE)], "test"
    )
    feed.catch_up(shop)
    feed.catch_up(shop)  # reading again changes nothing
    account = loyalty.account(shop, ann)
    assert account.balance == 15
    assert [(e.kind, e.points, e.channel) for e in account.entries] == [
        ("earn", 50, "web"),
        ("earn", 20, "pos"),
        ("burn", -30, "pos"),
        ("reverse", -25, "web"),
    ]
    assert (account.earned, account.spent) == (70, 30)


def test_a_cancelled_order_gives_its_points_back_and_bad_burns_are_refused(shop: Database) -> None:
    bea = customer(shop, "bea@example.com")
    order = buy(shop, "W2", ("MUG-2", 2), profile_id=bea)
    assert loyalty.account(shop, bea).balance == 30
    fulfilment.cancel(shop, order, "test", "changed her mind")
    feed.catch_up(shop)
    assert loyalty.account(shop, bea).balance == 0
    with pytest.raises(loyalty.NotEnoughPoints, match="has 0 points"):
        loyalty.burn(shop, bea, 1, "web", "r1")
    with pytest.raises(loyalty.InvalidInput):
        loyalty.burn(shop, bea, 0, "web", "r2")


def test_merged_profiles_share_one_balance_and_an_unmerge_splits_it(shop: Database) -> None:
    web = customer(shop, "cy@example.com", "web")
    store = customer(shop, "cy.other@example.com", "pos")
    buy(shop, "W3", ("MUG-1", 1), profile_id=web)
    buy(shop, "P3", ("MUG-2", 1), channel="pos", profile_id=store, store="ams")
    assert (loyalty.account(shop, web).balance, loyalty.account(shop, store).balance) == (10, 15)

    with shop.transaction() as conn:
        survivor = merging.merge_profiles(conn, web, store, "test")
    assert survivor == min(web, store)
    assert loyalty.account(shop, web).balance == loyalty.account(shop, store).balance == 25
    assert timeline.customer_view(shop, store).orders == 2  # both channels' orders, one view
    spent = loyalty.burn(shop, store, 20, "pos", "till-1")
    assert spent.profile_id == survivor
    assert loyalty.account(shop, web).balance == 5

    with shop.read() as conn:
        link = conn.execute(
            customer_links.select().where(customer_links.c.action == "link")
        ).first()
    assert link is not None
    with shop.transaction() as conn:
        merging.unmerge(conn, link.id, "test")
    # Each profile gets its own rows back; the burn stays with the profile it was booked on.
    assert loyalty.account(shop, web).balance == 10 - 20
    assert loyalty.account(shop, store).balance == 15


def test_two_tills_cannot_spend_the_same_points(shop: Database) -> None:
    eve = customer(shop, "eve@example.com")
    buy(shop, "W5", ("SHIRT-1", 1), profile_id=eve)  # 25 points
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def spend(reference: str) -> None:
        barrier.wait()
        try:
            loyalty.burn(shop, eve, 20, "pos", reference)
            outcomes.append("spent")
        except loyalty.NotEnoughPoints:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend, args=(f"till-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "spent"]
    assert loyalty.account(shop, eve).balance == 5
