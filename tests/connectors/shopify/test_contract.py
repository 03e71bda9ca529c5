"""Contract: every document the connector sends validates against Shopify's official 2026-01
SDL; the sandbox refuses what the schema does not have and answers in the schema's shapes;
the sandbox never imports connector or hub code."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from graphql import GraphQLInputObjectType, GraphQLSchema, parse, validate, validate_input_value

from channelhub.connectors.base import ChannelPrice, Listing, StockLevel
from channelhub.connectors.shopify import queries
from channelhub.connectors.shopify.mapping import group_listings, product_set_input
from channelhub.sandbox.shopify import ShopifyState, schema_path

from .conftest import with_connector


@pytest.mark.parametrize("name", sorted(queries.ALL_DOCUMENTS))
def test_every_connector_document_validates_against_the_official_sdl(
    schema: GraphQLSchema, name: str
) -> None:
    assert validate(schema, parse(queries.ALL_DOCUMENTS[name])) == []


def test_the_schema_is_the_2026_01_sdl_kept_inside_the_package() -> None:
    """The sandbox reads the SDL from its own package, never from a folder beside the clone."""
    import channelhub

    package = Path(channelhub.__file__).resolve().parent
    assert schema_path().name == "admin_schema_2026-01_public.graphql.gz"
    assert schema_path().is_relative_to(package / "sandbox" / "contracts" / "shopify")


def test_documents_sent_during_a_run_all_validate(
    sandbox_url: str, state: ShopifyState, schema: GraphQLSchema
) -> None:
    call = with_connector(sandbox_url, state)

    async def scenario(connector):  # type: ignore[no-untyped-def]
        await connector.push_listings([Listing(sku="MUG", title="Mug")])
        await connector.push_stock([StockLevel("MUG", 4)])
        await connector.fetch_orders(None)

    call(scenario)
    assert state.requests
    for request in state.requests:
        assert validate(schema, parse(request["query"])) == []


def _post(
    url: str, state: ShopifyState, query: str, variables: dict[str, object] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{url}/admin/api/2026-01/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": state.access_token},
    )


def test_the_sandbox_refuses_fields_the_schema_lacks_as_shopify_would(
    sandbox_url: str, state: ShopifyState
) -> None:
    # 2026-01 has no ProductVariant.inventoryQuantities
    response = _post(
        sandbox_url, state, "{ productVariants(first: 1) { nodes { inventoryQuantities } } }"
    )
    body = response.json()
    assert response.status_code == 200 and "data" not in body
    assert "inventoryQuantities" in body["errors"][0]["message"]
    assert "cost" in body["extensions"]


def test_sandbox_answers_have_the_schema_shapes(sandbox_url: str, state: ShopifyState) -> None:
    call = with_connector(sandbox_url, state)
    call(lambda c: c.push_listings([Listing(sku="MUG", title="Mug")]))
    state.create_order([("MUG", 1)])
    body = _post(
        sandbox_url,
        state,
        "query($q: String) { productVariants(first: 5, query: $q) { edges { cursor node { id price "
        "inventoryItem { id tracked } } } pageInfo { hasNextPage endCursor } } "
        "orders(first: 1) { nodes { id createdAt displayFinancialStatus "
        "totalPriceSet { shopMoney { amount currencyCode } } } } }",
        {"q": 'sku:"MUG"'},
    ).json()
    edge = body["data"]["productVariants"]["edges"][0]
    assert edge["node"]["id"].startswith("gid://shopify/ProductVariant/")
    assert (
        isinstance(edge["node"]["price"], str) and edge["node"]["inventoryItem"]["tracked"] is True
    )
    assert body["data"]["productVariants"]["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": edge["cursor"],
    }
    order = body["data"]["orders"]["nodes"][0]
    assert order["displayFinancialStatus"] == "PAID"
    assert order["totalPriceSet"]["shopMoney"]["currencyCode"] == "EUR"
    cost = body["extensions"]["cost"]
    assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"]


def test_idempotent_stock_sets_are_applied_once(sandbox_url: str, state: ShopifyState) -> None:
    call = with_connector(sandbox_url, state)
    call(lambda c: c.push_listings([Listing(sku="MUG", title="Mug")]))
    variant = state.variant_by_sku("MUG")
    assert variant is not None
    mutation = queries.INVENTORY_SET_QUANTITIES
    quantity = {
        "inventoryItemId": variant.inventory_item_id,
        "locationId": state.primary_location_id,
        "quantity": 5,
        "changeFromQuantity": None,
    }
    variables = {
        "input": {"name": "available", "reason": "correction", "quantities": [quantity]},
        "key": "k-1",
    }
    first = _post(sandbox_url, state, mutation, variables).json()
    state.inventory_items[variant.inventory_item_id].available[state.primary_location_id] = 2
    again = _post(sandbox_url, state, mutation, variables).json()
    assert again["data"] == first["data"]
    assert state.available("MUG") == 2  # the repeat was not applied
    other = {
        **variables,
        "input": {**variables["input"], "quantities": [{**quantity, "quantity": 6}]},
    }
    mismatch = _post(sandbox_url, state, mutation, other).json()
    assert (
        mismatch["data"]["inventorySetQuantities"]["userErrors"][0]["code"]
        == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    )


def test_the_sandbox_imports_no_connector_or_hub_code() -> None:
    package = Path(__file__).resolve().parents[3] / "src" / "channelhub" / "sandbox" / "shopify"
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("channelhub.") or node.module.startswith(
                    "channelhub.sandbox"
                ), (source.name, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("channelhub.") or alias.name.startswith(
                        "channelhub.sandbox"
                    )


def test_a_model_with_variants_is_a_valid_product_set_input(schema: GraphQLSchema) -> None:
    """The productSet variables for a model (options, variants with option values, SKU,
    barcode, price, compare-at price, tracked inventory item) coerce against the SDL's
    ``ProductSetInput``, as Shopify would check them."""
    variants = tuple(
        Listing(
            sku=f"TEE-{size}",
            title=f"Tee {size}",
            parent_sku="TEE",
            gtin="8712345678906",
            options={"Size": size, "Colour": "Red"},
            price=ChannelPrice(f"TEE-{size}", Decimal("24.95"), "EUR", Decimal("29.95")),
        )
        for size in ("S", "M")
    )
    model = Listing(sku="TEE", title="Tee", brand="Acme", category="Shirts", variants=variants)
    [group] = group_listings([model])
    value = product_set_input(group, "EUR")
    input_type = schema.get_type("ProductSetInput")
    assert isinstance(input_type, GraphQLInputObjectType)
    errors: list[str] = []
    validate_input_value(value, input_type, lambda error, _path: errors.append(str(error)))
    assert errors == []
    assert [v["inventoryItem"] for v in value["variants"]] == [{"tracked": True}] * 2
