"""Stock holds of cart lines, through the inventory's cart holds (which expire).

A line's units are held under the inventory cart key ``cart:<token>:<sku>``, on the stock of
the channel where the cart was started; an expired hold leaves the line with nothing held.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, NotFound
from channelhub.inventory import reserving
from channelhub.inventory import store as stock_store

HOLD_SECONDS = 900


def hold_key(token: str, sku: str) -> str:
    return f"cart:{token}:{sku}"


def live(conn: Connection, token: str, now: datetime) -> dict[str, tuple[int, datetime]]:
    """SKU -> (units held, earliest expiry) of the cart's live holds."""
    r = stock_store.reservations.c
    prefix = f"cart:{token}:"
    rows = conn.execute(
        select(r.cart, func.sum(r.quantity), func.min(r.expires_at))
        .where(
            r.cart.like(prefix.replace("_", r"\_") + "%", escape="\\"),
            r.status == reserving.ACTIVE,
            r.expires_at > now,
        )
        .group_by(r.cart)
    )
    found: dict[str, tuple[int, datetime]] = {}
    for key, units, expires in rows:
        expiry = expires if expires.tzinfo else expires.replace(tzinfo=now.tzinfo)
        found[key[len(prefix) :]] = (int(units), expiry)
    return found


def release(db: Database, token: str, sku: str) -> None:
    """Give back what the cart holds of ``sku``."""
    # NotFound: nothing held (never, or the hold expired and was released).
    with contextlib.suppress(NotFound):
        reserving.release_cart(db, hold_key(token, sku))


def held(db: Database, token: str, sku: str) -> int:
    """Units of ``sku`` the cart holds now."""
    with db.read() as conn:
        return live(conn, token, utcnow()).get(sku, (0, utcnow()))[0]


def hold_up_to(
    db: Database, token: str, channel: str, sku: str, quantity: int, strict: bool
) -> None:
    """Make the holds of (cart, SKU) cover ``quantity`` units: more are held when short
    (Conflict when the stock is not there and ``strict``), all are released and taken again
    when there are too many (a smaller hold)."""
    units = held(db, token, sku)
    if units > quantity:
        release(db, token, sku)
        units = 0
    wanted = quantity - units
    if wanted <= 0:
        return
    try:
        reserving.reserve_for_cart(db, channel, hold_key(token, sku), sku, wanted, HOLD_SECONDS)
    except Conflict:
        if strict:
            raise


def expire_holds(db: Database, now: datetime | None = None) -> int:
    """Release every cart hold whose time is up (the inventory's expiry, run periodically)."""
    return reserving.release_expired(db, now)


def release_all_in(conn: Connection, token: str) -> int:
    """Give back every unit the cart holds, inside the caller's transaction."""
    return reserving.release_carts_in(conn, f"cart:{token}:")


def release_all(db: Database, token: str) -> None:
    """Give back every unit the cart holds."""
    with db.read() as conn:
        skus = sorted(live(conn, token, utcnow()))
    for sku in skus:
        release(db, token, sku)
