"""Factories for inventory tests: locations, channel links and stock, built through services."""

from __future__ import annotations

from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.inventory import service
from channelhub.inventory.model import Address, LocationKind
from channelhub.inventory.service import ChangeKind, ChannelLink, LocationInput, StockChange
from tests.factories import make_catalog

AMSTERDAM = Address("Dam 1", "Amsterdam", "1012 JS", "NL", 52.373, 4.893)
UTRECHT = Address("Oudegracht 1", "Utrecht", "3511 AA", "NL", 52.091, 5.121)
ROTTERDAM = Address("Coolsingel 1", "Rotterdam", "3011 AD", "NL", 51.922, 4.479)


def add_channel(db: Database, code: str, kind: ChannelKind, mode: ChannelMode) -> None:
    catalog.save_channel(
        db, catalog.ChannelInput(code, code.title(), kind, mode, ("nl_NL",), "EUR")
    )


def make_locations(db: Database) -> None:
    """A warehouse in Utrecht, stores in Amsterdam and Rotterdam, a damaged-goods cage."""
    service.save_location(
        db, LocationInput("wh", "Central warehouse", LocationKind.WAREHOUSE, UTRECHT, priority=10)
    )
    for code, address in (("ams", AMSTERDAM), ("rtm", ROTTERDAM)):
        service.save_location(
            db,
            LocationInput(
                code, f"Store {code}", LocationKind.STORE, address, pickup=True, priority=20
            ),
        )
    service.save_location(
        db,
        LocationInput(
            "damaged", "Damaged goods", LocationKind.DAMAGED, UTRECHT, ships=False, priority=99
        ),
    )


def make_world(db: Database) -> None:
    """The catalog (channels web and bol, integrated), a POS channel, locations and links."""
    make_catalog(db)
    add_channel(db, "pos", ChannelKind.STORE, ChannelMode.INTEGRATED)
    make_locations(db)
    for channel in ("web", "bol"):
        service.link_channel(
            db, channel, [ChannelLink("wh"), ChannelLink("ams"), ChannelLink("rtm")]
        )
    service.link_channel(db, "pos", [ChannelLink("ams"), ChannelLink("rtm")])


def stock(db: Database, location: str, **units: int) -> None:
    """Receive units per SKU (SKU names given with _ for -: MUG_1 -> MUG-1)."""
    service.change_stock(
        db,
        ChangeKind.RECEIPT,
        [StockChange(sku.replace("_", "-"), location, qty) for sku, qty in units.items()],
        source="test",
    )
