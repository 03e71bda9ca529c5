"""Order use cases: idempotent import from any channel, reservation and routing, and reading.

An order is imported in one transaction: it is stored, its stock is reserved at the locations
routing chose (or it is backordered or rejected by the channel's policy), and every status it
passes through is logged and emitted as an ``orders.status_changed`` event for its channel.
Shipping, cancelling and returns live in ``fulfilment.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError, IntegrityError

from channelhub.catalog.service import find_channel
from channelhub.catalog.snapshot import Channel
from channelhub.catalog.store import channels
from channelhub.core import money
from channelhub.core.bulk import insert_rows
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError, Conflict, InvalidInput, NotFound, Problem
from channelhub.core.events import record_events
from channelhub.core.pagination import decode_cursor, encode_cursor
from channelhub.inventory import reserving
from channelhub.inventory.service import (
    find_location,
    unknown_skus,
)
from channelhub.inventory.store import locations
from channelhub.orders import store
from channelhub.orders.model import (
    EDITABLE,
    DeliveryMethod,
    LineInput,
    OrderInput,
    OrderStatus,
    PostalAddress,
    as_record,
    line_total,
    order_problems,
)
from channelhub.orders.placing import Placement, Planner, Step, StockMoved

MAX_ATTEMPTS = 10
S = OrderStatus


# --- money --------------------------------------------------------------------------------


def currency_digits(currency: str) -> int:
    if not money.is_known_currency(currency):
        raise InvalidInput(f"{currency!r} is not an ISO 4217 currency code")
    return money.currency_digits(currency)


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's minor units, rounded by the hub's one rule (half-up)."""
    currency_digits(currency)
    return money.to_minor(amount, currency)


def from_minor(minor: int, currency: str) -> Decimal:
    currency_digits(currency)
    return money.from_minor(minor, currency)


# --- history and events -------------------------------------------------------------------


def log_many(
    conn: Connection,
    entries: Sequence[tuple[int, str, str, Sequence[Step]]],
    actor: str,
) -> None:
    """Write the status history and one ``orders.status_changed`` event per step, for
    ``(order id, channel, external id, steps)`` entries, in two statements."""
    now = utcnow()
    history = [
        {
            "order_id": order_id,
            "from_status": s.before.value if s.before else None,
            "to_status": s.after.value,
            "note": s.note[:500],
            "actor": actor[:200],
            "created_at": now,
        }
        for order_id, _, _, steps in entries
        for s in steps
    ]
    if not history:
        return
    insert_rows(conn, store.order_history, history)
    record_events(
        conn,
        "orders.status_changed",
        (
            (
                f"{channel}:{external_id}",
                {
                    "order_id": order_id,
                    "channel": channel,
                    "external_id": external_id,
                    "from": s.before.value if s.before else None,
                    "to": s.after.value,
                    "note": s.note,
                },
            )
            for order_id, channel, external_id, steps in entries
            for s in steps
        ),
    )


def log_steps(
    conn: Connection,
    order_id: int,
    channel: str,
    external_id: str,
    steps: Sequence[Step],
    actor: str,
) -> None:
    """The status history and events of one order's steps."""
    log_many(conn, [(order_id, channel, external_id, steps)], actor)


# --- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    external_id: str
    outcome: str  # created, updated, unchanged or rejected
    order_id: int | None = None
    status: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [p.as_dict() for p in self.problems]
        return data


def import_order(
    db: Database,
    order: OrderInput,
    actor: str = "api",
    *,
    refuse_unknown_skus: bool = False,
    first: Callable[[Connection], object] | None = None,
) -> ImportResult:
    """Store one channel order, or update it when (channel, external id) is already known.

    An order naming SKUs the catalog does not know is refused with ``refuse_unknown_skus``
    (an order placed through the hub's API); otherwise (a sale that already happened on a
    channel or at a till) it is kept and flagged, as stock is. ``first`` runs in the order's
    own transaction before it is placed (checkout releases the cart's holds there, so the
    order takes the held units and nobody else can)."""
    problems = [Problem(w, m) for w, m in order_problems(order)]
    if not problems and refuse_unknown_skus:
        problems = _unknown_sku_problems(db, [order])[0]
    if problems:
        raise InvalidInput(f"order {order.external_id!r} is not valid", problems)
    return _import_with_retry(db, [order], actor, first)[0]


