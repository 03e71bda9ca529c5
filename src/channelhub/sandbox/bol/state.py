"""The bol.com sandbox's own state: credentials, tokens, offers, orders and process statuses.

Written from bol.com's published contracts alone (Offers API v11 11.3.0, Retailer and Shared
API v10 in ``shared/specs/bol/``); it never imports the connector.
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from channelhub.sandbox.faults import TokenBucket

TOKEN_LIFETIME_SECONDS = 299  # what login.bol.com grants


@dataclass(frozen=True)
class Limit:
    """A documented per-endpoint budget: ``capacity`` requests per ``window`` seconds."""

    capacity: int
    window: float


# From bol.com's published rate limits (api.bol.com/retailer/public/ratelimits, as listed in
# 2025): the order list is the scarce one. Unlisted endpoints get a generous default.
DEFAULT_LIMITS: dict[str, Limit] = {
    "GET /retailer/orders": Limit(25, 60),
    "GET /retailer/orders/{id}": Limit(25, 1),
    "POST /retailer/shipments": Limit(25, 1),
    "PUT /retailer/orders/cancellation": Limit(25, 1),
    "GET /retailer/offers": Limit(25, 1),
    "POST /retailer/offers": Limit(50, 1),
    "GET /retailer/offers/{id}": Limit(50, 1),
    "PATCH /retailer/offers/{id}": Limit(50, 1),
    "DELETE /retailer/offers/{id}": Limit(50, 1),
    "GET /shared/process-status/{id}": Limit(100, 1),
}
DEFAULT_LIMIT = Limit(50, 1)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ProcessStatus:
    """A v10 asynchronous process: PENDING until ``ready_at``, then ``resolve()`` decides."""

    id: str
    event_type: str
    entity_id: str
    description: str
    ready_at: float
    resolve: Callable[[], str | None]  # None on success, else the error message
    status: str = "PENDING"
    error_message: str | None = None
    created: str = field(default_factory=now_iso)

    def body(self, base_url: str) -> dict[str, Any]:
        return {
            "processStatusId": self.id,
            "entityId": self.entity_id,
            "eventType": self.event_type,
            "description": self.description,
            "status": self.status,
            "errorMessage": self.error_message,
            "createTimestamp": self.created,
            "links": [
                {"rel": "self", "href": f"{base_url}/shared/process-status/{self.id}"},
            ],
        }


@dataclass
class BolState:
    """Everything the sandbox remembers. Tests reach in to seed orders and inspect offers."""

    clients: dict[str, str] = field(default_factory=lambda: {"sandbox-client": "sandbox-secret"})
    token_lifetime: float = TOKEN_LIFETIME_SECONDS
    process_delay: float = 0.2  # how long a shipment or cancellation stays PENDING
    limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, ProcessStatus] = field(default_factory=dict)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) log
    # Push notification subscriptions (Retailer API v10 /retailer/subscriptions), by id.
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    retailer_id: int = 1234567
    signature_key_id: str = "0"
    _signing_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _unsettled: list[ProcessStatus] = field(default_factory=list)

    # --- tokens -------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return token

    def token_problem(self, token: str | None) -> str | None:
        """None when ``token`` is valid, else why not."""
        if not token or token not in self.tokens:
            return "Invalid or missing access token."
        if time.monotonic() >= self.tokens[token]:
            return "Access token has expired."
        return None

    def expire_tokens(self) -> None:
        """Make every issued token expired (tests of the 401 refresh path)."""
        for token in self.tokens:
            self.tokens[token] = 0.0

    # --- push notification signatures ------------------------------------------------------

    @property
    def signing_key(self) -> rsa.RSAPrivateKey:
        """The RSA key bol.com signs push notifications with (made once, at sandbox start)."""
        if self._signing_key is None:
            self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._signing_key

    def rotate_signing_key(self) -> None:
        """A new key under a new id (tests of key rotation and of stale key caches)."""
        self._signing_key = None
        self.signature_key_id = str(int(self.signature_key_id) + 1)

    # --- rate limits ----------------------------------------------------------------------

    def bucket(self, endpoint: str) -> tuple[TokenBucket, Limit]:
        limit = self.limits.get(endpoint, DEFAULT_LIMIT)
        if endpoint not in self._buckets:
            self._buckets[endpoint] = TokenBucket(
                rate=limit.capacity / limit.window, capacity=limit.capacity
            )
        return self._buckets[endpoint], limit

    # --- ids and processes ----------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def start_process(
        self,
        event_type: str,
        entity_id: str,
        description: str,
        resolve: Callable[[], str | None],
    ) -> ProcessStatus:
        process = ProcessStatus(
            id=str(uuid.uuid4()),
            event_type=event_type,
            entity_id=entity_id,
            description=description,
            ready_at=time.monotonic() + self.process_delay,
            resolve=resolve,
        )
        self.processes[process.id] = process
        self._unsettled.append(process)
        return process

    def settle(self, process: ProcessStatus) -> ProcessStatus:
        """Resolve a PENDING process whose time has come (lazily, on read), after every
        process started before it: bol.com handles them in order, read or not."""
        self.settle_due()
        return process

    def settle_due(self) -> None:
        """Resolve, in the order they were started, the processes whose time has come (also
        before an order is read, so it shows the shipments and cancellations done by now)."""
        now = time.monotonic()
        while self._unsettled and self._unsettled[0].ready_at <= now:
            process = self._unsettled.pop(0)
            error = process.resolve()
            process.status = "SUCCESS" if error is None else "FAILURE"
            process.error_message = error

    # --- orders ---------------------------------------------------------------------------

    def add_order(
        self,
        items: list[tuple[str, int, float]],
        *,
        fulfilment_method: str = "FBR",
        customer: dict[str, str] | None = None,
        pickup_point: str | None = None,
    ) -> str:
        """Place an order of ``(ean, quantity, unit price)`` items as a customer would.

        Each item is linked to the retailer's offer for that EAN when one exists, so the order
        carries the offer id and reference (bol.com does the same).
        """
        order_id = f"A{self.next_id():09d}"
        placed = now_iso()
        person = {
            "salutation": "UNKNOWN",
            "firstName": "Billie",
            "surname": "Jansen",
            "streetName": "Dorpstraat",
            "houseNumber": "1",
            "zipCode": "1111ZZ",
            "city": "Utrecht",
            "countryCode": "NL",
            "email": f"{order_id.lower()}@verkopen.bol.com",
        } | (customer or {})
        shipment = dict(person)
        if pickup_point:
            shipment["pickupPointName"] = pickup_point
        order_items = [
            self._order_item(ean, quantity, price, fulfilment_method, placed)
            for ean, quantity, price in items
        ]
        self.orders[order_id] = {
            "orderId": order_id,
            "pickupPoint": pickup_point is not None,
            "orderPlacedDateTime": placed,
            "shipmentDetails": shipment,
            "billingDetails": dict(person),
            "orderItems": order_items,
        }
        return order_id

    def _order_item(
        self, ean: str, quantity: int, price: float, method: str, placed: str
    ) -> dict[str, Any]:
        offer = next((o for o in self.offers.values() if o.get("ean") == ean), None)
        return {
            "orderItemId": str(2_000_000_000 + self.next_id()),
            "cancellationRequest": False,
            "fulfilment": {"method": method, "timeFrameType": "REGULAR"},
            "offer": (
                {"offerId": offer["offerId"], "reference": offer.get("reference")}
                if offer
                else None
            ),
            "product": {"ean": ean, "title": (offer or {}).get("unknownProductTitle") or ean},
            "quantity": quantity,
            "quantityShipped": 0,
            "quantityCancelled": 0,
            "unitPrice": price,
            "totalPrice": round(price * quantity, 2),
            "discounts": [],
            "commission": round(price * quantity * 0.15, 2),
            "latestChangedDateTime": placed,
        }

    def find_item(self, order_item_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for order in self.orders.values():
            for item in order["orderItems"]:
                if item["orderItemId"] == order_item_id:
                    return order, item
        return None

    def request_cancellation(self, order_item_id: str) -> None:
        """The customer asks to cancel an item (bol.com sets ``cancellationRequest``)."""
        found = self.find_item(order_item_id)
        if found:
            found[1]["cancellationRequest"] = True
            found[1]["latestChangedDateTime"] = now_iso()
