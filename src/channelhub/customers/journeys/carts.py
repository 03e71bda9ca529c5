"""Carts that follow the customer: one active cart per customer whatever the device or
channel (app, web, a store's till), anonymous carts merged in on sign-in, stock held for the
lines through the inventory's cart holds (which expire), and checkout through the order
pipeline.

Holds are taken per (cart, SKU) under the inventory cart key ``cart:<token>:<sku>``, on the
stock of the channel where the cart was started. An expired hold leaves the line in the cart
with nothing held; the next change to the line holds again.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from channelhub.catalog.service import find_channel
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound, ProblemList
from channelhub.customers.journeys import holds, profiles, store
from channelhub.customers.journeys.model import MAX_CART_QUANTITY, merged_lines
from channelhub.inventory.service import find_location

ACTIVE = "active"
MERGED = "merged"
CHECKED_OUT = "checked_out"


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    held: int  # units the inventory holds for this line now
    hold_expires_at: datetime | None
    channel: str  # where the line was last changed


@dataclass(frozen=True)
class Cart:
    id: int
    token: str
    profile_id: int | None
    channel: str
    last_channel: str
    location: str | None
    status: str
    currency: str
    order_id: int | None
    created_at: datetime
    updated_at: datetime
    lines: list[CartLine] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)


# --- reading --------------------------------------------------------------------------------


def _cart_row(conn: Connection, token: str, lock: bool = False) -> Row[Any]:
    query = select(store.carts).where(store.carts.c.token == token)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"cart {token!r} does not exist")
    return row


def _load(conn: Connection, row: Row[Any]) -> Cart:
    now = utcnow()
    held = holds.live(conn, row.token, now) if row.status == ACTIVE else {}
    c = store.cart_lines.c
    lines = [
        CartLine(
            r.sku, r.quantity, min(r.quantity, held.get(r.sku, (0, None))[0]),
            held.get(r.sku, (0, None))[1], r.channel,
        )
        for r in conn.execute(
            select(store.cart_lines).where(c.cart_id == row.id).order_by(c.sku)
        )
    ]  # fmt: skip
    owner = None if row.profile_id is None else profiles.current(conn, row.profile_id)
    return Cart(
        row.id, row.token, owner, row.channel, row.last_channel, row.location, row.status,
        row.currency, row.order_id, row.created_at, row.updated_at, lines,
    )  # fmt: skip


def get_cart(db: Database, token: str) -> Cart:
    with db.read() as conn:
        return _load(conn, _cart_row(conn, token))


def carts_of(conn: Connection, profile_ids: Sequence[int]) -> list[Cart]:
    """Every cart of these profile ids (any status), newest last."""
    c = store.carts.c
    rows = conn.execute(
        select(store.carts).where(c.profile_id.in_(list(profile_ids))).order_by(c.id)
    )
    return [_load(conn, r) for r in rows]


def active_cart(db: Database, profile_id: int) -> Cart | None:
    """The customer's active cart, wherever it was started (None when they have none)."""
    with db.read() as conn:
        row = _active_row(conn, profiles.members(conn, profile_id))
        return None if row is None else _load(conn, row)


def _active_row(conn: Connection, ids: Sequence[int]) -> Row[Any] | None:
    c = store.carts.c
    return conn.execute(
        select(store.carts)
        .where(c.profile_id.in_(list(ids)), c.status == ACTIVE)
        .order_by(c.updated_at.desc(), c.id.desc())
        .limit(1)
    ).first()


# --- opening and signing in -----------------------------------------------------------------


def _check_channel(conn: Connection, channel: str) -> str:
    return find_channel(conn, channel).currency


