"""The generic webhook connector through the engine, delivered once and twice: stock, prices
and listings are absolute values with a version, so the receiver ends as after one delivery
of each, and nothing is dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.inventory.service import available
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.receiver import ReceiverState, receiver_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.model import JobKind
from tests.connectors.conftest import dead_letters
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.sync.conftest import SECRET, Receiver, connect, drain

SKUS = ("MUG-1", "MUG-2", "MUG-3")


@pytest.fixture(autouse=True)
def fast_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_webhook_round_trip_through_the_engine(db: Database, deliveries: str) -> None:
    make_world(db)
    save(db, *(mug(sku) for sku in SKUS))
    stock(db, "wh", MUG_1=7, MUG_2=3, MUG_3=1)
    pricing.save_price_list(db, "web_eur", "web")
    save_prices(db, [PriceInput(sku, Decimal("9.95")) for sku in SKUS], price_list="web_eur")
    state = ReceiverState(secret=SECRET)
    with serve_in_thread(receiver_app(state)) as url:
        kinds = (JobKind.STOCK, JobKind.PRICES, JobKind.LISTINGS)
        connect(db, Receiver(url, state), kinds=kinds)
        drain(db)
        stock(db, "wh", MUG_1=5)
        drain(db)
    hub = available(db, "web", list(SKUS))
    assert state.stock == hub == {"MUG-1": 12, "MUG-2": 3, "MUG-3": 1}
    assert state.prices == dict.fromkeys(SKUS, "9.95")
    assert sorted(state.listings) == list(SKUS)
    assert dead_letters(db) == []
