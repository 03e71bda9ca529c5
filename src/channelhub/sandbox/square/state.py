"""What the Square sandbox holds: locations, catalog objects, inventory counts, orders, and the
idempotency keys it has answered. Written from Square's published contract (Square-Version
2025-08-20) alone: catalog batch upsert with ``#temp`` ids and id mappings, physical counts
that apply in ``occurred_at`` order, order search with filters and cursors."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from channelhub.sandbox.faults import Faults, TokenBucket

SQUARE_VERSION = "2025-08-20"
MAX_OBJECTS_PER_BATCH = 1000
MAX_OBJECTS_PER_UPSERT = 10_000
MAX_CHANGES = 100
MAX_SET_VALUES = 250
MAX_ORDER_LOCATIONS = 10


class SquareError(Exception):
    """An answer in Square's error format: ``{"errors": [{category, code, detail, field}]}``."""

    def __init__(
        self, status: int, code: str, detail: str, field: str | None = None, category: str = ""
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.category = category or _category(status)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"category": self.category, "code": self.code}
        error["detail"] = self.detail
        if self.field:
            error["field"] = self.field
        return {"errors": [error]}


def _category(status: int) -> str:
    if status == 401:
        return "AUTHENTICATION_ERROR"
    if status == 429:
        return "RATE_LIMIT_ERROR"
    if status >= 500:
        return "API_ERROR"
    return "INVALID_REQUEST_ERROR"


def now_rfc3339(moment: datetime | None = None) -> str:
    value = (moment or datetime.now(UTC)).astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise SquareError(400, "INVALID_TIME", f"{where} must be an RFC 3339 timestamp", where)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SquareError(
            400, "INVALID_TIME", f"{where} is not RFC 3339: {value!r}", where
        ) from None
    if moment.tzinfo is None:
        raise SquareError(400, "INVALID_TIME", f"{where} needs a UTC offset", where)
    return moment


def new_id() -> str:
    """An id in Square's style: 24 upper-case base32 characters."""
    return base64.b32encode(secrets.token_bytes(15)).decode()[:24]


