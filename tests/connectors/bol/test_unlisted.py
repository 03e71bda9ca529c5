"""A SKU bol.com cannot list (no EAN) through the engine, on SQLite and PostgreSQL: its listing
gives up once, and its stock and price are then skipped with the reason instead of being
retried for hours against an offer that cannot exist. Once the product has its EAN and the
listing goes through, the skipped stock and price follow by themselves."""

from __future__ import annotations

from decimal import Decimal

from channelhub.catalog.model import Status
from channelhub.catalog.products import change_status
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.jobs import UNLISTED
from channelhub.sync.model import JobKind, JobState
from tests.connectors.bol.families import job_outcomes
from tests.factories import gtin, mug, save, value
from tests.inventory.factories import make_world, stock
from tests.sync.conftest import drain, secret_key  # noqa: F401 (an autouse fixture)


def test_stock_and_price_of_a_sku_without_listing_are_skipped_with_the_reason(
    db: Database,
) -> None:
    make_world(db)
    state = BolState(process_delay=0.05)
    with serve_in_thread(bol_app(state)) as url:
        save_connection(
            db,
            ConnectionInput(
                code="bol",
                platform="bol",
                channel="bol",
                config={
                    "client_id": "sandbox-client",
                    "client_secret": "sandbox-secret",
                    "api_url": url,
                    "login_url": url,
                },
                subscriptions=(JobKind.LISTINGS, JobKind.STOCK, JobKind.PRICES),
            ),
        )
        save(db, mug("MUG-NOEAN"))  # a mug without an EAN
        for status in (Status.IN_REVIEW, Status.APPROVED):
            change_status(db, "MUG-NOEAN", status, "test")
        stock(db, "wh", MUG_NOEAN=7)
        pricing.save_price_list(db, "bol_mugs", "bol")
        save_prices(db, [PriceInput("MUG-NOEAN", Decimal("9.95"))], price_list="bol_mugs")
        drain(db, timeout=60)
        # A later stock change (3 more) is skipped at once too.
        stock(db, "wh", MUG_NOEAN=3)
        drain(db, timeout=30)

        assert state.offers == {}
        listing_state, why = job_outcomes(db, JobKind.LISTINGS.value)["MUG-NOEAN"]
        assert listing_state == JobState.DEAD.value and why is not None and "no EAN" in why
        for kind in (JobKind.STOCK, JobKind.PRICES):
            job_state, reason = job_outcomes(db, kind.value)["MUG-NOEAN"]
            assert job_state == JobState.SKIPPED.value, (kind, job_state, reason)
            assert reason is not None and reason.startswith(UNLISTED)
            assert "MUG-NOEAN has no listing on bol" in reason and "no EAN" in reason

        # The merchandiser adds the EAN: the listing goes through, and the stock and price
        # skipped meanwhile are sent again without anyone asking.
        save(db, mug("MUG-NOEAN", values=[*mug().values, value("gtin", gtin(31))]))
        drain(db, timeout=60)

    (offer,) = state.offers.values()
    assert offer["reference"] == "MUG-NOEAN" and offer["ean"] == gtin(31)
    assert offer["stock"]["amount"] == available(db, "bol", ["MUG-NOEAN"])["MUG-NOEAN"] == 10
    assert offer["pricing"]["bundlePrices"][0]["unitPrice"] == 9.95
    for kind in (JobKind.LISTINGS, JobKind.STOCK, JobKind.PRICES):
        assert job_outcomes(db, kind.value)["MUG-NOEAN"][0] == JobState.DONE.value, kind
