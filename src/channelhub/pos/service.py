"""POS use cases: record a till sale, take back goods of any channel's order at a store (the
lookup is in ``lookup.py``). Sales and returns are idempotent by key (``idempotency.py``).

A sale becomes an ``in_store`` order of the store's channel, collected at once. Unless the till
says the goods already left (``accept_short``), the units are first held on the store's shelf
with one conditional UPDATE per stock row, the same guard online orders meet, so the last unit
goes to exactly one of the till and the webshop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from channelhub.catalog.service import list_channels
from channelhub.core import money
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound, Problem
from channelhub.inventory import reserving
from channelhub.inventory import service as inventory
from channelhub.inventory import store as stock_store
from channelhub.inventory.model import MovementKind
from channelhub.orders import fulfilment
from channelhub.orders.model import (
    HANDED_OVER,
    DeliveryMethod,
    LineInput,
    OrderInput,
    PaymentStatus,
    order_problems,
)
from channelhub.orders.service import OrderView, find_order, import_order
from channelhub.pos.idempotency import Recorded, check_key, once
from channelhub.pos.model import OrderLineLeft, Sale, TillReturn, spread_return
from channelhub.pos.stores import Store, get_store
from channelhub.pricing.service import resolve_many

#: How long units held for a sale in progress stay held if the process dies mid-way.
HOLD_TTL = timedelta(minutes=5)


# --- sales --------------------------------------------------------------------------------


def record_sale(
    db: Database, store_code: str, sale: Sale, idempotency_key: str | None, actor: str
) -> Recorded:
    """Record a till sale as a collected order of the store's channel; once per key (the
    ``Idempotency-Key``, else the till's transaction id)."""
    key = idempotency_key or sale.transaction_id
    if key is None:
        raise InvalidInput(
            "a sale needs a transaction_id or an Idempotency-Key header, so a retry is safe",
            [Problem("transaction_id", "give the till's transaction id or an Idempotency-Key")],
        )
    check_key(key, "Idempotency-Key" if idempotency_key else "transaction_id")
    shop = get_store(db, store_code)
    order = _sale_order(db, shop, sale, key)
    body = {
        "transaction_id": sale.transaction_id,
        "lines": [vars(line) for line in sale.lines],
        "currency": sale.currency,
        "customer": vars(sale.customer),
        "placed_at": sale.placed_at,
        "accept_short": sale.accept_short,
    }
    return once(
        db, shop.code, key, "sale", body, lambda: _sell(db, shop, order, sale.accept_short, actor)
    )


def _sale_order(db: Database, shop: Store, sale: Sale, key: str) -> OrderInput:
    currency = sale.currency or shop.channel.currency
    if currency != shop.channel.currency:
        raise InvalidInput(
            f"store {shop.code} sells in {shop.channel.currency}",
            [Problem("currency", f"{currency} is not the store's currency")],
        )
    problems: list[Problem] = []
    lines: list[LineInput] = []
    skus = sorted({line.sku for line in sale.lines})
    unpriced = sorted({line.sku for line in sale.lines if line.unit_price is None})
    with db.read() as conn:  # one query for the SKUs, one resolution for the prices
        unknown = inventory.unknown_skus(conn, skus)
        prices = resolve_many(conn, shop.code, currency, unpriced, utcnow()) if unpriced else {}
    for i, line in enumerate(sale.lines):
        if line.sku in unknown:
            problems.append(Problem(f"lines[{i}].sku", f"unknown SKU {line.sku!r}"))
            continue
        price = line.unit_price
        if price is None:
            found = prices.get(line.sku)
            if found is None:
                problems.append(
                    Problem(
                        f"lines[{i}].unit_price",
                        f"{line.sku} has no {currency} price on {shop.code}; send the unit price",
                    )
                )
                continue
            price = found.effective_price
        for name, amount in (("unit_price", price), ("discount", line.discount), ("tax", line.tax)):
            if not money.has_currency_digits(amount, currency):
                digits = money.currency_digits(currency)
                problems.append(
                    Problem(
                        f"lines[{i}].{name}",
                        f"{amount} has more decimals than {currency} allows ({digits})",
                    )
                )
        lines.append(LineInput(line.sku, line.quantity, price, line.discount, line.tax))
    if not sale.lines:
        problems.append(Problem("lines", "a sale has at least one line"))
    if problems:
        raise InvalidInput(f"the sale at store {shop.code} is not valid", problems)
    order = OrderInput(
        channel=shop.code,
        external_id=sale.transaction_id or key,
        currency=currency,
        lines=tuple(lines),
        customer=sale.customer,
        delivery_method=DeliveryMethod.IN_STORE,
        pickup_location=shop.location.code,
        payment_status=PaymentStatus.PAID,
        placed_at=sale.placed_at,
        notes={"till": "pos"},
    )
    wrong = order_problems(order)  # before the shelf is held: e.g. a discount beyond the price
    if wrong:
        raise InvalidInput(
            f"the sale at store {shop.code} is not valid", [Problem(w, m) for w, m in wrong]
        )
    return order