def _digest(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class SquareState:
    access_token: str = "sandbox-square-token"
    signature_key: str = "sandbox-signature-key"
    merchant_id: str = "MSANDBOX01"
    currency: str = "EUR"
    #: Requests per second per access token, and the burst, before 429 RATE_LIMITED.
    rate: float = 50.0
    burst: int = 100
    #: The largest page ``/v2/orders/search`` serves (Square: 1,000; small in tests).
    max_order_page: int = 1000
    #: The largest page ``/v2/catalog/search`` serves: Square calls its limit advisory ("may
    #: return more or fewer results"), so a client must follow the cursor.
    max_search_page: int = 1000
    faults: Faults = field(default_factory=Faults)
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[tuple[str, str], tuple[Decimal, datetime]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    _answered: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _bucket: TokenBucket | None = None
    _version: int = 0
    _clock: datetime = field(default_factory=lambda: datetime.now(UTC))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.locations:
            self.add_location("LSTOREAMS01", "Store Amsterdam")

    # --- plumbing ---------------------------------------------------------------------------

    def add_location(self, location_id: str, name: str) -> dict[str, Any]:
        location = {
            "id": location_id,
            "name": name,
            "status": "ACTIVE",
            "merchant_id": self.merchant_id,
            "currency": self.currency,
            "type": "PHYSICAL",
            "created_at": now_rfc3339(),
        }
        self.locations[location_id] = location
        return location

    def bucket(self) -> TokenBucket:
        if self._bucket is None:
            self._bucket = TokenBucket(self.rate, float(self.burst))
        return self._bucket

    def tick(self) -> datetime:
        """A strictly increasing clock, so updated_at orders changes even within a millisecond."""
        self._clock = max(datetime.now(UTC), self._clock + timedelta(milliseconds=1))
        return self._clock

    def next_version(self) -> int:
        self._version = max(self._version + 1, int(self.tick().timestamp() * 1000))
        return self._version

    def replay(self, endpoint: str, key: str, body: object) -> dict[str, Any] | None:
        """The answer already given to ``key`` at ``endpoint``; an error if the body differs."""
        seen = self._answered.get((endpoint, key))
        if seen is None:
            return None
        if seen[0] != _digest(body):
            raise SquareError(
                400,
                "IDEMPOTENCY_KEY_REUSED",
                "the idempotency key was already used for a different request",
                "idempotency_key",
            )
        return seen[1]

    def remember(self, endpoint: str, key: str, body: object, answer: dict[str, Any]) -> None:
        self._answered[(endpoint, key)] = (_digest(body), answer)

    # --- reading ----------------------------------------------------------------------------

    def variation_by_sku(self, sku: str) -> dict[str, Any] | None:
        for obj in self.objects.values():
            data = obj.get("item_variation_data") or {}
            if obj["type"] == "ITEM_VARIATION" and str(data.get("sku", "")).lower() == sku.lower():
                return obj
        return None

    def item_of(self, variation: dict[str, Any]) -> dict[str, Any]:
        return self.objects[variation["item_variation_data"]["item_id"]]

    def quantity(self, sku: str, location_id: str) -> Decimal | None:
        variation = self.variation_by_sku(sku)
        if variation is None:
            return None
        found = self.counts.get((variation["id"], location_id))
        return found[0] if found else None

    def full_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """An object as the API shows it: an item carries its current variations."""
        shown: dict[str, Any] = json.loads(json.dumps(obj))
        if obj["type"] == "ITEM":
            shown["item_data"]["variations"] = [
                json.loads(json.dumps(v))
                for v in self.objects.values()
                if v["type"] == "ITEM_VARIATION"
                and v["item_variation_data"]["item_id"] == obj["id"]
            ]
        return shown

    # --- orders made at the Square till -----------------------------------------------------

    def create_order(
        self,
        lines: list[tuple[str, int]],
        location_id: str | None = None,
        state: str = "COMPLETED",
        customer_id: str | None = None,
    ) -> dict[str, Any]:
        """A sale rung up on Square Point of Sale: line items priced from the catalog, the
        location's counts reduced as Square does for a completed sale. For tests and the demo."""
        with self.lock:
            where = location_id or next(iter(self.locations))
            moment = now_rfc3339(self.tick())
            items = []
            total = 0
            for n, (sku, quantity) in enumerate(lines, start=1):
                variation = self.variation_by_sku(sku)
                if variation is None:
                    raise ValueError(f"no variation has SKU {sku!r}")
                data = variation["item_variation_data"]
                price = int((data.get("price_money") or {}).get("amount", 0))
                items.append(
                    {
                        "uid": f"li-{n}-{new_id()[:8]}",
                        "name": self.item_of(variation)["item_data"].get("name", sku),
                        "quantity": str(quantity),
                        "catalog_object_id": variation["id"],
                        "catalog_version": variation["version"],
                        "variation_name": data.get("name", ""),
                        "item_type": "ITEM",
                        "base_price_money": {"amount": price, "currency": self.currency},
                        "total_tax_money": {"amount": 0, "currency": self.currency},
                        "total_discount_money": {"amount": 0, "currency": self.currency},
                        "total_money": {"amount": price * quantity, "currency": self.currency},
                    }
                )
                total += price * quantity
                if state == "COMPLETED":
                    key = (variation["id"], where)
                    had = self.counts.get(key, (Decimal(0), self._clock))[0]
                    self.counts[key] = (had - quantity, self._clock)
            order: dict[str, Any] = {
                "id": new_id(),
                "location_id": where,
                "source": {"name": "Square Point of Sale"},
                "line_items": items,
                "state": state,
                "version": 1,
                "created_at": moment,
                "updated_at": moment,
                "total_money": {"amount": total, "currency": self.currency},
                "total_tax_money": {"amount": 0, "currency": self.currency},
                "total_discount_money": {"amount": 0, "currency": self.currency},
            }
            if state == "COMPLETED":
                order["closed_at"] = moment
            if customer_id:
                order["customer_id"] = customer_id
            self.orders[order["id"]] = order
            return order