def _unknown_sku_problems(db: Database, orders: Sequence[OrderInput]) -> list[list[Problem]]:
    """For each order, a problem per line whose SKU the catalog does not know."""
    with db.read() as conn:
        unknown = unknown_skus(conn, {line.sku for o in orders for line in o.lines})
    return [
        [
            Problem(f"lines[{i}].sku", f"unknown SKU {line.sku!r}")
            for i, line in enumerate(order.lines)
            if line.sku in unknown
        ]
        for order in orders
    ]


def import_orders(
    db: Database,
    orders: Sequence[OrderInput],
    actor: str,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 100,
    *,
    refuse_unknown_skus: bool = False,
) -> list[ImportResult]:
    """Import many orders, a batch per transaction; a bad order is reported, not fatal.

    Each order is still placed on its own (the batch's plan sees the units the orders before
    it took); a batch that fails on one order is replayed order by order. Unknown SKUs as in
    ``import_order``.
    """
    results: list[ImportResult | None] = [None] * len(orders)
    unknown = _unknown_sku_problems(db, orders) if refuse_unknown_skus else [[] for _ in orders]
    valid: list[int] = []
    for i, order in enumerate(orders):
        found = [Problem(w, m) for w, m in order_problems(order)] or unknown[i]
        if found:
            results[i] = ImportResult(order.external_id, "rejected", problems=found)
        else:
            valid.append(i)
    for start in range(0, len(valid), max(1, batch_size)):
        chunk = valid[start : start + max(1, batch_size)]
        try:
            done = _import_with_retry(db, [orders[i] for i in chunk], actor)
        except ChannelhubError:
            done = [_import_alone(db, orders[i], actor) for i in chunk]
        for i, result in zip(chunk, done, strict=True):
            results[i] = result
        if progress:
            progress(len(chunk))
    return [r for r in results if r is not None]


def import_orders_atomically(
    db: Database, orders: Sequence[OrderInput], actor: str
) -> list[ImportResult]:
    """Import every order in one transaction, or none of them: for a batch that must not be
    applied in part (an exchange file). Idempotent like ``import_order``.

    Raises ``InvalidInput`` naming the first invalid order before anything is written, and the
    ``ChannelhubError`` of the first order that cannot be placed, after rolling back them all
    (``import_orders`` would instead keep the others and report that one).
    """
    for order in orders:
        problems = order_problems(order)
        if problems:
            raise InvalidInput(
                f"order {order.external_id!r} is not valid", [Problem(w, m) for w, m in problems]
            )
    return _import_with_retry(db, orders, actor)


def _import_alone(db: Database, order: OrderInput, actor: str) -> ImportResult:
    try:
        return _import_with_retry(db, [order], actor)[0]
    except ChannelhubError as error:
        problems = error.problems or [Problem("order", error.detail)]
        return ImportResult(order.external_id, "rejected", problems=problems)


def _import_with_retry(
    db: Database,
    orders: Sequence[OrderInput],
    actor: str,
    first: Callable[[Connection], object] | None = None,
) -> list[ImportResult]:
    """Run the batch in one transaction, retried on fresh stock if another writer interfered."""
    for _attempt in range(MAX_ATTEMPTS):
        try:
            with db.transaction() as conn:
                if first is not None:
                    first(conn)
                return _import_batch(conn, orders, actor)
        except StockMoved:
            continue
        except IntegrityError:
            continue  # the same order imported concurrently: the next attempt sees it
        except DBAPIError as error:
            if _is_retryable(error):
                continue
            raise
    raise Conflict("stock kept changing while these orders were placed; try again")


