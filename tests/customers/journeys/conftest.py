"""Journey fixtures: a shop with web, app, bol and the stores' tills, stock, prices, and
customers resolved through identity resolution."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database, utcnow
from channelhub.customers import identity
from channelhub.customers.journeys import feed
from channelhub.customers.model import CustomerRecord
from channelhub.customers.store import customer_order_links, customer_records
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChannelLink
from channelhub.orders import service as orders
from channelhub.orders.model import (
    Customer,
    DeliveryMethod,
    LineInput,
    OrderInput,
    PaymentStatus,
)
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from tests.factories import mug, save
from tests.inventory.factories import add_channel, make_world, stock

PRICES = {"MUG-1": "10.00", "MUG-2": "15.00", "SHIRT-1": "25.00"}


@pytest.fixture
def shop(db: Database) -> Database:
    return make_shop(db)


def make_shop(db: Database) -> Database:
    """Channels web, bol, app and pos; a warehouse and two stores; three products with
    stock and EUR prices on web, app, pos and bol."""
    make_world(db)
    add_channel(db, "app", ChannelKind.APP, ChannelMode.INTEGRATED)
    inventory.link_channel(db, "app", [ChannelLink("wh"), ChannelLink("ams")])
    save(db, mug("MUG-1"), mug("MUG-2"))
    save(db, ProductInput(sku="SHIRT-1", family="shirts", categories=["apparel"]))
    stock(db, "wh", MUG_1=10, MUG_2=10, SHIRT_1=10)
    stock(db, "ams", MUG_1=3, MUG_2=3, SHIRT_1=3)
    for channel in ("web", "app", "pos", "bol"):
        pricing.save_price_list(db, f"{channel}_eur", channel)
        save_prices(
            db,
            [PriceInput(sku, price) for sku, price in PRICES.items()],
            price_list=f"{channel}_eur",
        )
    return db


def customer(db: Database, email: str, channel: str = "web", **fields: str) -> int:
    """A customer profile, through identity resolution, as a sign-up on ``channel``."""
    with db.transaction() as conn:
        return identity.resolve(
            conn,
            CustomerRecord(channel=channel, source_ref=f"account:{email}", email=email, **fields),
        )


def link(db: Database, order_id: int, profile_id: int) -> None:
    """What identity resolution's order hook does: link an order to its customer."""
    with db.transaction() as conn:
        record = conn.execute(
            select(func.min(customer_records.c.id)).where(
                customer_records.c.profile_id == profile_id
            )
        ).scalar_one()
        conn.execute(
            insert(customer_order_links).values(
                order_id=order_id, profile_id=profile_id, record_id=record, created_at=utcnow()
            )
        )


def buy(
    db: Database,
    external_id: str,
    *lines: tuple[str, int],
    channel: str = "web",
    profile_id: int | None = None,
    store: str | None = None,
    placed_at: datetime | None = None,
    price: str | None = None,
) -> int:
    """Import an order (a till sale when ``store``), link it to the customer, and let the
    journeys read the order events. Returns the order id."""
    order = OrderInput(
        channel=channel,
        external_id=external_id,
        currency="EUR",
        lines=tuple(LineInput(sku, qty, Decimal(price or PRICES[sku])) for sku, qty in lines),
        customer=Customer(),
        delivery_method=DeliveryMethod.IN_STORE if store else DeliveryMethod.SHIP,
        pickup_location=store,
        payment_status=PaymentStatus.PAID,
        placed_at=placed_at,
    )
    result = orders.import_order(db, order, actor="test")
    assert result.order_id is not None and result.outcome == "created", result
    if profile_id is not None:
        link(db, result.order_id, profile_id)
    feed.catch_up(db)
    return result.order_id


@pytest.fixture
def api(shop: Database) -> Iterator[TestClient]:
    _key, token = create_key(shop, "test", ["admin"])
    with TestClient(
        create_app(shop),
        headers={"Authorization": f"Bearer {token}"},
        raise_server_exceptions=False,
    ) as client:
        yield client