def _sell(db: Database, shop: Store, order: OrderInput, accept_short: bool, actor: str) -> Recorded:
    try:
        # Recorded already (a retry after a crash, or the same sale under another key).
        known = find_order(db, shop.code, order.external_id)
    except NotFound:
        known = None
    if known is not None:
        import_order(db, order, actor=actor)  # unchanged, or a Conflict if the sale differs
        return Recorded(200, _sale_body(shop, find_order(db, shop.code, order.external_id), []))
    hold = f"till:{shop.code}:{order.external_id}"[:200]
    if not accept_short:
        _hold_on_shelf(db, shop, order, hold)
    try:
        result = import_order(db, order, actor=actor)
    finally:
        if not accept_short:
            with contextlib.suppress(NotFound):  # the hold expired and was released already
                reserving.release_cart(db, hold)
    view = find_order(db, shop.code, order.external_id)
    warnings = _shortfalls(db, shop, order) if accept_short else []
    status = 201 if result.outcome == "created" else 200
    return Recorded(status, _sale_body(shop, view, warnings))


def _hold_on_shelf(db: Database, shop: Store, order: OrderInput, hold: str) -> None:
    """Hold the sale's units on the store's shelf (conditionally), or Conflict saying what
    the shelf lacks: the same guard an online order's reservation meets."""
    demand: dict[str, int] = {}
    for line in order.lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.quantity
    pool = inventory.pool_of(shop.channel)
    where = shop.location.id
    now = utcnow()
    with db.transaction() as conn:
        rows = stock_store.ensure_stock_rows(conn, [(sku, where, pool) for sku in demand])
        short: list[str] = []
        for sku, units in sorted(demand.items(), key=lambda item: rows[(item[0], where, pool)]):
            if not stock_store.try_reserve(conn, rows[(sku, where, pool)], units):
                short.append(sku)
        if short:
            s = stock_store.stock_levels.c
            found = {
                r.sku: r
                for r in conn.execute(
                    select(s.sku, s.on_hand, s.reserved, s.safety).where(
                        s.id.in_([rows[(sku, where, pool)] for sku in short])
                    )
                )
            }
            raise Conflict(
                f"store {shop.code} cannot sell this from its shelf ({shop.location.code}); "
                "if the customer already has the goods, send accept_short=true",
                [
                    Problem(
                        f"lines.{sku}",
                        f"{demand[sku]} x {sku} asked; the shelf has {found[sku].on_hand} on hand, "
                        f"{found[sku].reserved} reserved for orders and carts, "
                        f"{found[sku].safety} safety stock",
                    )
                    for sku in short
                ],
            )
        conn.execute(
            insert(stock_store.reservations),
            [
                {
                    "stock_level_id": rows[(sku, where, pool)],
                    "quantity": units,
                    "order_id": None,
                    "order_line_id": None,
                    "cart": hold,
                    "expires_at": now + HOLD_TTL,
                    "status": reserving.ACTIVE,
                    "forced": False,
                    "created_at": now,
                }
                for sku, units in demand.items()
            ],
        )
        stock_store.write_ledger(
            conn,
            [
                stock_store.Movement(
                    rows[(sku, where, pool)],
                    MovementKind.RESERVATION.value,
                    0,
                    units,
                    "till sale",
                    hold,
                )
                for sku, units in demand.items()
            ],
        )


def _shortfalls(db: Database, shop: Store, order: OrderInput) -> list[str]:
    """Warnings for SKUs whose shelf now has fewer units than it promised (oversold)."""
    warnings = []
    pool = inventory.pool_of(shop.channel)
    for sku in sorted({line.sku for line in order.lines}):
        for level in inventory.stock_levels(db, sku=sku, location=shop.location.code):
            if level.pool == pool and level.on_hand - level.reserved < 0:
                warnings.append(
                    f"{sku} at {shop.location.code}: {level.on_hand} on hand, "
                    f"{level.reserved} reserved: sold beyond stock, flagged for review"
                )
    return warnings