def _is_retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    return code in ("40001", "40P01")  # serialization failure, deadlock detected


def _import_batch(conn: Connection, orders: Sequence[OrderInput], actor: str) -> list[ImportResult]:
    channels_by_code = {
        code: find_channel(conn, code) for code in sorted({o.channel for o in orders})
    }
    pickups = {
        code: find_location(conn, code).id
        for code in sorted({o.pickup_location for o in orders if o.pickup_location})
    }
    o = store.orders.c
    known = {
        (r.channel_id, r.external_id): r
        for r in conn.execute(
            select(
                o.id, o.channel_id, o.external_id, o.status, o.fingerprint, o.lines_fingerprint
            ).where(
                o.channel_id.in_(sorted({c.id for c in channels_by_code.values()})),
                o.external_id.in_(sorted({order.external_id for order in orders})),
            )
        )
    }
    fresh: list[int] = []
    later: list[int] = []
    seen: set[tuple[int, str]] = set()
    for i, order in enumerate(orders):
        key = (channels_by_code[order.channel].id, order.external_id)
        (later if key in known or key in seen else fresh).append(i)
        seen.add(key)
    results: list[ImportResult | None] = [None] * len(orders)
    if fresh:
        entries = [
            (
                orders[i],
                channels_by_code[orders[i].channel],
                pickups.get(orders[i].pickup_location or ""),
            )
            for i in fresh
        ]
        planner = Planner(conn, entries)
        placements = [planner.plan(order, ch, pid, S.RECEIVED) for order, ch, pid in entries]
        _flag_unknown_skus(conn, placements)
        order_ids, line_ids = _insert_orders(conn, placements)
        planner.apply(list(zip(placements, order_ids, line_ids, strict=True)), actor)
        till = [
            oid for oid, p in zip(order_ids, placements, strict=True) if p.status == S.COLLECTED
        ]
        if till:
            ol = store.order_lines.c
            conn.execute(
                update(store.order_lines).where(ol.order_id.in_(till)).values(shipped=ol.quantity)
            )
        log_many(
            conn,
            [
                (oid, p.channel.code, p.order.external_id, [Step(None, S.RECEIVED), *p.steps])
                for oid, p in zip(order_ids, placements, strict=True)
            ],
            actor,
        )
        for i, oid, p in zip(fresh, order_ids, placements, strict=True):
            results[i] = ImportResult(p.order.external_id, "created", oid, p.status.value)
    for i in later:
        order = orders[i]
        channel = channels_by_code[order.channel]
        row = conn.execute(
            select(o.id, o.status, o.fingerprint, o.lines_fingerprint, o.anonymised_at).where(
                o.channel_id == channel.id, o.external_id == order.external_id
            )
        ).one()
        results[i] = _update(
            conn, channel, row, order, pickups.get(order.pickup_location or ""), actor
        )
    return [r for r in results if r is not None]


def _flag_unknown_skus(conn: Connection, placements: Sequence[Placement]) -> None:
    """Flag the kept orders that name SKUs the catalog does not know, for follow-up."""
    unknown = unknown_skus(conn, {line.sku for p in placements for line in p.order.lines})
    for p in placements:
        names = sorted({line.sku for line in p.order.lines if line.sku in unknown})
        if names:
            note = "unknown SKU " + ", ".join(repr(n) for n in names)
            p.flag = f"{p.flag}; {note}" if p.flag else note


