"""A store as the POS API knows it: a channel of kind ``store`` and its shelf, the first store
location linked to that channel (or the first linked location)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from channelhub.catalog.model import ChannelKind
from channelhub.catalog.service import find_channel
from channelhub.catalog.snapshot import Channel
from channelhub.core.database import Database
from channelhub.core.errors import Conflict, NotFound
from channelhub.inventory import service as inventory
from channelhub.inventory import store as stock_store
from channelhub.inventory.model import Location, LocationKind


@dataclass(frozen=True)
class Store:
    channel: Channel
    location: Location

    @property
    def code(self) -> str:
        return self.channel.code


def find_store(conn: Connection, code: str) -> Store:
    """The store channel ``code`` and its shelf; NotFound or Conflict saying what is missing."""
    try:
        channel = find_channel(conn, code)
    except NotFound:
        raise NotFound(f"store {code!r} does not exist (no channel has that code)") from None
    if channel.kind != ChannelKind.STORE:
        raise NotFound(f"channel {code!r} is a {channel.kind.value}, not a store")
    c, loc = stock_store.channel_locations.c, stock_store.locations.c
    rows = conn.execute(
        select(stock_store.locations)
        .join_from(stock_store.locations, stock_store.channel_locations, c.location_id == loc.id)
        .where(c.channel_id == channel.id)
        .order_by(c.position)
    ).all()
    places = [inventory.location_from_row(r) for r in rows]
    if not places:
        raise Conflict(f"store {code!r} has no location linked; link its shelf to the channel")
    shelf = next((p for p in places if p.kind == LocationKind.STORE), places[0])
    return Store(channel, shelf)


def get_store(db: Database, code: str) -> Store:
    with db.read() as conn:
        return find_store(conn, code)
