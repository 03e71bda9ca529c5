"""Reservations: releasing and consuming those of orders (placed by ``orders.placing``),
sales at the till, restocking returns, and holds for carts with an expiry.

Each reservation is one conditional UPDATE per stock row, taken in row-id order so that two
transactions never wait on each other in a cycle; a row that cannot give the units makes the
whole attempt fail, and the caller rolls back and plans again on fresh numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from channelhub.catalog.service import find_channel
from channelhub.catalog.snapshot import Channel
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.inventory import store
from channelhub.inventory.model import AlertKind, Location, MovementKind
from channelhub.inventory.service import (
    announce,
    location_from_row,
    pool_of,
    raise_alerts,
    unknown_skus,
)
from channelhub.inventory.store import Movement

ACTIVE = "active"
RELEASED = "released"
CONSUMED = "consumed"


@dataclass(frozen=True)
class StockPicture:
    """What routing needs, read in the order's transaction: the channel's locations (in link
    order) and, per (SKU, location), the stock row id and its sellable units."""

    channel: Channel
    pool: str
    locations: tuple[Location, ...]
    rows: Mapping[tuple[str, int], tuple[int, int]]

    def sellable(self, sku: str, location_id: int) -> int:
        found = self.rows.get((sku, location_id))
        return max(0, found[1]) if found else 0


def stock_picture(
    conn: Connection, channel: Channel, skus: Iterable[str], extra_locations: Iterable[int] = ()
) -> StockPicture:
    """The channel's linked locations (and ``extra_locations``) and its pool's stock of ``skus``."""
    c, loc, s = store.channel_locations.c, store.locations.c, store.stock_levels.c
    linked = conn.execute(
        select(store.locations, c.position)
        .join_from(store.locations, store.channel_locations, c.location_id == loc.id)
        .where(c.channel_id == channel.id)
        .order_by(c.position)
    ).all()
    places = [location_from_row(r) for r in linked]
    extra = set(extra_locations) - {p.id for p in places}
    if extra:
        rows = conn.execute(select(store.locations).where(loc.id.in_(extra)).order_by(loc.id))
        places.extend(location_from_row(r) for r in rows)
    pool = pool_of(channel)
    stock: dict[tuple[str, int], tuple[int, int]] = {}
    if places:
        rows = conn.execute(
            select(s.id, s.sku, s.location_id, s.on_hand - s.reserved - s.safety).where(
                s.sku.in_(sorted(set(skus))),
                s.location_id.in_([p.id for p in places]),
                s.pool == pool,
            )
        )
        for row_id, sku, location_id, sellable in rows:
            stock[(sku, location_id)] = (row_id, sellable)
    return StockPicture(channel, pool, tuple(places), stock)


def flag_oversold(conn: Connection, row_ids: list[int], source: str) -> None:
    s = store.stock_levels.c
    rows = conn.execute(
        select(s.sku, s.location_id, s.on_hand - s.reserved - s.safety).where(
            s.id.in_(row_ids), s.on_hand - s.reserved < 0
        )
    ).all()
    raise_alerts(conn, AlertKind.OVERSOLD, [(r[0], r[1], -r[2]) for r in rows], source)
    unknown = unknown_skus(conn, {r[0] for r in rows})
    if unknown:
        raise_alerts(conn, AlertKind.UNKNOWN_SKU, [(sku, None, 0) for sku in unknown], source)


@dataclass(frozen=True)
class HeldReservation:
    id: int
    stock_level_id: int
    sku: str
    location_id: int
    quantity: int
    order_line_id: int | None


def order_reservations(
    conn: Connection, order_id: int, lock: bool = False
) -> list[HeldReservation]:
    """An order's active reservations (locked in id order when ``lock``)."""
    r, s = store.reservations.c, store.stock_levels.c
    query = (
        select(r.id, r.stock_level_id, s.sku, s.location_id, r.quantity, r.order_line_id)
        .join_from(store.reservations, store.stock_levels, r.stock_level_id == s.id)
        .where(r.order_id == order_id, r.status == ACTIVE)
        .order_by(r.id)
    )
    if lock:
        query = query.with_for_update(of=store.reservations)
    return [HeldReservation(*row) for row in conn.execute(query)]


def release(conn: Connection, held: Sequence[HeldReservation], source: str, reason: str) -> None:
    """Give reserved units back (cancellation, expiry, re-routing)."""
    if not held:
        return
    r = store.reservations.c
    conn.execute(
        update(store.reservations)
        .where(r.id.in_([h.id for h in held]), r.status == ACTIVE)
        .values(status=RELEASED)
    )
    store.apply_deltas(
        conn,
        [
            Movement(h.stock_level_id, MovementKind.RELEASE.value, 0, -h.quantity, reason, source)
            for h in held
        ],
    )
    _announce_held(conn, held, "release")


def consume(
    conn: Connection, held: HeldReservation, quantity: int, source: str, reason: str
) -> None:
    """Turn reserved units into a sale: they leave on-hand and the reservation."""
    if not 0 < quantity <= held.quantity:
        raise InvalidInput(f"cannot consume {quantity} of a reservation of {held.quantity}")
    r = store.reservations.c
    left = held.quantity - quantity
    conn.execute(
        update(store.reservations)
        .where(r.id == held.id)
        .values(quantity=left, status=ACTIVE if left else CONSUMED)
    )
    store.apply_deltas(
        conn,
        [
            Movement(
                held.stock_level_id, MovementKind.SALE.value, -quantity, -quantity, reason, source
            )
        ],
    )
    _announce_held(conn, [held], "sale")