def _insert_orders(
    conn: Connection, placements: Sequence[Placement]
) -> tuple[list[int], list[list[int]]]:
    """Insert the orders and their lines in two statements; their ids, in input order."""
    now = utcnow()
    rows = []
    for p in placements:
        order = p.order
        total = sum((line_total(line) for line in order.lines), Decimal(0))
        rows.append(
            {
                "channel_id": p.channel.id,
                "external_id": order.external_id,
                "status": p.status.value,
                "delivery_method": order.delivery_method.value,
                "pickup_location_id": p.pickup_id,
                "payment_status": order.payment_status.value,
                "currency": order.currency,
                "total_minor": to_minor(total, order.currency),
                "refunded_minor": 0,
                "customer": as_record(order.customer),
                "billing_address": as_record(order.billing_address),
                "shipping_address": as_record(order.shipping_address),
                "notes": dict(order.notes),
                "fingerprint": order.fingerprint(),
                "lines_fingerprint": order.lines_fingerprint(),
                "flagged": p.flag[:200] or None,
                "placed_at": order.placed_at or now,
                "created_at": now,
                "updated_at": now,
            }
        )
    o = store.orders.c
    # Matched by key rather than by position: that keeps the multi-row INSERT on SQLite.
    ids = {
        (r.channel_id, r.external_id): r.id
        for r in conn.execute(
            insert(store.orders).returning(o.id, o.channel_id, o.external_id), rows
        )
    }
    order_ids = [ids[(p.channel.id, p.order.external_id)] for p in placements]
    line_ids = _insert_lines(conn, list(zip(order_ids, [p.order for p in placements], strict=True)))
    return order_ids, line_ids


def _insert_lines(conn: Connection, orders: Sequence[tuple[int, OrderInput]]) -> list[list[int]]:
    rows = [
        {
            "order_id": order_id,
            "line_no": i + 1,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price_minor": to_minor(line.unit_price, order.currency),
            "discount_minor": to_minor(line.discount, order.currency),
            "tax_minor": to_minor(line.tax, order.currency),
            "shipped": 0,
            "returned": 0,
            "cancelled": 0,
            "external_line_id": line.external_line_id,
        }
        for order_id, order in orders
        for i, line in enumerate(order.lines)
    ]
    ol = store.order_lines.c
    ids = {
        (r.order_id, r.line_no): r.id
        for r in conn.execute(
            insert(store.order_lines).returning(ol.id, ol.order_id, ol.line_no), rows
        )
    }
    return [[ids[(order_id, i + 1)] for i in range(len(order.lines))] for order_id, order in orders]


def _update(
    conn: Connection,
    channel: Channel,
    existing: Any,
    order: OrderInput,
    pickup_id: int | None,
    actor: str,
) -> ImportResult:
    status = OrderStatus(existing.status)
    if existing.fingerprint == order.fingerprint():
        return ImportResult(order.external_id, "unchanged", existing.id, status.value)
    o = store.orders.c
    order_id: int = existing.id
    locked = conn.execute(select(o.status).where(o.id == order_id).with_for_update()).scalar_one()
    status = OrderStatus(locked)
    lines_changed = existing.lines_fingerprint != order.lines_fingerprint()
    if lines_changed and not order.cancelled and status not in EDITABLE:
        raise Conflict(
            f"order {order.external_id!r} is already {status.value}; its lines cannot change"
        )
    personal: dict[str, Any] = {
        "customer": as_record(order.customer),
        "billing_address": as_record(order.billing_address),
        "shipping_address": as_record(order.shipping_address),
    }
    if existing.anonymised_at is not None:  # the customer was erased: they stay erased
        personal = {}
    conn.execute(
        update(store.orders)
        .where(o.id == order_id)
        .values(
            payment_status=order.payment_status.value,
            notes=dict(order.notes),
            fingerprint=order.fingerprint(),
            updated_at=utcnow(),
            **personal,
        )
    )
    steps: list[Step] = []
    if order.cancelled:
        from channelhub.orders.fulfilment import cancel_in

        steps = cancel_in(conn, order_id, status, "cancelled by the channel")
    elif lines_changed:
        held = reserving.order_reservations(conn, order_id, lock=True)
        reserving.release(conn, held, f"order:{order_id}", "order lines changed")
        conn.execute(delete(store.order_lines).where(store.order_lines.c.order_id == order_id))
        total = sum((line_total(line) for line in order.lines), Decimal(0))
        line_ids = _insert_lines(conn, [(order_id, order)])[0]
        planner = Planner(conn, [(order, channel, pickup_id)])
        placement = planner.plan(order, channel, pickup_id, status)
        planner.apply([(placement, order_id, line_ids)], actor)
        conn.execute(
            update(store.orders)
            .where(o.id == order_id)
            .values(
                lines_fingerprint=order.lines_fingerprint(),
                total_minor=to_minor(total, order.currency),
                status=placement.status.value,
                flagged=placement.flag[:200] or None,
            )
        )
        steps = [Step(s.before, s.after, f"lines changed; {s.note}") for s in placement.steps]
    log_many(conn, [(order_id, channel.code, order.external_id, steps)], actor)
    final = steps[-1].after.value if steps else status.value
    return ImportResult(order.external_id, "updated", order_id, final)


