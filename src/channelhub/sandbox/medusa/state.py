"""The Medusa sandbox's store: products, variants, inventory levels, orders, fulfilments.

Written from Medusa v2's Admin OpenAPI document (shared/specs/medusa) and the behaviour measured
on a real 2.21.2 server (shared/peers/medusa.md): ids with Medusa's prefixes, amounts in
major units, a variant's price list replaced whole on update, ``stocked_quantity`` including
the units reserved for open orders, ``updated_at`` bumped by every change of an order.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


class MedusaError(Exception):
    """A Medusa error answer: ``{"type": ..., "message": ...}`` with its HTTP status."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def not_found(what: str, key: str) -> MedusaError:
    return MedusaError(404, "not_found", f'{what} with id "{key}" not found')


def invalid(message: str) -> MedusaError:
    return MedusaError(400, "invalid_data", message)


@dataclass
class MedusaState:
    """Everything the sandbox holds, with helpers tests use to act as a shopper."""

    email: str = "admin@medusa.test"
    password: str = "sandbox-password"
    secret_key: str = field(default_factory=lambda: "sk_" + secrets.token_hex(16))
    #: Sustained requests per second the sandbox allows before answering 429 (None: no limit;
    #: core Medusa has none, a proxy in front of it may).
    rate_limit: float | None = None
    throttled: int = 0  # 429s answered
    tokens: set[str] = field(default_factory=set)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    inventory: dict[str, dict[str, Any]] = field(default_factory=dict)  # by inventory item id
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock_locations: list[dict[str, Any]] = field(default_factory=list)
    sales_channels: list[dict[str, Any]] = field(default_factory=list)
    shipping_profiles: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        if not self.stock_locations:
            self.stock_locations.append({"id": self.new_id("sloc"), "name": "Main warehouse"})
        if not self.sales_channels:
            self.sales_channels.append({"id": self.new_id("sc"), "name": "Default Sales Channel"})
        if not self.shipping_profiles:
            self.shipping_profiles.append({"id": self.new_id("sp"), "type": "default"})

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter):026d}"

    def now(self) -> str:
        """A strictly increasing timestamp in Medusa's format (milliseconds, Z)."""
        self._clock += timedelta(milliseconds=1)
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    # --- lookups -------------------------------------------------------------------------

    def variants(self) -> list[dict[str, Any]]:
        return [v for p in self.products.values() for v in p["variants"]]

    def variant_by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((v for v in self.variants() if v.get("sku") == sku), None)

    def item_by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((i for i in self.inventory.values() if i["sku"] == sku), None)

    def level(self, sku: str, location_id: str | None = None) -> dict[str, Any] | None:
        item = self.item_by_sku(sku)
        location_id = location_id or self.stock_locations[0]["id"]
        return next(
            (
                lvl
                for lvl in (item or {}).get("location_levels", [])
                if lvl["location_id"] == location_id
            ),
            None,
        )

    def available(self, sku: str) -> int | None:
        level = self.level(sku)
        if level is None:
            return None
        return int(level["stocked_quantity"] - level["reserved_quantity"])

    # --- a shopper -----------------------------------------------------------------------

    def place_order(
        self, items: list[tuple[str, int]], *, email: str = "anna@example.com", country: str = "nl"
    ) -> str:
        """A completed checkout: an order with a line per (SKU, quantity), its units reserved
        at the first stock location, the payment authorized."""
        stamp = self.now()
        order_id = self.new_id("order")
        lines = []
        for sku, quantity in items:
            variant = self.variant_by_sku(sku)
            if variant is None:
                raise invalid(f"Variant with SKU {sku} does not exist")
            price = next((p["amount"] for p in variant["prices"] if not p.get("rules")), 0)
            lines.append(
                {
                    "id": self.new_id("ordli"),
                    "title": variant["title"],
                    "variant_id": variant["id"],
                    "product_id": variant["product_id"],
                    "variant_sku": sku,
                    "unit_price": price,
                    "quantity": quantity,
                    "detail": {
                        "quantity": quantity,
                        "fulfilled_quantity": 0,
                        "shipped_quantity": 0,
                    },
                }
            )
            level = self.level(sku)
            if level is not None:
                level["reserved_quantity"] += quantity
        address = {
            "first_name": "Anna",
            "last_name": "de Vries",
            "address_1": "Keizersgracht 1",
            "address_2": None,
            "postal_code": "1015 CJ",
            "city": "Amsterdam",
            "province": None,
            "country_code": country,
            "phone": "+31201234567",
        }
        self.orders[order_id] = {
            "id": order_id,
            "display_id": len(self.orders) + 1,
            "status": "pending",
            "email": email,
            "customer_id": self.new_id("cus"),
            "currency_code": "eur",
            "created_at": stamp,
            "updated_at": stamp,
            "canceled_at": None,
            "payment_status": "authorized",
            "fulfillment_status": "not_fulfilled",
            "items": lines,
            "shipping_address": dict(address),
            "billing_address": dict(address),
            "customer": {"id": None, "email": email, "first_name": None, "last_name": None},
            "fulfillments": [],
        }
        return order_id
