"""Loyalty: one append-only points ledger for every channel, with rules per channel.

Each entry names its cause (``source``: an order, a return, a burn's reference) and a cause
is booked once, so replayed events and retried requests change nothing. The balance is the
sum of the ledger over the customer's profile ids: the same in every channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.customers.journeys import profiles, store
from channelhub.customers.journeys.model import (
    HUNDRED,
    THOUSAND,
    LedgerKind,
    LoyaltyRule,
    points_for,
    points_to_reverse,
    rule_for,
)

MAX_POINTS = 10**12


class NotEnoughPoints(Conflict):
    """A burn asked for more points than the customer has."""


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    profile_id: int
    points: int
    kind: str
    channel: str | None
    source: str
    order_id: int | None
    note: str
    at: datetime


@dataclass(frozen=True)
class LoyaltyAccount:
    profile_id: int
    balance: int
    earned: int
    spent: int
    entries: list[LedgerEntry]


# --- rules ----------------------------------------------------------------------------------


def load_rules(conn: Connection) -> dict[str, LoyaltyRule]:
    r = store.loyalty_rules.c
    return {
        row.channel: LoyaltyRule(
            row.channel,
            Decimal(row.points_per_unit_milli) / THOUSAND,
            Decimal(row.multiplier_percent) / HUNDRED,
        )
        for row in conn.execute(select(store.loyalty_rules).order_by(r.channel))
    }


def save_rule(db: Database, rule: LoyaltyRule) -> LoyaltyRule:
    """Create or replace the rule of a channel ("*" for every channel without its own)."""
    milli = rule.points_per_unit * THOUSAND
    percent = rule.multiplier * HUNDRED
    if not 0 <= milli <= 1_000_000 or milli != milli.to_integral_value():
        raise InvalidInput("points per unit is 0 to 1000 with at most three decimals")
    if not 0 < percent <= 10_000 or percent != percent.to_integral_value():
        raise InvalidInput("a multiplier is above 0, at most 100, with at most two decimals")
    if not rule.channel or len(rule.channel) > 100:
        raise InvalidInput("a rule names a channel code or '*'")
    with db.transaction() as conn:
        r = store.loyalty_rules.c
        conn.execute(store.loyalty_rules.delete().where(r.channel == rule.channel))
        conn.execute(
            insert(store.loyalty_rules).values(
                channel=rule.channel,
                points_per_unit_milli=int(milli),
                multiplier_percent=int(percent),
                updated_at=utcnow(),
            )
        )
    return rule


def list_rules(db: Database) -> list[LoyaltyRule]:
    with db.read() as conn:
        return list(load_rules(conn).values())


# --- reading --------------------------------------------------------------------------------


def balance_of(conn: Connection, profile_ids: list[int]) -> int:
    c = store.loyalty_ledger.c
    total = conn.execute(
        select(func.coalesce(func.sum(c.points), 0)).where(c.profile_id.in_(profile_ids))
    ).scalar_one()
    return int(total)


def entries_of(conn: Connection, profile_ids: list[int]) -> list[LedgerEntry]:
    c = store.loyalty_ledger.c
    rows = conn.execute(
        select(store.loyalty_ledger).where(c.profile_id.in_(profile_ids)).order_by(c.id)
    )
    return [
        LedgerEntry(
            r.id, r.profile_id, r.points, r.kind, r.channel, r.source, r.order_id, r.note,
            r.created_at,
        )
        for r in rows
    ]  # fmt: skip


def account_in(conn: Connection, profile_id: int) -> LoyaltyAccount:
    ids = profiles.members(conn, profile_id)
    entries = entries_of(conn, ids)
    return LoyaltyAccount(
        profile_id=profiles.current(conn, profile_id),
        balance=sum(e.points for e in entries),
        earned=sum(e.points for e in entries if e.kind == LedgerKind.EARN),
        spent=-sum(e.points for e in entries if e.kind == LedgerKind.BURN),
        entries=entries,
    )


def account(db: Database, profile_id: int) -> LoyaltyAccount:
    """The customer's balance and every ledger entry, from all their profile ids."""
    with db.read() as conn:
        return account_in(conn, profile_id)


# --- writing --------------------------------------------------------------------------------