def retry_backorders(db: Database, actor: str, channel: str | None = None) -> int:
    """Try again to reserve every backordered order (oldest first); returns how many now are."""
    o = store.orders.c
    query = select(o.id).where(o.status == S.BACKORDERED.value).order_by(o.id)
    with db.read() as conn:
        if channel is not None:
            query = query.where(o.channel_id == find_channel(conn, channel).id)
        ids = list(conn.execute(query).scalars())
    done = 0
    for order_id in ids:
        for _attempt in range(MAX_ATTEMPTS):
            try:
                with db.transaction() as conn:
                    done += _retry_one(conn, order_id, actor)
                break
            except StockMoved:
                continue
    return done


def _retry_one(conn: Connection, order_id: int, actor: str) -> int:
    view = _load(conn, order_id, lock=True)
    if view.status != S.BACKORDERED:
        return 0
    order = view.as_input()
    channel = find_channel(conn, view.channel)
    pickup_id = find_location(conn, view.pickup_location).id if view.pickup_location else None
    planner = Planner(conn, [(order, channel, pickup_id)])
    placement = planner.plan(order, channel, pickup_id, S.BACKORDERED)
    if placement.status == S.BACKORDERED:
        return 0  # still short
    planner.apply([(placement, order_id, [line.id for line in view.lines])], actor)
    conn.execute(
        update(store.orders)
        .where(store.orders.c.id == order_id)
        .values(status=placement.status.value, updated_at=utcnow())
    )
    log_many(conn, [(order_id, channel.code, view.external_id, placement.steps)], actor)
    return 1


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    id: int
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    shipped: int
    returned: int
    cancelled: int
    external_line_id: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    from_status: str | None
    to_status: str
    note: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class ReservationView:
    line_no: int
    sku: str
    location: str
    quantity: int


@dataclass(frozen=True)
class OrderView:
    id: int
    channel: str
    external_id: str
    status: OrderStatus
    delivery_method: DeliveryMethod
    pickup_location: str | None
    payment_status: str
    currency: str
    total: Decimal
    refunded: Decimal
    customer: dict[str, Any]
    billing_address: dict[str, Any]
    shipping_address: dict[str, Any]
    flagged: str | None
    placed_at: datetime
    lines: list[LineView] = field(default_factory=list)
    reservations: list[ReservationView] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    returns: list[dict[str, Any]] = field(default_factory=list)

    def as_input(self) -> OrderInput:
        return OrderInput(
            channel=self.channel,
            external_id=self.external_id,
            currency=self.currency,
            lines=tuple(
                LineInput(line.sku, line.quantity, line.unit_price, line.discount, line.tax)
                for line in self.lines
            ),
            delivery_method=self.delivery_method,
            pickup_location=self.pickup_location,
            shipping_address=PostalAddress(**self.shipping_address),
        )


def _summary_query() -> Any:
    o, ch, loc = store.orders.c, channels.c, locations.c
    return (
        select(store.orders, ch.code.label("channel_code"), loc.code.label("pickup_code"))
        .join_from(store.orders, channels, o.channel_id == ch.id)
        .join(locations, o.pickup_location_id == loc.id, isouter=True)
    )


