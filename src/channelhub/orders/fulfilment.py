"""After routing: picking, (partial) shipments, pickup, delivery, cancellation and returns.

Each use case locks the order row, checks the state machine, changes stock through the
inventory context, and logs the transition with its event, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from channelhub.core import money
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound, Problem, ProblemList
from channelhub.core.events import record_event
from channelhub.inventory import reserving
from channelhub.inventory.model import LocationKind
from channelhub.inventory.service import find_location
from channelhub.inventory.store import locations
from channelhub.orders import store
from channelhub.orders.model import (
    HANDED_OVER,
    DeliveryMethod,
    LineInput,
    OrderStatus,
    PaymentStatus,
    ReturnCondition,
    can_transition,
    refund_for,
)
from channelhub.orders.placing import Step
from channelhub.orders.service import (
    OrderView,
    currency_digits,
    from_minor,
    load_order,
    log_steps,
    to_minor,
)

S = OrderStatus

#: Transitions a person (or a channel) may ask for by name; the others have their own use case.
SIMPLE_TARGETS = frozenset({S.PICKING, S.READY_FOR_PICKUP, S.DELIVERED, S.COLLECTED})


def _check(view: OrderView, target: OrderStatus) -> None:
    if not can_transition(view.status, target):
        raise Conflict(f"order {view.id} is {view.status.value}; it cannot become {target.value}")


def transition(
    db: Database, order_id: int, target: OrderStatus, actor: str, note: str = ""
) -> OrderView:
    """Move an order to picking, ready for pickup, delivered or collected."""
    if target not in SIMPLE_TARGETS:
        raise InvalidInput(
            f"{target.value} has its own action (ship, cancel, return); "
            f"use transition for {', '.join(sorted(t.value for t in SIMPLE_TARGETS))}"
        )
    with db.transaction() as conn:
        view = load_order(conn, order_id, lock=True)
        _check(view, target)
        if (
            target in (S.READY_FOR_PICKUP, S.COLLECTED)
            and view.delivery_method == DeliveryMethod.SHIP
        ):
            raise Conflict(f"order {order_id} is shipped to the customer, not picked up")
        if target == S.COLLECTED:
            _hand_over_everything(conn, view)
        _set(conn, view, [Step(view.status, target, note)], actor)
    return _reload(db, order_id)


def _hand_over_everything(conn: Connection, view: OrderView) -> None:
    """The customer took the goods: every reservation becomes a sale."""
    source = f"order:{view.id}"
    for held in reserving.order_reservations(conn, view.id, lock=True):
        reserving.consume(conn, held, held.quantity, source, "collected")
    ol = store.order_lines.c
    conn.execute(
        update(store.order_lines)
        .where(ol.order_id == view.id)
        .values(shipped=ol.quantity - ol.cancelled)
    )


def _set(conn: Connection, view: OrderView, steps: Sequence[Step], actor: str) -> None:
    conn.execute(
        update(store.orders)
        .where(store.orders.c.id == view.id)
        .values(status=steps[-1].after.value, updated_at=utcnow())
    )
    log_steps(conn, view.id, view.channel, view.external_id, steps, actor)


def _reload(db: Database, order_id: int) -> OrderView:
    with db.read() as conn:
        return load_order(conn, order_id)


def ship(
    db: Database,
    order_id: int,
    actor: str,
    items: Mapping[int, int] | None = None,
    location: str | None = None,
    tracking: str = "",
) -> OrderView:
    """Ship reserved units: all that remain, or ``items`` (line number -> units) for a partial
    shipment, optionally only from one ``location``. Shipped units leave stock."""
    with db.transaction() as conn:
        view = load_order(conn, order_id, lock=True)
        if view.delivery_method != DeliveryMethod.SHIP:
            raise Conflict(f"order {order_id} is collected at a store; it is not shipped")
        if view.status not in (S.ROUTED, S.PICKING, S.PARTIALLY_SHIPPED):
            raise Conflict(f"order {order_id} is {view.status.value}; it cannot ship now")
        place = find_location(conn, location) if location else None
        held = [
            h
            for h in reserving.order_reservations(conn, order_id, lock=True)
            if place is None or h.location_id == place.id
        ]
        by_line = {line.id: line for line in view.lines}
        wanted = dict(items) if items is not None else None
        problems = ProblemList()
        if wanted is not None:
            numbers = {line.line_no: line for line in view.lines}
            for number, units in wanted.items():
                if number not in numbers:
                    problems.add(f"items.{number}", f"order {order_id} has no line {number}")
                elif units <= 0:
                    problems.add(f"items.{number}", "ship at least one unit")
        problems.raise_if_any(f"order {order_id}: the shipment is not valid")
        shipped: dict[int, dict[int, int]] = {}  # location -> line id -> units
        source = f"order:{order_id}"
        for h in held:
            line = by_line[h.order_line_id or 0]
            units = h.quantity
            if wanted is not None:
                units = min(units, wanted.get(line.line_no, 0))
                if units:
                    wanted[line.line_no] -= units
            if units:
                reserving.consume(conn, h, units, source, "shipped")
                per = shipped.setdefault(h.location_id, {})
                per[line.id] = per.get(line.id, 0) + units
        if wanted is not None and any(v > 0 for v in wanted.values()):
            short = {n: v for n, v in wanted.items() if v > 0}
            raise Conflict(f"order {order_id}: not that many reserved units to ship: {short}")
        if not shipped:
            raise Conflict(f"order {order_id} has nothing reserved to ship")
        ol = store.order_lines.c
        totals: dict[int, int] = {}
        for per in shipped.values():
            for line_id, units in per.items():
                totals[line_id] = totals.get(line_id, 0) + units
        for line_id, units in totals.items():
            conn.execute(
                update(store.order_lines).where(ol.id == line_id).values(shipped=ol.shipped + units)
            )
        for location_id, per in sorted(shipped.items()):
            conn.execute(
                insert(store.shipments).values(
                    order_id=order_id,
                    location_id=location_id,
                    tracking=tracking[:200],
                    lines=[
                        {"line_no": by_line[i].line_no, "sku": by_line[i].sku, "quantity": q}
                        for i, q in sorted(per.items())
                    ],
                    created_at=utcnow(),
                )
            )
        complete = all(
            line.shipped + totals.get(line.id, 0) >= line.quantity - line.cancelled
            for line in view.lines
        )
        target = S.SHIPPED if complete else S.PARTIALLY_SHIPPED
        _check(view, target)
        units = sum(totals.values())
        _set(conn, view, [Step(view.status, target, f"{units} unit(s) shipped {tracking}")], actor)
    return _reload(db, order_id)


def cancel(db: Database, order_id: int, actor: str, reason: str = "") -> OrderView:
    """Cancel what has not left yet; its reserved units go back to stock."""
    with db.transaction() as conn:
        view = load_order(conn, order_id, lock=True)
        steps = cancel_in(conn, order_id, view.status, reason or "cancelled")
        log_steps(conn, order_id, view.channel, view.external_id, steps, actor)
    return _reload(db, order_id)


def cancel_in(conn: Connection, order_id: int, current: OrderStatus, reason: str) -> list[Step]:
    """Cancel inside the caller's transaction; an order partly shipped keeps what shipped."""
    if current == S.CANCELLED:
        return []
    target = S.SHIPPED if current == S.PARTIALLY_SHIPPED else S.CANCELLED
    if not can_transition(current, target):
        raise Conflict(f"order {order_id} is {current.value}; it can no longer be cancelled")
    reserving.release(
        conn, reserving.order_reservations(conn, order_id, lock=True), f"order:{order_id}", reason
    )
    ol = store.order_lines.c
    conn.execute(
        update(store.order_lines)
        .where(ol.order_id == order_id)
        .values(cancelled=ol.quantity - ol.shipped)
    )
    conn.execute(
        update(store.orders)
        .where(store.orders.c.id == order_id)
        .values(status=target.value, updated_at=utcnow())
    )
    note = reason if target == S.CANCELLED else f"{reason}: the rest of the order is cancelled"
    return [Step(current, target, note)]