def _book(
    conn: Connection,
    profile_id: int,
    points: int,
    kind: LedgerKind,
    source: str,
    channel: str | None = None,
    order_id: int | None = None,
    note: str = "",
) -> bool:
    """Append one entry unless its source is booked already; whether it was appended."""
    row = {
        "profile_id": profile_id,
        "points": points,
        "kind": kind.value,
        "channel": channel,
        "source": source[:200],
        "order_id": order_id,
        "note": note[:500],
        "created_at": utcnow(),
    }
    return store.insert_new(conn, store.loyalty_ledger, [row], ["source"]) == 1


def _booked(conn: Connection, source: str) -> LedgerEntry | None:
    c = store.loyalty_ledger.c
    r = conn.execute(select(store.loyalty_ledger).where(c.source == source)).first()
    if r is None:
        return None
    return LedgerEntry(
        r.id, r.profile_id, r.points, r.kind, r.channel, r.source, r.order_id, r.note, r.created_at
    )


def earn_for_order(
    conn: Connection,
    profile_id: int,
    order_id: int,
    channel: str,
    amount: Decimal,
) -> int:
    """Book the points an order earns by its channel's rule (once per order); the points."""
    points = points_for(amount, rule_for(channel, load_rules(conn)))
    if points <= 0:
        return 0
    booked = _book(
        conn, profile_id, points, LedgerKind.EARN, f"order:{order_id}", channel, order_id,
        f"order {order_id} on {channel}",
    )  # fmt: skip
    return points if booked else 0


def reverse_for_order(
    conn: Connection, order_id: int, refunded_minor: int, total_minor: int, source: str, note: str
) -> int:
    """Take back the share of an order's points that its refunds (cumulative) stand for,
    booked under ``source`` once; the points taken back."""
    c = store.loyalty_ledger.c
    rows = conn.execute(
        select(c.profile_id, c.kind, c.points, c.channel).where(c.order_id == order_id)
    ).all()
    earned = [r for r in rows if r.kind == LedgerKind.EARN]
    if not earned:
        return 0
    reversed_before = -sum(r.points for r in rows if r.kind == LedgerKind.REVERSE)
    points = points_to_reverse(earned[0].points, reversed_before, refunded_minor, total_minor)
    if points <= 0:
        return 0
    booked = _book(
        conn, earned[0].profile_id, -points, LedgerKind.REVERSE, source, earned[0].channel,
        order_id, note,
    )  # fmt: skip
    return points if booked else 0


def _check_points(points: int) -> None:
    if not 0 < points <= MAX_POINTS:
        raise InvalidInput(f"points are a whole number from 1 to {MAX_POINTS}")


def _check_reference(reference: str) -> None:
    if not reference or len(reference) > 150 or "\x00" in reference:
        raise InvalidInput("a reference is 1 to 150 characters (the till's or app's receipt id)")


def burn(
    db: Database,
    profile_id: int,
    points: int,
    channel: str,
    reference: str,
    note: str = "",
) -> LedgerEntry:
    """Spend points in any channel. ``reference`` (a receipt id) makes a retry harmless;
    NotEnoughPoints when the balance is lower than ``points``."""
    _check_points(points)
    _check_reference(reference)
    source = f"burn:{reference}"
    with db.transaction() as conn:
        survivor = profiles.current(conn, profile_id)
        store.lock_profile(conn, survivor)
        done = _booked(conn, source)
        if done is not None:
            if done.points != -points or done.kind != LedgerKind.BURN:
                raise Conflict(f"reference {reference!r} was used for another booking")
            return done
        balance = balance_of(conn, profiles.members(conn, survivor))
        if points > balance:
            raise NotEnoughPoints(
                f"customer {survivor} has {balance} points; cannot spend {points}"
            )
        _book(conn, survivor, -points, LedgerKind.BURN, source, channel, None, note)
        found = _booked(conn, source)
    assert found is not None
    return found


def adjust(db: Database, profile_id: int, points: int, reference: str, note: str) -> LedgerEntry:
    """A person's correction (positive or negative), booked once per ``reference``."""
    if points == 0 or abs(points) > MAX_POINTS:
        raise InvalidInput(f"an adjustment is a non-zero whole number up to {MAX_POINTS}")
    _check_reference(reference)
    source = f"adjust:{reference}"
    with db.transaction() as conn:
        survivor = profiles.current(conn, profile_id)
        store.lock_profile(conn, survivor)
        _book(conn, survivor, points, LedgerKind.ADJUST, source, None, None, note)
        found = _booked(conn, source)
    if found is None:
        raise NotFound(f"adjustment {reference!r} was not booked")
    if found.points != points or found.kind != LedgerKind.ADJUST:
        raise Conflict(f"reference {reference!r} was used for another booking")
    return found