def _sale_body(shop: Store, view: OrderView, warnings: Sequence[str]) -> dict[str, Any]:
    return {
        "store": shop.code,
        "location": shop.location.code,
        "transaction_id": view.external_id,
        "order_id": view.id,
        "status": view.status.value,
        "currency": view.currency,
        "total": str(view.total),
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "discount": str(line.discount),
                "tax": str(line.tax),
            }
            for line in view.lines
        ],
        "warnings": list(warnings),
    }


# --- returns ------------------------------------------------------------------------------


def record_return(
    db: Database, store_code: str, till_return: TillReturn, idempotency_key: str | None, actor: str
) -> Recorded:
    """Take goods back at the store, from an order of any channel found by its number; the
    units go onto this store's shelf and the order records the return. Once per key."""
    key = idempotency_key or till_return.return_id
    if key is None:
        raise InvalidInput(
            "a return needs a return_id or an Idempotency-Key header, so a retry is safe",
            [Problem("return_id", "give the till's return id or an Idempotency-Key")],
        )
    check_key(key, "Idempotency-Key" if idempotency_key else "return_id")
    shop = get_store(db, store_code)
    view = _find_sold_order(db, till_return.order_number, till_return.channel)
    label = f"{view.external_id} ({view.channel})"
    if view.status not in HANDED_OVER:
        raise Conflict(f"order {label} is {view.status.value}: nothing was handed over to return")
    spread = spread_return(
        label,
        till_return.lines,
        [
            OrderLineLeft(line.line_no, line.sku, line.shipped - line.returned)
            for line in view.lines
        ],
    )
    if not till_return.lines:
        spread.problems.append(("lines", "a return has at least one line"))
    if spread.problems:
        raise InvalidInput(
            f"the return of order {label} at store {shop.code} is not valid",
            [Problem(where, why) for where, why in spread.problems],
        )
    marker = f"[till {shop.code} return {key}]"
    body = {
        "order": view.external_id,
        "channel": view.channel,
        "return_id": till_return.return_id,
        "lines": [vars(line) for line in till_return.lines],
        "reason": till_return.reason,
        "refund": till_return.refund,
    }

    def act() -> Recorded:
        after = fulfilment.return_items(
            db,
            view.id,
            shop.location.code,
            [fulfilment.ReturnItem(n, q, c) for n, q, c in spread.items],
            actor,
            refund=till_return.refund,
            reason=f"{marker} {till_return.reason}".strip(),
        )
        return Recorded(201, _return_body(shop, after, marker, till_return.return_id or key))

    def recover() -> Recorded | None:
        """A return taken over after a crash: done already if the order carries its marker."""
        now = find_order(db, view.channel, view.external_id)
        if any(str(r.get("reason", "")).startswith(marker) for r in now.returns):
            return Recorded(201, _return_body(shop, now, marker, till_return.return_id or key))
        return None

    return once(db, shop.code, key, "return", body, act, recover)


def _find_sold_order(db: Database, number: str, channel: str | None) -> OrderView:
    if channel is not None:
        return find_order(db, channel, number)
    found: list[OrderView] = []
    for candidate in list_channels(db):
        try:
            found.append(find_order(db, candidate.code, number))
        except NotFound:
            continue
    if not found:
        raise NotFound(f"no channel has an order numbered {number!r}")
    if len(found) > 1:
        names = ", ".join(sorted(v.channel for v in found))
        raise Conflict(f"order number {number!r} exists on channels {names}; name the channel")
    return found[0]


def _return_body(shop: Store, view: OrderView, marker: str, return_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(
        (r for r in reversed(view.returns) if str(r.get("reason", "")).startswith(marker)), {}
    )
    return {
        "store": shop.code,
        "location": shop.location.code,
        "return_id": return_id,
        "order": {
            "id": view.id,
            "channel": view.channel,
            "number": view.external_id,
            "status": view.status.value,
            "payment_status": view.payment_status,
        },
        "lines": list(entry.get("lines", [])),
        "refund": entry.get("refund", "0"),
        "currency": view.currency,
    }
