"""A retailer with a webshop, a marketplace and a store: a warehouse and the store's shelf,
two products (one with a GTIN and an image) with prices on the store's channel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.catalog import service as catalog
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.inventory import service as inventory
from channelhub.inventory.model import LocationKind
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.pricing.service import save_price_list
from tests.factories import gtin, make_catalog, mug, save, value

MUG_GTIN = gtin(1)


def make_retailer(db: Database) -> None:
    make_catalog(db)
    catalog.save_channel(
        db,
        catalog.ChannelInput(
            "store_ams", "Store Amsterdam", ChannelKind.STORE, ChannelMode.INTEGRATED,
            ("en_US",), "EUR",
        ),
    )  # fmt: skip
    save(
        db,
        mug(
            "MUG-1",
            values=[
                value("name", "Stoneware Mug", "en_US"),
                value("gtin", MUG_GTIN),
                value("images", ["https://cdn.example.com/mug-1.jpg"]),
            ],
        ),
        mug("MUG-2"),
    )
    for spec in (
        inventory.LocationInput("wh", "Warehouse", LocationKind.WAREHOUSE, priority=10),
        inventory.LocationInput("ams", "Store Amsterdam", LocationKind.STORE, pickup=True),
        inventory.LocationInput("utr", "Store Utrecht", LocationKind.STORE, ships=False),
    ):
        inventory.save_location(db, spec)
    inventory.link_channel(db, "web", [inventory.ChannelLink("wh"), inventory.ChannelLink("ams")])
    inventory.link_channel(db, "store_ams", [inventory.ChannelLink("ams")])
    inventory.change_stock(
        db,
        inventory.ChangeKind.RECEIPT,
        [
            inventory.StockChange("MUG-1", "wh", 5),
            inventory.StockChange("MUG-1", "ams", 2),
            inventory.StockChange("MUG-1", "utr", 1),
            inventory.StockChange("MUG-2", "ams", 1),
        ],
        source="test",
    )
    save_price_list(db, "store_eur", "store_ams")
    report = save_prices(
        db, [PriceInput("MUG-1", "12.50"), PriceInput("MUG-2", "8.00")], "store_eur"
    )
    assert not report.rejected, report.rejected


@pytest.fixture
def retailer(db: Database) -> Database:
    make_retailer(db)
    return db


@pytest.fixture
def till(retailer: Database) -> Iterator[TestClient]:
    """The API as a till sees it: a key with the write scope."""
    _, token = create_key(retailer, "till-ams-1", ["write"])
    with TestClient(
        create_app(retailer),
        headers={"Authorization": f"Bearer {token}"},
        raise_server_exceptions=False,
    ) as client:
        yield client
