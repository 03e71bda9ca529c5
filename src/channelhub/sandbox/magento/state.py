"""The Magento sandbox's store: products by SKU, Multi-Source Inventory source items, base
prices, orders with items and shipments, kept as the REST resources of the 2.4.9 admin schema
(dicts shaped like its definitions)."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from channelhub.sandbox.faults import Faults, TokenBucket


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    """Magento's timestamps: ``2026-11-20 10:00:00`` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class MagentoState:
    """One Magento installation. ``lock`` guards every change (the app serves threads)."""

    access_token: str = field(default_factory=lambda: secrets.token_hex(16))
    admin_username: str = "admin"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    currency: str = "EUR"
    input_list_limit: int = 20  # "Web API Limits": entities in one list input
    max_page_size: int = 300
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "default": {
                "source_code": "default",
                "name": "Default Source",
                "enabled": True,
                "country_id": "US",
                "postcode": "00000",
            }
        }
    )
    source_items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    base_prices: dict[tuple[str, int], float] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    admin_tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    limit: TokenBucket | None = None  # backpressure (2.4.7+), off unless a test sets it
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self._ids)

    def quantity(self, sku: str, source: str = "default") -> float | None:
        item = self.source_items.get((sku, source))
        return None if item is None else item["quantity"]

    def price(self, sku: str, store_id: int = 0) -> Decimal | None:
        value = self.base_prices.get((sku, store_id))
        return None if value is None else Decimal(str(value))

    def create_order(
        self,
        lines: list[tuple[str, int]],
        *,
        configurable: dict[str, str] | None = None,
        paid: bool = True,
        email: str = "jane@example.com",
        customer_id: int | None = None,
    ) -> dict[str, Any]:
        """Place an order as the checkout does. A SKU named in ``configurable`` (child SKU ->
        configurable SKU) gets Magento's two items: the configurable parent carrying the
        child's SKU and the price, and the simple child with ``parent_item_id``."""
        with self.lock:
            order_id = self.next_id()
            moment = stamp(now())
            items: list[dict[str, Any]] = []
            grand = Decimal(0)
            for sku, quantity in lines:
                price = self.price(sku) or Decimal("0")
                tax = (price * quantity * Decimal("0.21")).quantize(Decimal("0.01"))
                grand += price * quantity + tax
                base = {
                    "order_id": order_id,
                    "sku": sku,
                    "name": (self.products.get(sku) or {}).get("name", sku),
                    "qty_ordered": quantity,
                    "qty_shipped": 0,
                    "qty_canceled": 0,
                    "created_at": moment,
                    "updated_at": moment,
                }
                parent = (configurable or {}).get(sku)
                item_id = self.next_id()
                items.append(
                    {
                        **base,
                        "item_id": item_id,
                        "product_type": "configurable" if parent else "simple",
                        "price": float(price),
                        "original_price": float(price),
                        "row_total": float(price * quantity),
                        "discount_amount": 0,
                        "tax_amount": float(tax),
                    }
                )
                if parent:
                    items.append(
                        {
                            **base,
                            "item_id": self.next_id(),
                            "product_type": "simple",
                            "parent_item_id": item_id,
                            "price": 0,
                            "row_total": 0,
                            "discount_amount": 0,
                            "tax_amount": 0,
                        }
                    )
                # MSI keeps a reservation for the order; the source's quantity drops only when
                # the order ships (see ``ship`` in app.py).
            address = {
                "address_type": "billing",
                "firstname": "Jane",
                "lastname": "Doe",
                "street": ["Keizersgracht 1", "2nd floor"],
                "city": "Amsterdam",
                "postcode": "1015 CJ",
                "region_code": "NH",
                "country_id": "NL",
                "telephone": "+31201234567",
                "email": email,
            }
            order = {
                "entity_id": order_id,
                "increment_id": f"{order_id:09d}",
                "state": "processing" if paid else "new",
                "status": "processing" if paid else "pending",
                "created_at": moment,
                "updated_at": moment,
                "order_currency_code": self.currency,
                "base_currency_code": self.currency,
                "customer_email": email,
                "customer_firstname": "Jane",
                "customer_lastname": "Doe",
                "customer_is_guest": 0 if customer_id else 1,
                "grand_total": float(grand),
                "base_grand_total": float(grand),
                "total_paid": float(grand) if paid else 0,
                "total_due": 0 if paid else float(grand),
                "items": items,
                "billing_address": address,
                "extension_attributes": {
                    "shipping_assignments": [
                        {
                            "shipping": {
                                "address": {**address, "address_type": "shipping"},
                                "method": "flatrate_flatrate",
                            },
                            "items": items,
                        }
                    ]
                },
            }
            if customer_id is not None:  # guests have none (the key is left out)
                order["customer_id"] = customer_id
            self.orders[order_id] = order
            return order

    def touch_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            order["updated_at"] = stamp(now())
            return order
