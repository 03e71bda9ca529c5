"""How Shopify's answers become delivery errors: userErrors, GraphQL errors, THROTTLED, 401,
5xx and timeouts (with a mock transport, so each answer is exactly the documented shape)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from channelhub.connectors.base import (
    ChannelPrice,
    PermanentError,
    RateLimited,
    StockLevel,
    TransientError,
)
from channelhub.connectors.shopify import ShopifyConfig, ShopifyConnector

Handler = Callable[[httpx.Request], httpx.Response]
COST = {
    "requestedQueryCost": 252,
    "actualQueryCost": None,
    "throttleStatus": {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 52.0,
        "restoreRate": 100.0,
    },
}


def connector_call(handler: Handler, call: Callable[[ShopifyConnector], Any]) -> Any:
    async def main() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            config = ShopifyConfig(
                shop="my-store.myshopify.com",
                access_token="shpat_x",
                client_secret="secret",
                location_id="gid://shopify/Location/1",
            )
            return await call(ShopifyConnector(config, http))

    return asyncio.run(main())


def answer(payload: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=payload)


def test_requests_go_to_the_2026_01_endpoint_with_the_access_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        shop = {
            "name": "My store",
            "myshopifyDomain": "my-store.myshopify.com",
            "currencyCode": "EUR",
            "plan": {"displayName": "Basic"},
        }
        return httpx.Response(200, json={"data": {"shop": shop}, "extensions": {"cost": COST}})

    description = connector_call(handler, lambda c: c.test_connection())
    assert "My store" in description and "EUR" in description
    assert str(seen[0].url) == "https://my-store.myshopify.com/admin/api/2026-01/graphql.json"
    assert seen[0].headers["X-Shopify-Access-Token"] == "shpat_x"


def test_throttled_is_rate_limited_for_as_long_as_the_bucket_needs() -> None:
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": COST},
    }
    with pytest.raises(RateLimited) as caught:
        connector_call(answer(body), lambda c: c.test_connection())
    # (252 requested - 52 available) / 100 restored per second
    assert caught.value.retry_after == pytest.approx(2.0)


def test_the_throttle_status_of_the_last_answer_is_kept_for_the_engine() -> None:
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": COST},
    }

    async def call(connector: ShopifyConnector) -> Any:
        with pytest.raises(RateLimited):
            await connector.test_connection()
        return connector.throttle

    throttle = connector_call(answer(body), call)
    assert throttle.currently_available == 52.0 and throttle.restore_rate == 100.0


def test_a_graphql_validation_error_is_permanent_with_the_message() -> None:
    body = {
        "errors": [
            {
                "message": "Field 'nope' doesn't exist on type 'Shop'",
                "extensions": {"code": "undefinedField"},
            }
        ]
    }
    with pytest.raises(PermanentError, match="Field 'nope' doesn't exist"):
        connector_call(answer(body), lambda c: c.test_connection())


def test_an_internal_graphql_error_is_transient() -> None:
    body = {
        "errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    }
    with pytest.raises(TransientError):
        connector_call(answer(body), lambda c: c.test_connection())


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (401, PermanentError, "access token is invalid"),
        (403, PermanentError, "access scope"),
        (402, PermanentError, "frozen"),
        (500, TransientError, "500"),
        (503, TransientError, "503"),
        (429, RateLimited, "429"),
    ],
)
def test_http_statuses(status: int, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        connector_call(answer({"errors": "whatever"}, status), lambda c: c.test_connection())


def test_timeouts_and_connection_failures_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransientError, match="in time"):
        connector_call(timeout, lambda c: c.test_connection())
    with pytest.raises(TransientError, match="could not reach"):
        connector_call(refused, lambda c: c.test_connection())


def _variant_lookup(sku: str, available: int | None = 5) -> dict[str, Any]:
    level = None if available is None else {"quantities": [{"quantity": available}]}
    node = {
        "id": "gid://shopify/ProductVariant/1",
        "sku": sku,
        "price": "10.00",
        "product": {"id": "gid://shopify/Product/1"},
        "inventoryItem": {"id": "gid://shopify/InventoryItem/1", "inventoryLevel": level},
    }
    return {"data": {"productVariants": {"nodes": [node]}}}


def scripted(*bodies: dict[str, Any]) -> tuple[Handler, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=queue.pop(0))

    return handler, sent


def test_user_errors_become_a_clear_permanent_error() -> None:
    refused = {
        "data": {
            "productVariantsBulkUpdate": {
                "productVariants": None,
                "userErrors": [
                    {
                        "field": ["variants", "0", "price"],
                        "message": "Price must be greater than or equal to 0",
                        "code": "GREATER_THAN_OR_EQUAL_TO",
                    }
                ],
            }
        }
    }
    shop = {"data": {"shop": {"currencyCode": "EUR"}}}
    handler, _ = scripted(shop, _variant_lookup("MUG"), refused)
    with pytest.raises(PermanentError) as caught:
        connector_call(
            handler,
            lambda c: c.push_prices(
                [ChannelPrice("MUG", __import__("decimal").Decimal("-1"), "EUR")]
            ),
        )
    assert str(caught.value) == (
        "Shopify productVariantsBulkUpdate refused: variants.0.price: Price must be greater "
        "than or equal to 0 [GREATER_THAN_OR_EQUAL_TO]"
    )


def test_a_stale_compare_quantity_is_transient_and_the_retry_rereads() -> None:
    stale = {
        "data": {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": None,
                "userErrors": [
                    {
                        "field": ["input", "quantities", "0", "changeFromQuantity"],
                        "message": "The specified compare quantity is stale.",
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                    }
                ],
            }
        }
    }
    done = {
        "data": {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"},
                "userErrors": [],
            }
        }
    }
    handler, sent = scripted(_variant_lookup("MUG", 5), stale, _variant_lookup("MUG", 4), done)

    async def call(connector: ShopifyConnector) -> None:
        with pytest.raises(TransientError, match="changed in Shopify"):
            await connector.push_stock([StockLevel("MUG", 9)], idempotency_key="task-1")
        await connector.push_stock([StockLevel("MUG", 9)], idempotency_key="task-1-retry")

    connector_call(handler, call)
    first, retry = sent[1]["variables"], sent[3]["variables"]
    assert first["input"]["quantities"][0]["changeFromQuantity"] == 5
    assert retry["input"]["quantities"][0]["changeFromQuantity"] == 4  # read again
    assert first["key"] == "task-1"
    assert sent[3]["query"].count("@idempotent(key: $key)") == 1


def test_an_item_not_stocked_at_the_location_says_what_to_do() -> None:
    handler, _ = scripted(
        _variant_lookup("MUG", None),
        {
            "data": {
                "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": None,
                    "userErrors": [
                        {
                            "field": ["input"],
                            "message": "not stocked",
                            "code": "ITEM_NOT_STOCKED_AT_LOCATION",
                        }
                    ],
                }
            }
        },
    )
    with pytest.raises(PermanentError, match="stock the variant at location"):
        connector_call(handler, lambda c: c.push_stock([StockLevel("MUG", 1)]))


def test_unknown_skus_are_a_permanent_error_naming_them() -> None:
    handler, _ = scripted({"data": {"productVariants": {"nodes": []}}})
    with pytest.raises(TransientError, match=r"push their listings first\): NOPE"):
        connector_call(handler, lambda c: c.push_stock([StockLevel("NOPE", 1)]))
