"""The order state machine and the normalized order's checks."""

from __future__ import annotations

from decimal import Decimal

from channelhub.orders.model import (
    TRANSITIONS,
    LineInput,
    OrderInput,
    OrderStatus,
    can_transition,
    order_problems,
    refund_for,
)


def test_every_status_is_reachable_from_received() -> None:
    seen = {OrderStatus.RECEIVED}
    frontier = [OrderStatus.RECEIVED]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(OrderStatus)


def test_goods_that_left_cannot_be_cancelled() -> None:
    assert can_transition(OrderStatus.PICKING, OrderStatus.CANCELLED)
    assert not can_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLED)
    assert not can_transition(OrderStatus.CANCELLED, OrderStatus.RESERVED)


def test_an_order_without_lines_or_with_a_bad_quantity_is_refused() -> None:
    empty = OrderInput("web", "X", "EUR", ())
    assert ("lines", "an order has at least one line") in order_problems(empty)
    bad = OrderInput("web", "X", "EUR", (LineInput("A", 0, Decimal("1")),))
    assert any(where == "lines[0].quantity" for where, _ in order_problems(bad))


def test_a_refund_is_the_units_share_of_what_was_paid() -> None:
    line = LineInput("A", 4, Decimal("10.00"), discount=Decimal("4.00"), tax=Decimal("8.00"))
    assert refund_for(line, 1) == Decimal("11.00")


def test_the_fingerprint_changes_with_the_content() -> None:
    a = OrderInput("web", "X", "EUR", (LineInput("A", 1, Decimal("1")),))
    b = OrderInput("web", "X", "EUR", (LineInput("A", 2, Decimal("1")),))
    assert a.fingerprint() != b.fingerprint()
    assert (
        a.fingerprint()
        == OrderInput("web", "X", "EUR", (LineInput("A", 1, Decimal("1")),)).fingerprint()
    )
