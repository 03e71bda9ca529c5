"""A real Medusa store made ready to sell, and a shopper who places an order, through Medusa's
own Admin and Store APIs (the call sequence of shared/peers/medusa.md): test equipment only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Store:
    """What the seeding made: the ids the connector's configuration and the shopper need."""

    sales_channel_id: str
    region_id: str
    stock_location_id: str
    shipping_profile_id: str
    publishable_key: str


def admin_client(url: str, email: str, password: str) -> httpx.Client:
    token = httpx.post(
        f"{url}/auth/user/emailpass", json={"email": email, "password": password}, timeout=30
    )
    token.raise_for_status()
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token.json()['token']}"}, timeout=60
    )


def _ok(response: httpx.Response) -> Any:
    if response.is_error:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json()


def seed(admin: httpx.Client, *, currency: str = "eur", country: str = "nl") -> Store:
    """A region, tax region, stock location with a shipping option, and a publishable key."""
    tag = uuid.uuid4().hex[:6]
    channel = _ok(admin.get("/admin/sales-channels"))["sales_channels"][0]["id"]
    store = _ok(admin.get("/admin/stores"))["stores"][0]
    _ok(
        admin.post(
            f"/admin/stores/{store['id']}",
            json={"supported_currencies": [{"currency_code": currency, "is_default": True}]},
        )
    )
    regions = _ok(admin.get("/admin/regions", params={"fields": "id,*countries"}))["regions"]
    region = next(
        (r["id"] for r in regions if any(c["iso_2"] == country for c in r.get("countries", []))),
        None,
    )
    if region is None:
        region = _ok(
            admin.post(
                "/admin/regions",
                json={
                    "name": f"Region {country.upper()}",
                    "currency_code": currency,
                    "countries": [country],
                    "payment_providers": ["pp_system_default"],
                },
            )
        )["region"]["id"]
        _ok(
            admin.post(
                "/admin/tax-regions", json={"country_code": country, "provider_id": "tp_system"}
            )
        )
    location = _ok(
        admin.post(
            "/admin/stock-locations",
            json={
                "name": f"Warehouse {tag}",
                "address": {"address_1": "Dam 1", "country_code": country},
            },
        )
    )["stock_location"]["id"]
    _ok(admin.post(f"/admin/stock-locations/{location}/sales-channels", json={"add": [channel]}))
    _ok(
        admin.post(
            f"/admin/stock-locations/{location}/fulfillment-providers",
            json={"add": ["manual_manual"]},
        )
    )
    located = _ok(
        admin.post(
            f"/admin/stock-locations/{location}/fulfillment-sets",
            params={"fields": "id,*fulfillment_sets"},
            json={"name": f"Shipping {tag}", "type": "shipping"},
        )
    )
    fulfillment_set = located["stock_location"]["fulfillment_sets"][0]["id"]
    zoned = _ok(
        admin.post(
            f"/admin/fulfillment-sets/{fulfillment_set}/service-zones",
            json={
                "name": f"Zone {tag}",
                "geo_zones": [{"type": "country", "country_code": country, "metadata": {}}],
            },
        )
    )
    zone = zoned["fulfillment_set"]["service_zones"][0]["id"]
    profile = _ok(admin.get("/admin/shipping-profiles", params={"type": "default"}))[
        "shipping_profiles"
    ][0]["id"]
    _ok(
        admin.post(
            "/admin/shipping-options",
            json={
                "name": f"Standard {tag}",
                "price_type": "flat",
                "service_zone_id": zone,
                "shipping_profile_id": profile,
                "provider_id": "manual_manual",
                "type": {"label": "Standard", "description": "2-3 days", "code": "standard"},
                "prices": [{"currency_code": currency, "amount": 5}],
                "rules": [
                    {"attribute": "enabled_in_store", "operator": "eq", "value": "true"},
                    {"attribute": "is_return", "operator": "eq", "value": "false"},
                ],
            },
        )
    )
    key = _ok(admin.post("/admin/api-keys", json={"title": f"Shop {tag}", "type": "publishable"}))[
        "api_key"
    ]
    _ok(admin.post(f"/admin/api-keys/{key['id']}/sales-channels", json={"add": [channel]}))
    return Store(channel, region, location, profile, key["token"])


def place_order(
    url: str, store: Store, items: list[tuple[str, int]], *, email: str, country: str = "nl"
) -> dict[str, Any]:
    """A shopper's checkout through the Store API: cart, lines, address, shipping, payment,
    complete. ``items`` are (variant id, quantity). The Store API's order comes back."""
    shop = httpx.Client(
        base_url=url, headers={"x-publishable-api-key": store.publishable_key}, timeout=60
    )
    with shop:
        cart = _ok(shop.post("/store/carts", json={"region_id": store.region_id, "email": email}))[
            "cart"
        ]
        for variant_id, quantity in items:
            _ok(
                shop.post(
                    f"/store/carts/{cart['id']}/line-items",
                    json={"variant_id": variant_id, "quantity": quantity},
                )
            )
        address = {
            "first_name": "Anna",
            "last_name": "de Vries",
            "address_1": "Keizersgracht 1",
            "postal_code": "1015 CJ",
            "city": "Amsterdam",
            "country_code": country,
            "phone": "+31201234567",
        }
        _ok(
            shop.post(
                f"/store/carts/{cart['id']}",
                json={"shipping_address": address, "billing_address": address},
            )
        )
        options = _ok(shop.get("/store/shipping-options", params={"cart_id": cart["id"]}))[
            "shipping_options"
        ]
        _ok(
            shop.post(
                f"/store/carts/{cart['id']}/shipping-methods", json={"option_id": options[0]["id"]}
            )
        )
        collection = _ok(shop.post("/store/payment-collections", json={"cart_id": cart["id"]}))[
            "payment_collection"
        ]
        _ok(
            shop.post(
                f"/store/payment-collections/{collection['id']}/payment-sessions",
                json={"provider_id": "pp_system_default"},
            )
        )
        done = _ok(shop.post(f"/store/carts/{cart['id']}/complete"))
    if done.get("type") != "order":
        raise AssertionError(f"the cart did not complete: {done}")
    order: dict[str, Any] = done["order"]
    return order
