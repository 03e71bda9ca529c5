"""Inventory's pure model: locations, stock positions and available-to-promise.

No I/O here. The service reads stock rows, hands them to these functions, and writes with
conditional statements; these functions only decide.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: The pool of stock every integrated channel shares; an independent channel's pool is its code.
SHARED_POOL = ""


class LocationKind(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THIRD_PARTY = "3pl"
    DAMAGED = "damaged"


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    RESERVATION = "reservation"
    RELEASE = "release"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    RETURN = "return"
    ALLOCATION = "allocation"


class AlertKind(StrEnum):
    NEGATIVE_STOCK = "negative_stock"
    OVERSOLD = "oversold"
    UNKNOWN_SKU = "unknown_sku"


@dataclass(frozen=True)
class Address:
    line1: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Location:
    id: int
    code: str
    name: str
    kind: LocationKind
    address: Address
    ships: bool
    pickup: bool
    accepts_returns: bool
    priority: int
    safety_stock: int


@dataclass(frozen=True)
class StockPosition:
    """One stock row as the model sees it: a SKU's units in one pool at one location."""

    sku: str
    location_id: int
    on_hand: int
    reserved: int
    safety: int

    @property
    def sellable(self) -> int:
        """Units this row can still promise (never below zero)."""
        return max(0, self.on_hand - self.reserved - self.safety)


def available_to_promise(positions: Iterable[StockPosition], buffer: int = 0) -> int:
    """What a channel may promise of one SKU: its locations' sellable units minus its buffer.

    Never negative, and never more than what exists in those rows.
    """
    total = sum(p.sellable for p in positions)
    return max(0, total - max(0, buffer))


def share_of(on_hand: int, share: float) -> int:
    """Units an allocation share gives a channel's own pool out of ``on_hand`` (rounded down)."""
    if on_hand <= 0 or share <= 0:
        return 0
    return min(on_hand, math.floor(on_hand * min(share, 1.0) + 1e-9))


def haversine_km(a: Address, b: Address) -> float | None:
    """Great-circle distance between two addresses, or None when either lacks coordinates."""
    if a.latitude is None or a.longitude is None or b.latitude is None or b.longitude is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(h)))


def positions_by_sku(positions: Sequence[StockPosition]) -> dict[str, list[StockPosition]]:
    grouped: dict[str, list[StockPosition]] = {}
    for position in positions:
        grouped.setdefault(position.sku, []).append(position)
    return grouped
