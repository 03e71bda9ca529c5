"""A product model through the engine to the bol.com sandbox, on SQLite and PostgreSQL: the
model is skipped with its reason (an offer is per EAN; a model has none), never dead-lettered,
and each variant becomes an offer of its own with its EAN, stock and price."""

from __future__ import annotations

from decimal import Decimal

from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind, JobState
from tests.connectors.bol.families import MODEL, UNITS, VARIANTS, job_outcomes, save_tee_family
from tests.inventory.factories import make_world
from tests.sync.conftest import drain, secret_key  # noqa: F401 (an autouse fixture)


def test_bol_lists_each_variant_and_skips_the_model(db: Database) -> None:
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
        save_tee_family(db, "bol")
        drain(db, timeout=60)

    offers = {offer["reference"]: offer for offer in state.offers.values()}
    assert sorted(offers) == sorted(VARIANTS)  # no offer for the model
    assert {sku: offers[sku]["ean"] for sku in VARIANTS} == {
        sku: v[2] for sku, v in VARIANTS.items()
    }
    hub_atp = available(db, "bol", list(VARIANTS))
    assert {sku: offers[sku]["stock"]["amount"] for sku in VARIANTS} == hub_atp == UNITS
    assert Decimal(str(offers["TEE-BLK-M"]["pricing"]["bundlePrices"][0]["unitPrice"])) == (
        Decimal("26.95")
    )

    listings = job_outcomes(db, JobKind.LISTINGS.value)
    state_of_model, reason = listings[MODEL]
    assert state_of_model == JobState.SKIPPED.value
    assert reason is not None and reason.startswith("TEE is a product model: bol lists")
    assert "TEE-BLK-M, TEE-RED-M, TEE-RED-S" in reason
    assert {sku: listings[sku][0] for sku in VARIANTS} == dict.fromkeys(
        VARIANTS, JobState.DONE.value
    )
    every = {**listings, **job_outcomes(db, JobKind.STOCK.value)}
    assert not [key for key, (job_state, _) in every.items() if job_state == "dead"]