def open_cart(db: Database, channel: str, profile_id: int | None = None) -> Cart:
    """The customer's active cart, on whatever device or channel it was started (it now
    continues on ``channel``), or a new one. Without a customer: a new anonymous cart.

    Should a merge of profiles leave the customer with several active carts, they are merged
    into the most recently used one here."""
    with db.transaction() as conn:
        currency = _check_channel(conn, channel)
        now = utcnow()
        survivor = None
        if profile_id is not None:
            survivor = profiles.current(conn, profile_id)
            store.lock_profile(conn, survivor)
            row = _active_row(conn, profiles.members(conn, survivor))
            if row is not None:
                _fold_other_active(conn, row, profiles.members(conn, survivor), now)
                conn.execute(
                    update(store.carts)
                    .where(store.carts.c.id == row.id)
                    .values(last_channel=channel, updated_at=now)
                )
                token = str(row.token)
                return _load(conn, _cart_row(conn, token))
        token = secrets.token_hex(16)
        conn.execute(
            insert(store.carts).values(
                token=token, profile_id=survivor, channel=channel, last_channel=channel,
                location=None, status=ACTIVE, currency=currency, merged_into=None,
                order_id=None, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        return _load(conn, _cart_row(conn, token))


def _lines_of(conn: Connection, cart_id: int) -> dict[str, int]:
    c = store.cart_lines.c
    return {
        r.sku: int(r.quantity)
        for r in conn.execute(select(c.sku, c.quantity).where(c.cart_id == cart_id))
    }


def _merge_into(
    conn: Connection, target: Row[Any], source: Row[Any], channel: str, now: datetime
) -> list[str]:
    """Add ``source``'s lines to ``target`` (quantities summed) and close ``source``; the
    SKUs whose quantity changed in ``target``."""
    mine = _lines_of(conn, target.id)
    theirs = _lines_of(conn, source.id)
    merged = merged_lines(mine, theirs)
    changed = [sku for sku, qty in merged.items() if mine.get(sku) != qty]
    _write_lines(conn, target.id, {sku: merged[sku] for sku in changed}, channel, now)
    conn.execute(
        update(store.carts)
        .where(store.carts.c.id == source.id)
        .values(status=MERGED, merged_into=target.id, updated_at=now)
    )
    return changed


def _fold_other_active(conn: Connection, keep: Row[Any], ids: Sequence[int], now: datetime) -> None:
    c = store.carts.c
    others = conn.execute(
        select(store.carts)
        .where(c.profile_id.in_(list(ids)), c.status == ACTIVE, c.id != keep.id)
        .order_by(c.id)
    ).all()
    for other in others:
        _merge_into(conn, keep, other, keep.last_channel, now)


def _write_lines(
    conn: Connection, cart_id: int, quantities: dict[str, int], channel: str, now: datetime
) -> None:
    """Set line quantities (0 removes the line)."""
    c = store.cart_lines.c
    for sku, quantity in sorted(quantities.items()):
        conn.execute(delete(store.cart_lines).where(c.cart_id == cart_id, c.sku == sku))
        if quantity > 0:
            conn.execute(
                insert(store.cart_lines).values(
                    cart_id=cart_id, sku=sku, quantity=quantity, channel=channel, updated_at=now
                )
            )


def sign_in(db: Database, token: str, profile_id: int, channel: str) -> Cart:
    """The shopper of an anonymous cart signed in as ``profile_id``: the cart becomes the
    customer's, or, when they already have an active cart, its lines are merged into that
    one (quantities of the same SKU summed) and the anonymous cart is closed."""
    with db.transaction() as conn:
        _check_channel(conn, channel)
        now = utcnow()
        row = _cart_row(conn, token, lock=True)
        if row.status != ACTIVE:
            raise Conflict(f"cart {token} is {row.status}")
        survivor = profiles.current(conn, profile_id)
        store.lock_profile(conn, survivor)
        ids = profiles.members(conn, survivor)
        if row.profile_id is not None and profiles.current(conn, row.profile_id) != survivor:
            raise Conflict(f"cart {token} belongs to another customer")
        target = _active_row(conn, ids)
        holder = str(row.channel)
        if target is None or target.id == row.id:
            conn.execute(
                update(store.carts)
                .where(store.carts.c.id == row.id)
                .values(profile_id=survivor, last_channel=channel, updated_at=now)
            )
            kept, changed, gone = str(row.token), [], []
        else:
            changed = _merge_into(conn, target, row, channel, now)
            conn.execute(
                update(store.carts)
                .where(store.carts.c.id == target.id)
                .values(last_channel=channel, updated_at=now)
            )
            kept, gone = str(target.token), sorted(_lines_of(conn, row.id))
            holder = str(target.channel)
    if kept != token:
        # The anonymous cart's holds go; the customer's cart holds its merged quantities.
        for sku in gone:
            holds.release(db, token, sku)
        for sku in changed:
            holds.hold_up_to(db, kept, holder, sku, _quantity(db, kept, sku), strict=False)
    return get_cart(db, kept)


# --- lines and holds ------------------------------------------------------------------------


def _quantity(db: Database, token: str, sku: str) -> int:
    with db.read() as conn:
        row = _cart_row(conn, token)
        return _lines_of(conn, row.id).get(sku, 0)


def _check_line(sku: str, quantity: int) -> None:
    problems = ProblemList()
    if not sku or len(sku) > 100 or "\x00" in sku:
        problems.add("sku", "a SKU is 1 to 100 characters")
    if not 0 <= quantity <= MAX_CART_QUANTITY:
        problems.add("quantity", f"a quantity is 0 to {MAX_CART_QUANTITY}")
    problems.raise_if_any("the cart line is not valid")


def set_line(
    db: Database, token: str, sku: str, quantity: int, channel: str, hold: bool = True
) -> Cart:
    """Set a line's quantity (0 removes it), from ``channel``; with ``hold`` the units are
    held in stock first (Conflict, and no change, when they are not there)."""
    _check_line(sku, quantity)
    return _change_line(db, token, sku, channel, hold, quantity=quantity)


def _change_line(
    db: Database,
    token: str,
    sku: str,
    channel: str,
    hold: bool,
    quantity: int | None = None,
    add: int = 0,
) -> Cart:
    """Set the line to ``quantity``, or add ``add`` units to what it holds when the write
    happens (two devices adding at once both count)."""
    with db.read() as conn:
        row = _cart_row(conn, token)
        _check_channel(conn, channel)
        current = _lines_of(conn, row.id).get(sku, 0)
    if row.status != ACTIVE:
        raise Conflict(f"cart {token} is {row.status}; it cannot change")
    target = quantity if quantity is not None else min(MAX_CART_QUANTITY, current + add)
    if hold or target == 0:
        holds.hold_up_to(db, token, row.channel, sku, target, strict=True)
    with db.transaction() as conn:
        row = _cart_row(conn, token, lock=True)
        if row.status != ACTIVE:
            raise Conflict(f"cart {token} is {row.status}; it cannot change")
        if quantity is None:
            target = min(MAX_CART_QUANTITY, _lines_of(conn, row.id).get(sku, 0) + add)
        now = utcnow()
        _write_lines(conn, row.id, {sku: target}, channel, now)
        conn.execute(
            update(store.carts)
            .where(store.carts.c.id == row.id)
            .values(last_channel=channel, updated_at=now)
        )
    return get_cart(db, token)


def add_line(
    db: Database, token: str, sku: str, quantity: int, channel: str, hold: bool = True
) -> Cart:
    """Add ``quantity`` units of ``sku`` to the cart (to the line when there is one)."""
    if quantity <= 0:
        raise InvalidInput("add at least one unit")
    _check_line(sku, quantity)
    return _change_line(db, token, sku, channel, hold, add=quantity)


def remove_line(db: Database, token: str, sku: str, channel: str) -> Cart:
    if _quantity(db, token, sku) == 0:
        raise NotFound(f"cart {token} has no line {sku!r}")
    return set_line(db, token, sku, 0, channel)


def pick_up(db: Database, token: str, location: str, channel: str) -> Cart:
    """A store's till takes over the cart (the customer stands at the counter)."""
    with db.transaction() as conn:
        _check_channel(conn, channel)
        find_location(conn, location)
        row = _cart_row(conn, token, lock=True)
        if row.status != ACTIVE:
            raise Conflict(f"cart {token} is {row.status}")
        conn.execute(
            update(store.carts)
            .where(store.carts.c.id == row.id)
            .values(last_channel=channel, location=location, updated_at=utcnow())
        )
    return get_cart(db, token)


# --- checkout (see ``checkout``) ----------------------------------------------------------


def mark_checked_out(db: Database, token: str, order_id: int) -> None:
    with db.transaction() as conn:
        conn.execute(
            update(store.carts)
            .where(store.carts.c.token == token)
            .values(status=CHECKED_OUT, order_id=order_id, updated_at=utcnow())
        )
