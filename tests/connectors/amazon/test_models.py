"""A product model through the engine to the Amazon sandbox, on SQLite and PostgreSQL: the model
is skipped with its reason, never dead-lettered, and each variant is listed with its own EAN,
stock and price."""

from __future__ import annotations

import pytest

from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChannelLink, available
from channelhub.sandbox.amazon import AmazonState, create_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind, JobState
from tests.connectors.amazon.test_engine_roundtrip import fast_sync, quantities  # noqa: F401
from tests.connectors.bol.families import MODEL, VARIANTS, job_outcomes, save_tee_family
from tests.inventory.factories import add_channel, make_world
from tests.sync.conftest import drain


def test_amazon_lists_each_variant_and_skips_the_model(db: Database) -> None:
    make_world(db)
    add_channel(db, "amazon", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED)
    inventory.link_channel(db, "amazon", [ChannelLink("wh")])
    state = AmazonState(feed_delay=0.05)
    with serve_in_thread(create_app(state)) as url:
        save_connection(
            db,
            ConnectionInput(
                code="amazon",
                platform="amazon",
                channel="amazon",
                config={
                    "seller_id": state.seller.seller_id,
                    "marketplace_id": state.seller.marketplace_id,
                    "client_id": state.client_id,
                    "client_secret": state.client_secret,
                    "refresh_token": state.refresh_token,
                    "endpoint": url,
                    "token_url": f"{url}/auth/o2/token",
                    "language_tag": "nl_NL",
                },
                subscriptions=(JobKind.LISTINGS, JobKind.STOCK, JobKind.PRICES),
            ),
        )
        save_tee_family(db, "amazon")
        drain(db, timeout=60)

    assert sorted(state.listings) == sorted(VARIANTS)  # nothing under the model's SKU
    identifiers = {
        sku: listing["attributes"]["externally_assigned_product_identifier"][0]["value"]
        for sku, listing in state.listings.items()
    }
    assert identifiers == {sku: v[2] for sku, v in VARIANTS.items()}
    assert quantities(state) == available(db, "amazon", list(VARIANTS))
    offer = state.listings["TEE-BLK-M"]["attributes"]["purchasable_offer"][0]
    assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == pytest.approx(26.95)

    listings = job_outcomes(db, JobKind.LISTINGS.value)
    state_of_model, reason = listings[MODEL]
    assert state_of_model == JobState.SKIPPED.value
    assert reason is not None and reason.startswith("TEE is a product model: amazon lists")
    assert {sku: listings[sku][0] for sku in VARIANTS} == dict.fromkeys(
        VARIANTS, JobState.DONE.value
    )
    every = {**listings, **job_outcomes(db, JobKind.STOCK.value)}
    assert not [key for key, (job_state, _) in every.items() if job_state == "dead"]