def _announce_held(conn: Connection, held: Iterable[HeldReservation], cause: str) -> None:
    touched: dict[str, set[int]] = {}
    for h in held:
        touched.setdefault(h.sku, set()).add(h.location_id)
    announce(conn, touched, cause)


def record_sale(
    conn: Connection, pool: str, sku: str, location_id: int, quantity: int, source: str
) -> bool:
    """A sale that already happened (a till): units leave on-hand even if it goes negative.

    Returns whether the sale was flagged (negative stock or an unknown SKU).
    """
    ids = store.ensure_stock_rows(conn, [(sku, location_id, pool)])
    row = ids[(sku, location_id, pool)]
    s = store.stock_levels.c
    on_hand = conn.execute(
        update(store.stock_levels)
        .where(s.id == row)
        .values(on_hand=s.on_hand - quantity, updated_at=utcnow())
        .returning(s.on_hand)
    ).scalar_one()
    flagged = bool(on_hand < 0)
    if flagged:
        raise_alerts(conn, AlertKind.NEGATIVE_STOCK, [(sku, location_id, on_hand)], source)
    if unknown_skus(conn, [sku]):
        flagged = True
        raise_alerts(conn, AlertKind.UNKNOWN_SKU, [(sku, location_id, quantity)], source)
    store.write_ledger(
        conn,
        [Movement(row, MovementKind.SALE.value, -quantity, 0, "sale", source, flagged)],
    )
    announce(conn, {sku: {location_id}}, "sale")
    return flagged


def restock(
    conn: Connection, sku: str, location_id: int, quantity: int, source: str, reason: str
) -> None:
    """Put returned units back on a location's shelf (shared pool)."""
    ids = store.ensure_stock_rows(conn, [(sku, location_id, "")])
    store.apply_deltas(
        conn,
        [
            Movement(
                ids[(sku, location_id, "")], MovementKind.RETURN.value, quantity, 0, reason, source
            )
        ],
    )
    announce(conn, {sku: {location_id}}, "return")


# --- carts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartHold:
    cart: str
    sku: str
    location: str
    quantity: int
    expires_at: datetime


def reserve_for_cart(
    db: Database, channel: str, cart: str, sku: str, quantity: int, ttl_seconds: int = 900
) -> list[CartHold]:
    """Hold units for a shopping cart until the hold expires; Conflict when they are not there."""
    if not 0 < quantity <= 10_000:
        raise InvalidInput("a cart holds 1 to 10,000 units of a SKU")
    if not 0 < ttl_seconds <= 7 * 24 * 3600:
        raise InvalidInput("a cart hold lasts from 1 second to 7 days")
    if not cart or len(cart) > 200:
        raise InvalidInput("a cart id is 1 to 200 characters")
    expires = utcnow() + timedelta(seconds=ttl_seconds)
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        picture = stock_picture(conn, target, [sku])
        remaining = quantity
        taken: list[tuple[int, Location, int]] = []
        for place in picture.locations:
            found = picture.rows.get((sku, place.id))
            if remaining == 0 or found is None:
                continue
            row, sellable = found
            units = min(remaining, sellable)
            if units > 0 and store.try_reserve(conn, row, units):
                taken.append((row, place, units))
                remaining -= units
        if remaining:
            raise Conflict(f"only {quantity - remaining} of {sku} can be held for {channel}")
        now = utcnow()
        conn.execute(
            insert(store.reservations),
            [
                {
                    "stock_level_id": row,
                    "quantity": units,
                    "order_id": None,
                    "order_line_id": None,
                    "cart": cart,
                    "expires_at": expires,
                    "status": ACTIVE,
                    "forced": False,
                    "created_at": now,
                }
                for row, _, units in taken
            ],
        )
        store.write_ledger(
            conn,
            [
                Movement(row, MovementKind.RESERVATION.value, 0, units, f"cart {cart}", "cart")
                for row, _, units in taken
            ],
        )
        announce(conn, {sku: {p.id for _, p, _ in taken}}, "reservation")
        return [CartHold(cart, sku, p.code, units, expires) for _, p, units in taken]


def _release_where(conn: Connection, *conditions: object, reason: str) -> int:
    r, s = store.reservations.c, store.stock_levels.c
    held = [
        HeldReservation(*row)
        for row in conn.execute(
            select(r.id, r.stock_level_id, s.sku, s.location_id, r.quantity, r.order_line_id)
            .join_from(store.reservations, store.stock_levels, r.stock_level_id == s.id)
            .where(r.status == ACTIVE, *conditions)  # type: ignore[arg-type]
            .order_by(r.id)
            .with_for_update(of=store.reservations)
        )
    ]
    release(conn, held, "cart", reason)
    return len(held)


def release_cart(db: Database, cart: str) -> int:
    """Give back every unit a cart holds; returns the number of holds released."""
    with db.transaction() as conn:
        count = _release_where(conn, store.reservations.c.cart == cart, reason=f"cart {cart}")
    if count == 0:
        raise NotFound(f"cart {cart!r} holds nothing")
    return count


def release_carts_in(conn: Connection, prefix: str) -> int:
    """Give back every unit held under cart keys starting with ``prefix``, inside the caller's
    transaction (so its units can be reserved again before anyone else sees them free)."""
    r = store.reservations.c
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return _release_where(conn, r.cart.like(pattern, escape="\\"), reason=f"cart {prefix}*")


def release_expired(db: Database, now: datetime | None = None) -> int:
    """Release every cart hold whose time is up; returns how many were released."""
    r = store.reservations.c
    with db.transaction() as conn:
        return _release_where(
            conn,
            r.expires_at.is_not(None),
            r.expires_at <= (now or utcnow()),
            reason="cart hold expired",
        )