@dataclass(frozen=True)
class ReturnItem:
    line_no: int
    quantity: int
    condition: ReturnCondition = ReturnCondition.RESELLABLE


def return_items(
    db: Database,
    order_id: int,
    location: str,
    items: Sequence[ReturnItem],
    actor: str,
    refund: Decimal | None = None,
    reason: str = "",
    damaged_location: str | None = None,
) -> OrderView:
    """Take goods back at any location that accepts returns, whatever channel sold them.

    Resellable units go back on that location's shelf; damaged ones to a damaged-goods location.
    The refund defaults to what the returned units were paid.
    """
    if not items:
        raise InvalidInput("a return has at least one item")
    with db.transaction() as conn:
        view = load_order(conn, order_id, lock=True)
        if view.status not in HANDED_OVER:
            raise Conflict(f"order {order_id} is {view.status.value}; nothing was handed over")
        place = find_location(conn, location)
        if not place.accepts_returns:
            raise Conflict(f"location {location!r} does not accept returns")
        damaged_id = (
            _damaged_location(conn, damaged_location)
            if any(i.condition == ReturnCondition.DAMAGED for i in items)
            else None
        )
        numbers = {line.line_no: line for line in view.lines}
        problems = ProblemList()
        wanted: dict[int, int] = {}
        for i, item in enumerate(items):
            line = numbers.get(item.line_no)
            wanted[item.line_no] = wanted.get(item.line_no, 0) + item.quantity
            if line is None:
                problems.add(f"items[{i}]", f"order {order_id} has no line {item.line_no}")
            elif item.quantity <= 0:
                problems.add(f"items[{i}]", "return at least one unit")
            elif wanted[item.line_no] > line.shipped - line.returned:
                problems.add(
                    f"items[{i}]",
                    f"line {item.line_no} has {line.shipped - line.returned} unit(s) to return",
                )
        problems.raise_if_any(f"order {order_id}: the return is not valid")
        source = f"return:order:{order_id}"
        owed = Decimal(0)
        recorded = []
        ol = store.order_lines.c
        for item in items:
            line = numbers[item.line_no]
            to = place.id if item.condition == ReturnCondition.RESELLABLE else damaged_id
            assert to is not None
            reserving.restock(conn, line.sku, to, item.quantity, source, f"return {item.condition}")
            conn.execute(
                update(store.order_lines)
                .where(ol.id == line.id)
                .values(returned=ol.returned + item.quantity)
            )
            paid = LineInput(line.sku, line.quantity, line.unit_price, line.discount, line.tax)
            owed += refund_for(paid, item.quantity)
            recorded.append(
                {
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "quantity": item.quantity,
                    "condition": item.condition.value,
                    "restocked_at": location if to == place.id else damaged_location or "damaged",
                }
            )
        amount = owed if refund is None else refund
        if amount < 0:
            raise InvalidInput("a refund is zero or more")
        if refund is not None and not money.has_currency_digits(refund, view.currency):
            raise InvalidInput(
                f"a refund of {refund} has more decimals than {view.currency} allows",
                [
                    Problem(
                        "refund", f"{view.currency} has {currency_digits(view.currency)} decimals"
                    )
                ],
            )
        refund_minor = to_minor(amount, view.currency)
        conn.execute(
            insert(store.returns).values(
                order_id=order_id,
                location_id=place.id,
                refund_minor=refund_minor,
                reason=reason[:500],
                lines=recorded,
                created_at=utcnow(),
            )
        )
        refunded = to_minor(view.refunded, view.currency) + refund_minor
        total = to_minor(view.total, view.currency)
        payment = PaymentStatus.REFUNDED if refunded >= total else PaymentStatus.PARTIALLY_REFUNDED
        o = store.orders.c
        conn.execute(
            update(store.orders)
            .where(o.id == order_id)
            .values(refunded_minor=refunded, payment_status=payment.value, updated_at=utcnow())
        )
        record_event(
            conn,
            "orders.returned",
            f"{view.channel}:{view.external_id}",
            {
                "order_id": order_id,
                "location": location,
                "lines": recorded,
                "refund": str(from_minor(refund_minor, view.currency)),
                "currency": view.currency,
            },
        )
        everything_back = all(
            line.returned + wanted.get(line.line_no, 0) >= line.shipped for line in view.lines
        )
        if everything_back and can_transition(view.status, S.RETURNED):
            _set(conn, view, [Step(view.status, S.RETURNED, reason or "returned")], actor)
    return _reload(db, order_id)


def _damaged_location(conn: Connection, code: str | None) -> int:
    if code is not None:
        return find_location(conn, code).id
    found = conn.execute(
        select(locations.c.id)
        .where(locations.c.kind == LocationKind.DAMAGED.value)
        .order_by(locations.c.id)
    ).scalar()
    if found is None:
        raise NotFound("damaged goods need a location of kind 'damaged'; create one first")
    return int(found)
