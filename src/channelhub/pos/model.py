"""What a till sends and what the hub decides from it, without I/O: request fingerprints and
how a return by SKU spreads over the lines of the order that sold the goods."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import orjson

from channelhub.orders.model import Customer, ReturnCondition


@dataclass(frozen=True)
class SaleLine:
    sku: str
    quantity: int
    #: What the customer paid per unit; None takes the store channel's current price.
    unit_price: Decimal | None = None
    discount: Decimal = Decimal(0)  # for the whole line
    tax: Decimal = Decimal(0)  # for the whole line


@dataclass(frozen=True)
class Sale:
    """A sale rung up at a till. ``accept_short`` records it even when the store's shelf has
    fewer unreserved units (the goods already left: an offline till catching up)."""

    lines: tuple[SaleLine, ...]
    transaction_id: str | None = None
    currency: str | None = None
    customer: Customer = field(default_factory=Customer)
    placed_at: datetime | None = None
    accept_short: bool = False


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    condition: ReturnCondition = ReturnCondition.RESELLABLE


@dataclass(frozen=True)
class TillReturn:
    """Goods brought back to a store, from an order of any channel (named by its number)."""

    order_number: str
    lines: tuple[ReturnLine, ...]
    channel: str | None = None
    return_id: str | None = None
    reason: str = ""
    refund: Decimal | None = None


@dataclass(frozen=True)
class OrderLineLeft:
    """What one line of the original order can still take back."""

    line_no: int
    sku: str
    returnable: int  # handed over and not yet returned


@dataclass(frozen=True)
class Spread:
    items: list[tuple[int, int, ReturnCondition]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def fingerprint(kind: str, body: object) -> str:
    """A digest of a request's kind and body: equal digests, the same request."""
    data = orjson.dumps([kind, body], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(data).hexdigest()


def spread_return(
    order_label: str, lines: Sequence[ReturnLine], left: Sequence[OrderLineLeft]
) -> Spread:
    """(line number, units, condition) for each returned SKU, first line first; or the
    problems (unknown SKU, more than was handed over) saying where."""
    result = Spread()
    remaining = {line.line_no: line.returnable for line in left}
    for i, item in enumerate(lines):
        matching = [line for line in left if line.sku == item.sku]
        if not matching:
            result.problems.append(
                (f"lines[{i}].sku", f"order {order_label} has no line with SKU {item.sku!r}")
            )
            continue
        can = sum(remaining[line.line_no] for line in matching)
        if item.quantity > can:
            result.problems.append(
                (
                    f"lines[{i}].quantity",
                    f"order {order_label} has {can} unit(s) of {item.sku} left to return "
                    f"(handed over and not yet returned); {item.quantity} asked",
                )
            )
            continue
        wanted = item.quantity
        for line in matching:
            take = min(wanted, remaining[line.line_no])
            if take:
                result.items.append((line.line_no, take, item.condition))
                remaining[line.line_no] -= take
                wanted -= take
    return result
