"""Checkout turns a cart's holds into the order's reservations in one transaction: no other
order can take the held units between the two, so a cart whose every line was held is never
checked out backordered (issue 21, finding 7). On SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from channelhub.core.database import Database
from channelhub.customers.journeys import carts, checkout
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChangeKind, StockChange
from channelhub.orders import service as orders
from tests.orders.factories import order


def scarce(db: Database, units: int) -> None:
    """SHIRT-1: ``units`` in the warehouse, none anywhere else."""
    counts = [StockChange("SHIRT-1", "wh", units), StockChange("SHIRT-1", "ams", 0)]
    inventory.change_stock(db, ChangeKind.COUNT, counts, source="test")


def held_cart(db: Database, units: int = 1) -> str:
    cart = carts.open_cart(db, "web")
    carts.add_line(db, cart.token, "SHIRT-1", units, "web")
    assert carts.get_cart(db, cart.token).lines[0].held == units
    return cart.token


def test_an_order_arriving_during_checkout_cannot_take_the_held_units(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    scarce(shop, 2)
    token = held_cart(shop, 2)
    real = orders.import_order
    rivals: list[orders.ImportResult] = []

    def another_order_lands_first(*args: Any, **kwargs: Any) -> orders.ImportResult:
        # the moment the old checkout had released the holds and not yet placed the order
        rivals.append(real(shop, order("RIVAL-1", ("SHIRT-1", 2)), actor="rival"))
        return real(*args, **kwargs)

    monkeypatch.setattr(orders, "import_order", another_order_lands_first)
    done = checkout.checkout(shop, token, checkout.CheckoutRequest("web"))
    assert done.order_status == "routed"
    assert [r.status for r in rivals] == ["backordered"]
    assert inventory.available(shop, "web", ["SHIRT-1"]) == {"SHIRT-1": 0}
    assert inventory.check_ledger(shop) == []


def test_concurrent_checkouts_and_orders_on_scarce_stock_keep_every_held_cart(
    shop: Database,
) -> None:
    scarce(shop, 6)
    tokens = [held_cart(shop) for _ in range(6)]
    assert inventory.available(shop, "web", ["SHIRT-1"]) == {"SHIRT-1": 0}

    def check_out(token: str) -> str:
        return checkout.checkout(shop, token, checkout.CheckoutRequest("web")).order_status

    def rival(i: int) -> str:
        return orders.import_order(shop, order(f"RIVAL-{i}", ("SHIRT-1", 1)), "rival").status or ""

    with ThreadPoolExecutor(max_workers=8) as pool:
        carts_done = [pool.submit(check_out, t) for t in tokens]
        rivals_done = [pool.submit(rival, i) for i in range(6)]
        statuses = [f.result() for f in carts_done]
        rival_statuses = [f.result() for f in rivals_done]
    assert statuses == ["routed"] * 6
    assert rival_statuses == ["backordered"] * 6
    levels = inventory.stock_levels(shop, sku="SHIRT-1", location="wh")
    assert [(s.on_hand, s.reserved) for s in levels] == [(6, 6)]
    assert inventory.check_ledger(shop) == []