def _summary(row: Row[Any]) -> OrderView:
    return OrderView(
        id=row.id,
        channel=row.channel_code,
        external_id=row.external_id,
        status=OrderStatus(row.status),
        delivery_method=DeliveryMethod(row.delivery_method),
        pickup_location=row.pickup_code,
        payment_status=row.payment_status,
        currency=row.currency,
        total=from_minor(row.total_minor, row.currency),
        refunded=from_minor(row.refunded_minor, row.currency),
        customer=dict(row.customer),
        billing_address=dict(row.billing_address),
        shipping_address=dict(row.shipping_address),
        flagged=row.flagged,
        placed_at=row.placed_at,
    )


def _load(conn: Connection, order_id: int, lock: bool = False) -> OrderView:
    o = store.orders.c
    if lock:
        conn.execute(select(o.id).where(o.id == order_id).with_for_update()).first()
    row = conn.execute(_summary_query().where(o.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist")
    view = _summary(row)
    ol, h = store.order_lines.c, store.order_history.c
    cur = view.currency
    view.lines.extend(
        LineView(
            r.id, r.line_no, r.sku, r.quantity, from_minor(r.unit_price_minor, cur),
            from_minor(r.discount_minor, cur), from_minor(r.tax_minor, cur),
            r.shipped, r.returned, r.cancelled, r.external_line_id,
        )
        for r in conn.execute(
            select(store.order_lines).where(ol.order_id == order_id).order_by(ol.line_no)
        )
    )  # fmt: skip
    line_no = {line.id: line.line_no for line in view.lines}
    codes = dict(conn.execute(select(locations.c.id, locations.c.code)).all())
    view.reservations.extend(
        ReservationView(
            line_no.get(r.order_line_id or 0, 0), r.sku, codes[r.location_id], r.quantity
        )
        for r in reserving.order_reservations(conn, order_id)
    )
    view.history.extend(
        HistoryEntry(r.from_status, r.to_status, r.note, r.actor, r.created_at)
        for r in conn.execute(
            select(store.order_history).where(h.order_id == order_id).order_by(h.id)
        )
    )
    for table, target in ((store.shipments, view.shipments), (store.returns, view.returns)):
        for r in conn.execute(
            select(table).where(table.c.order_id == order_id).order_by(table.c.id)
        ):
            entry = {"id": r.id, "location": codes[r.location_id], "lines": list(r.lines)}
            if table is store.shipments:
                entry["tracking"] = r.tracking
            else:
                entry["refund"] = str(from_minor(r.refund_minor, cur))
                entry["reason"] = r.reason
            entry["at"] = r.created_at.isoformat()
            target.append(entry)
    return view


def get_order(db: Database, order_id: int) -> OrderView:
    with db.read() as conn:
        return _load(conn, order_id)


def find_order(db: Database, channel: str, external_id: str) -> OrderView:
    """An order by the id its channel gave it."""
    with db.read() as conn:
        target = find_channel(conn, channel)
        o = store.orders.c
        order_id = conn.execute(
            select(o.id).where(o.channel_id == target.id, o.external_id == external_id)
        ).scalar()
        if order_id is None:
            raise NotFound(f"channel {channel!r} has no order {external_id!r}")
        return _load(conn, order_id)


def list_orders(
    db: Database,
    channel: str | None = None,
    status: OrderStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[OrderView], str | None]:
    """Orders (newest id last) one page at a time, filtered by channel and status."""
    o = store.orders.c
    query = _summary_query().where(o.id > decode_cursor(cursor)).order_by(o.id).limit(limit + 1)
    with db.read() as conn:
        if channel is not None:
            query = query.where(o.channel_id == find_channel(conn, channel).id)
        if status is not None:
            query = query.where(o.status == status.value)
        views = [_summary(r) for r in conn.execute(query)]
    more = len(views) > limit
    views = views[:limit]
    return views, (encode_cursor(views[-1].id) if more and views else None)


def load_order(conn: Connection, order_id: int, lock: bool = False) -> OrderView:
    """An order with its lines and reservations, inside the caller's transaction."""
    return _load(conn, order_id, lock)
