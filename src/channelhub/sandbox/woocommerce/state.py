"""The WooCommerce sandbox's store: products, variations, orders and their notes, kept as the
REST API v3 resources themselves (dicts shaped like the reference's property tables)."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from channelhub.sandbox.faults import Faults
from channelhub.sandbox.woocommerce.webhooks import send_webhook


def now() -> datetime:
    """WooCommerce stores whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def gmt(moment: datetime | None) -> str | None:
    """A ``*_gmt`` field: ISO 8601 in UTC without an offset, as WooCommerce writes it."""
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):f}"


@dataclass
class WooState:
    """One WooCommerce store. ``lock`` guards every change (the app serves threads)."""

    consumer_key: str = field(default_factory=lambda: "ck_" + secrets.token_hex(20))
    consumer_secret: str = field(default_factory=lambda: "cs_" + secrets.token_hex(20))
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    currency: str = "EUR"
    site_url: str = "https://shop.example.test"
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[tuple[str, int]] = field(default_factory=list)  # (topic, HTTP status)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) served
    faults: Faults = field(default_factory=Faults)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def next_id(self) -> int:
        return next(self._ids)

    # --- lookups ---------------------------------------------------------------------------

    def by_sku(self, sku: str) -> dict[str, Any] | None:
        """The product or variation holding ``sku``."""
        for item in (*self.products.values(), *self.variations.values()):
            if item.get("sku") == sku:
                return item
        return None

    def stock(self, sku: str) -> int | None:
        item = self.by_sku(sku)
        return None if item is None else item.get("stock_quantity")

    def price(self, sku: str) -> Decimal | None:
        item = self.by_sku(sku)
        return None if item is None or not item.get("price") else Decimal(item["price"])

    # --- orders (the demo and the tests place them) -----------------------------------------

    def create_order(
        self,
        lines: list[tuple[str, int]],
        *,
        status: str = "processing",
        email: str = "jane@example.com",
        customer_id: int = 0,
    ) -> dict[str, Any]:
        """Place an order as the checkout does: lines by SKU at the current price, stock
        reduced for products that manage stock; paid unless ``status`` is pending/on-hold."""
        with self.lock:
            order_id = self.next_id()
            moment = now()
            items = []
            for sku, quantity in lines:
                product = self.by_sku(sku)
                if product is None:
                    raise KeyError(f"no product with SKU {sku}")
                price = Decimal(product.get("price") or "0")
                total = price * quantity
                tax = (total * Decimal("0.21")).quantize(Decimal("0.01"))
                is_variation = product.get("type") == "variation"
                items.append(
                    {
                        "id": self.next_id(),
                        "name": product.get("name") or sku,
                        "product_id": product["parent_id"] if is_variation else product["id"],
                        "variation_id": product["id"] if is_variation else 0,
                        "quantity": quantity,
                        "tax_class": "",
                        "subtotal": money(total),
                        "subtotal_tax": money(tax),
                        "total": money(total),
                        "total_tax": money(tax),
                        "taxes": [],
                        "meta_data": [],
                        "sku": sku,
                        "price": float(price),
                    }
                )
                if product.get("manage_stock") and product.get("stock_quantity") is not None:
                    product["stock_quantity"] -= quantity
            address = {
                "first_name": "Jane",
                "last_name": "Doe",
                "company": "",
                "address_1": "Keizersgracht 1",
                "address_2": "",
                "city": "Amsterdam",
                "state": "NH",
                "postcode": "1015 CJ",
                "country": "NL",
            }
            subtotal = sum((Decimal(i["total"]) for i in items), Decimal(0))
            tax_total = sum((Decimal(i["total_tax"]) for i in items), Decimal(0))
            paid = status not in ("pending", "on-hold", "failed")
            order = {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": "wc_order_" + secrets.token_hex(6),
                "created_via": "checkout",
                "version": "9.4.0",
                "status": status,
                "currency": self.currency,
                "date_created": gmt(moment),
                "date_created_gmt": gmt(moment),
                "date_modified": gmt(moment),
                "date_modified_gmt": gmt(moment),
                "discount_total": "0.00",
                "discount_tax": "0.00",
                "shipping_total": "0.00",
                "shipping_tax": "0.00",
                "cart_tax": money(tax_total),
                "total": money(subtotal + tax_total),
                "total_tax": money(tax_total),
                "prices_include_tax": False,
                "customer_id": customer_id,
                "customer_ip_address": "127.0.0.1",
                "customer_user_agent": "sandbox",
                "customer_note": "",
                "billing": {**address, "email": email, "phone": "+31201234567"},
                "shipping": dict(address),
                "payment_method": "bacs",
                "payment_method_title": "Direct bank transfer",
                "transaction_id": "",
                "date_paid": gmt(moment) if paid else None,
                "date_paid_gmt": gmt(moment) if paid else None,
                "date_completed": None,
                "date_completed_gmt": None,
                "cart_hash": "",
                "meta_data": [],
                "line_items": items,
                "tax_lines": [],
                "shipping_lines": [],
                "fee_lines": [],
                "coupon_lines": [],
                "refunds": [],
            }
            self.orders[order_id] = order
            self.notes[order_id] = []
        self.deliver("order.created", order)
        return order

    def touch_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        """Change an order as the shop admin would (its modification time moves)."""
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            moment = now()
            order["date_modified"] = order["date_modified_gmt"] = gmt(moment)
            if changes.get("status") == "completed":
                order["date_completed"] = order["date_completed_gmt"] = gmt(moment)
        self.deliver("order.updated", order)
        return order

    def deliver(self, topic: str, resource: dict[str, Any]) -> None:
        """Deliver ``topic`` to every active webhook of that topic, as WooCommerce does: a
        signed POST; after 5 failed deliveries in a row the webhook is disabled."""
        with self.lock:
            hooks = [
                dict(h)
                for h in self.webhooks.values()
                if h["status"] == "active" and h["topic"] == topic
            ]
        for hook in hooks:
            try:
                status = send_webhook(
                    self,
                    hook["delivery_url"],
                    topic,
                    resource,
                    webhook_id=hook["id"],
                    secret=hook["secret"],
                ).status_code
            except httpx.HTTPError:
                status = 0
            with self.lock:
                self.deliveries.append((topic, status))
                stored = self.webhooks[hook["id"]]
                stored["failures"] = 0 if 200 <= status < 300 else stored.get("failures", 0) + 1
                if stored["failures"] >= 5:
                    stored["status"] = "disabled"
