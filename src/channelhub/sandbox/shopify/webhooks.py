"""Webhooks as Shopify delivers them: a REST-format JSON body, signed with the app's client
secret, with the documented ``X-Shopify-*`` headers; redeliveries keep the webhook id.

Follows shopify.dev "Deliver webhooks through HTTPS" (read for 2026-01): the
``X-Shopify-Hmac-Sha256`` header is the base64 HMAC-SHA256 of the raw body keyed with the
client secret; retries (up to 8 over 4 hours) reuse ``X-Shopify-Webhook-Id``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from channelhub.sandbox.shopify.schema import API_VERSION
from channelhub.sandbox.shopify.state import Address, Order, ShopifyState, iso, now


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _legacy_id(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "name": address.name,
        "address1": address.address1,
        "address2": address.address2,
        "zip": address.zip,
        "city": address.city,
        "province": address.province,
        "province_code": address.province_code,
        "country": address.country,
        "country_code": address.country_code,
        "phone": address.phone,
        "company": None,
    }


def order_payload(state: ShopifyState, order: Order) -> dict[str, Any]:
    """The ``orders/*`` webhook body (the REST Admin order resource) for ``order``."""
    currency = order.currency
    subtotal = sum(
        (line.unit_price * line.quantity - line.discount for line in order.lines), Decimal(0)
    )
    taxes = sum((line.tax for line in order.lines), Decimal(0))
    total = subtotal + (Decimal(0) if state.taxes_included else taxes)
    customer = order.customer
    return {
        "id": _legacy_id(order.id),
        "admin_graphql_api_id": order.id,
        "name": order.name,
        "order_number": order.number,
        "email": order.email,
        "contact_email": order.email,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "processed_at": iso(order.created_at),
        "cancelled_at": iso(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "currency": currency,
        "presentment_currency": currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": None,
        "taxes_included": state.taxes_included,
        "total_price": _money(total),
        "subtotal_price": _money(subtotal),
        "total_tax": _money(taxes),
        "test": False,
        "customer": None
        if customer is None
        else {
            "id": _legacy_id(customer.id),
            "admin_graphql_api_id": customer.id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
        },
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "line_items": [
            {
                "id": _legacy_id(line.id),
                "admin_graphql_api_id": line.id,
                "sku": line.sku,
                "title": line.title,
                "name": line.title,
                "quantity": line.quantity,
                "current_quantity": 0 if order.cancelled_at else line.quantity,
                "price": _money(line.unit_price),
                "price_set": {
                    "shop_money": {"amount": _money(line.unit_price), "currency_code": currency},
                    "presentment_money": {
                        "amount": _money(line.unit_price),
                        "currency_code": currency,
                    },
                },
                "total_discount": _money(line.discount),
                "tax_lines": [{"title": "VAT", "rate": line.tax_rate, "price": _money(line.tax)}],
                "variant_id": _legacy_id(line.variant_id) if line.variant_id else None,
                "requires_shipping": True,
                "taxable": True,
            }
            for line in order.lines
        ],
    }


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: what was sent and how the receiver answered."""

    webhook_id: str
    headers: dict[str, str]
    body: bytes
    status_code: int


def webhook_request(
    state: ShopifyState,
    topic: str,
    payload: dict[str, Any],
    *,
    webhook_id: str | None = None,
    secret: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of a delivery of ``payload`` on ``topic``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret or state.client_secret),
        "X-Shopify-Shop-Domain": state.domain,
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": iso(now()) or "",
    }
    return headers, body


def send_webhook(
    state: ShopifyState,
    url: str,
    topic: str,
    order: Order,
    *,
    webhook_id: str | None = None,
    secret: str | None = None,
    timeout: float = 5.0,
) -> Delivery:
    """POST an ``orders/*`` webhook for ``order`` to ``url``. Pass the ``webhook_id`` of an
    earlier delivery to redeliver it; ``secret`` overrides the signing secret (forgeries)."""
    with state.lock:
        payload = order_payload(state, order)
    headers, body = webhook_request(state, topic, payload, webhook_id=webhook_id, secret=secret)
    # Shopify allows the receiver 5 seconds in all (docs: "Troubleshooting webhooks").
    response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    return Delivery(headers["X-Shopify-Webhook-Id"], headers, body, response.status_code)
