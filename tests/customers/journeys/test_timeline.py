"""The 360° view: orders and returns from every channel, carts, loyalty, consents with their
history, preferences and service interactions in one timeline; export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.customers.erasure import erase_profile, export_profile
from channelhub.customers.journeys import (
    carts,
    consent,
    feed,
    interactions,
    loyalty,
    preferences,
    timeline,
)
from channelhub.customers.journeys.consent import Purpose
from channelhub.orders import fulfilment
from channelhub.orders.model import ReturnCondition
from tests.customers.journeys.conftest import buy, customer


def test_consent_history_is_kept_and_the_latest_answer_counts(shop: Database) -> None:
    ann = customer(shop, "ann@example.com")
    first = datetime(2026, 1, 5, tzinfo=UTC)
    consent.record_consent(shop, ann, Purpose.MARKETING_EMAIL, True, "web", "newsletter", first)
    consent.record_consent(shop, ann, Purpose.SMS, True, "app")
    consent.record_consent(shop, ann, Purpose.MARKETING_EMAIL, False, "pos", "asked at till")
    current, history = consent.consents(shop, ann)
    assert {s.purpose: (s.granted, s.source) for s in current} == {
        Purpose.MARKETING_EMAIL: (False, "pos"),
        Purpose.SMS: (True, "app"),
        Purpose.PERSONALISATION: (False, None),  # never asked: no consent
    }
    assert [(e.purpose, e.granted, e.source) for e in history] == [
        (Purpose.MARKETING_EMAIL, True, "web"),
        (Purpose.SMS, True, "app"),
        (Purpose.MARKETING_EMAIL, False, "pos"),
    ]
    assert history[0].at == first and history[0].note == "newsletter"
    with pytest.raises(InvalidInput):
        consent.record_consent(shop, ann, Purpose.SMS, True, "")


def test_the_timeline_holds_everything_from_every_channel(shop: Database, api: TestClient) -> None:
    ann = customer(shop, "ann@example.com", first_name="Ann")
    web = buy(shop, "W1", ("MUG-1", 2), profile_id=ann)
    buy(shop, "P1", ("SHIRT-1", 1), channel="pos", store="ams", profile_id=ann)
    fulfilment.ship(shop, web, "test")
    fulfilment.return_items(
        shop, web, "rtm", [fulfilment.ReturnItem(1, 1, ReturnCondition.RESELLABLE)], "test"
    )
    feed.catch_up(shop)
    cart = carts.open_cart(shop, "app", ann)
    carts.add_line(shop, cart.token, "MUG-2", 1, "app")
    posted = api.post(
        f"/api/v1/customers/{ann}/consents",
        json={"purpose": "marketing_email", "granted": True, "source": "web"},
    )
    assert posted.status_code == 201, posted.text
    api.put(f"/api/v1/customers/{ann}/preferences/size.shirt", json={"value": "M", "source": "app"})
    note = api.post(
        f"/api/v1/customers/{ann}/interactions",
        json={"kind": "note", "channel": "pos", "body": "prefers gift wrap", "author": "Kim"},
    ).json()
    ticket = api.post(
        f"/api/v1/customers/{ann}/interactions",
        json={"kind": "ticket", "channel": "web", "subject": "Late parcel",
              "body": "Where is W1?", "author": "support"},
    ).json()  # fmt: skip
    assert (note["status"], ticket["status"]) == ("closed", "open")
    closed = api.post(f"/api/v1/customers/{ann}/interactions/{ticket['id']}/close")
    assert closed.json()["status"] == "closed"
    api.post(
        f"/api/v1/customers/{ann}/interactions",
        json={"kind": "chat", "channel": "app", "body": "Do you have it in red?", "author": "bot"},
    )

    view = api.get(f"/api/v1/customers/{ann}/360")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["orders"] == 2 and body["loyalty_balance"] == 20 + 25 - 10
    assert body["active_cart"]["token"] == cart.token
    assert body["preferences"]["size.shirt"]["value"] == "M"
    assert {c["purpose"]: c["granted"] for c in body["consents"]}["marketing_email"] is True
    kinds = sorted({e["kind"] for e in body["timeline"]})
    assert kinds == [
        "cart", "chat", "consent", "loyalty", "note", "order", "preference", "return", "ticket",
    ]  # fmt: skip
    orders = [e for e in body["timeline"] if e["kind"] == "order"]
    assert {e["channel"] for e in orders} == {"web", "pos"}
    returns = api.get(f"/api/v1/customers/{ann}/timeline", params={"kind": "return"}).json()
    assert len(returns) == 1 and returns[0]["details"]["location"] == "rtm"
    times = [e["at"] for e in body["timeline"]]
    assert times == sorted(times, reverse=True)


def test_export_includes_and_erasure_removes_journey_data_but_keeps_loyalty_amounts(
    shop: Database,
) -> None:
    bo = customer(shop, "bo@example.com")
    buy(shop, "W9", ("MUG-2", 2), profile_id=bo)
    consent.record_consent(shop, bo, Purpose.SMS, True, "app")
    preferences.set_preference(shop, bo, "favourite_store", "ams", "pos")
    interactions.log_interaction(
        shop, bo, interactions.InteractionKind.NOTE, "pos", "", "lives at Dam 1", "Kim"
    )
    cart = carts.open_cart(shop, "web", bo)
    carts.add_line(shop, cart.token, "MUG-1", 1, "web")

    data = export_profile(shop, bo, "test")["parts"]["journeys"]
    assert data["loyalty"][0]["points"] == 30
    assert data["consents"][0]["purpose"] == "sms"
    assert data["preferences"]["favourite_store"]["value"] == "ams"
    assert data["interactions"][0]["body"] == "lives at Dam 1"
    assert data["carts"][0]["lines"] == [{"sku": "MUG-1", "quantity": 1}]
    assert data["products_bought"] == {"MUG-2": 2}

    summary = erase_profile(shop, bo, "test")["parts"]["journeys"]
    assert summary["consents"] == 1 and summary["loyalty_entries_kept"] == 1
    view = timeline.customer_view(shop, bo)
    assert view.loyalty_balance == 30  # the amounts stay for accounting
    assert view.preferences == {} and view.active_cart is None
    assert all(s.source is None for s in view.consents)
    texts = [e.details.get("body") for e in view.timeline if e.kind == "note"]
    assert texts == ["[erased]"]
    assert loyalty.account(shop, bo).entries[0].note == ""
    assert carts.get_cart(shop, cart.token).profile_id is None
