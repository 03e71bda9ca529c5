"""A product model through the engine to the Shopify sandbox, on SQLite and PostgreSQL: one
Shopify product with the family's options and a variant per sellable SKU, each variant with its
own barcode, price and stock; a later change to one variant keeps its siblings and their ids;
an order webhook from a shop whose prices include VAT comes in at what the customer paid. A
model without variants is skipped with its reason."""

from __future__ import annotations

from decimal import Decimal

from channelhub.api.app import create_app as hub_app
from channelhub.catalog.model import ProductKind
from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database
from channelhub.inventory.service import available
from channelhub.orders.service import get_order, list_orders
from channelhub.sandbox.server import serve_in_thread
from channelhub.sandbox.shopify import ShopifyState
from channelhub.sandbox.shopify import create_app as shopify_app
from channelhub.sandbox.shopify.webhooks import send_webhook
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind, JobState
from tests.connectors.bol.families import MODEL, UNITS, VARIANTS, job_outcomes, save_tee_family
from tests.factories import gtin, save, value
from tests.inventory.factories import make_world
from tests.sync.conftest import drain, secret_key  # noqa: F401 (an autouse fixture)


def connect(db: Database, state: ShopifyState, shop_url: str) -> None:
    save_connection(
        db,
        ConnectionInput(
            code="shop",
            platform="shopify",
            channel="web",
            config={
                "shop": state.shop,
                "access_token": state.access_token,
                "client_secret": state.client_secret,
                "endpoint": shop_url,
            },
            subscriptions=tuple(JobKind),
        ),
    )


def variant_ids(state: ShopifyState) -> dict[str, str]:
    return {v.sku or "": v.id for v in state.variants.values()}


def test_a_model_becomes_one_product_with_its_variants(db: Database) -> None:
    make_world(db)
    state = ShopifyState()
    with serve_in_thread(shopify_app(state)) as shop_url, serve_in_thread(hub_app(db)) as hub:
        connect(db, state, shop_url)
        save_tee_family(db, "web")
        save(db, ProductInput("CAP", family="shirts", kind=ProductKind.MODEL))  # no variants
        drain(db, timeout=60)

        [product] = state.products.values()
        assert product.handle == "tee" and product.title == "Organic tee"
        assert product.vendor == "Hearth" and product.status == "ACTIVE"
        assert product.options == [("color", ["black", "red"]), ("size", ["m", "s"])]
        assert sorted(variant_ids(state)) == sorted(VARIANTS)  # none for the model's SKU
        for sku, (colour, size, ean, _units, price) in VARIANTS.items():
            variant = state.variant_by_sku(sku)
            assert variant is not None and variant.product_id == product.id
            assert variant.option_values == (("color", colour), ("size", size))
            assert (variant.barcode, variant.price) == (ean, price)
            assert state.inventory_items[variant.inventory_item_id].tracked
        hub_atp = available(db, "web", list(VARIANTS))
        assert {sku: state.available(sku) for sku in VARIANTS} == hub_atp == UNITS
        outcomes = job_outcomes(db, JobKind.LISTINGS.value)
        assert outcomes.pop("CAP") == (
            JobState.SKIPPED.value,
            "CAP is a product model without variants: nothing to sell on shopify until a "
            "variant is added",
        )
        assert {key: job_state for key, (job_state, _) in outcomes.items()} == dict.fromkeys(
            (MODEL, *VARIANTS), JobState.DONE.value
        )

        # One variant changes alone: the product is set again with all three, ids kept, so
        # the stock and prices already mapped still reach the right variants.
        before = variant_ids(state)
        save(db, ProductInput("TEE-RED-M", parent=MODEL, values=[value("gtin", gtin(24))]))
        drain(db, timeout=60)
        assert variant_ids(state) == before
        assert state.variant_by_sku("TEE-RED-M").barcode == gtin(24)  # type: ignore[union-attr]
        assert state.variant_by_sku("TEE-RED-S").barcode == VARIANTS["TEE-RED-S"][2]  # type: ignore[union-attr]

        # A tee of 24.95 with 21% VAT included: the hub's order is 24.95, not 24.95 + VAT.
        order = state.create_order([("TEE-RED-S", 1)])
        assert order.lines[0].tax == Decimal("4.33")
        sent = send_webhook(state, f"{hub}/api/v1/webhooks/shop", "orders/create", order)
        assert sent.status_code == 202
        drain(db, timeout=60)
        [imported], _ = list_orders(db, channel="web")
        view = get_order(db, imported.id)
        [line] = view.lines
        assert (line.sku, line.unit_price, line.tax) == (
            "TEE-RED-S",
            Decimal("20.62"),
            Decimal("4.33"),
        )
        assert view.total == Decimal("24.95")
        assert state.available("TEE-RED-S") == available(db, "web", ["TEE-RED-S"])["TEE-RED-S"]
