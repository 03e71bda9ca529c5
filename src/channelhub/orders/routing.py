"""Fulfilment routing: which locations send which units of an order. Pure.

The rules, in order: a click-and-collect order goes to its pickup store first; otherwise the
best location (by priority, then distance, then the channel's link order) that has the whole
order; otherwise, when the channel allows split shipments, units are taken location by
location in that same order. What cannot be placed is the shortfall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from channelhub.orders.model import DeliveryMethod


@dataclass(frozen=True)
class Site:
    """A location as routing sees it for one order."""

    location_id: int
    ships: bool
    pickup: bool
    priority: int
    link_position: int
    distance_km: float | None
    stock: Mapping[str, int] = field(default_factory=dict)  # sellable units by SKU

    def has(self, demand: Mapping[str, int]) -> bool:
        return all(self.stock.get(sku, 0) >= qty for sku, qty in demand.items())


@dataclass(frozen=True)
class RouteRequest:
    demand: Mapping[str, int]  # units wanted by SKU
    method: DeliveryMethod = DeliveryMethod.SHIP
    pickup_location_id: int | None = None
    split_allowed: bool = True


@dataclass(frozen=True)
class Route:
    allocations: tuple[tuple[int, str, int], ...]  # (location id, sku, units)
    shortfall: Mapping[str, int]

    @property
    def is_complete(self) -> bool:
        return not self.shortfall

    @property
    def location_ids(self) -> set[int]:
        return {loc for loc, _, _ in self.allocations}


def _rank(site: Site) -> tuple[int, float, int, int]:
    distance = site.distance_km if site.distance_km is not None else math.inf
    return (site.priority, distance, site.link_position, site.location_id)


def route_order(request: RouteRequest, sites: Sequence[Site]) -> Route:
    """Where each unit of the order comes from, by the rules above."""
    demand = {sku: qty for sku, qty in request.demand.items() if qty > 0}
    by_id = {s.location_id: s for s in sites}
    pickup = by_id.get(request.pickup_location_id) if request.pickup_location_id else None
    if request.method == DeliveryMethod.IN_STORE:
        if pickup is None:
            return Route((), dict(demand))
        return _take([pickup], demand)
    senders = sorted((s for s in sites if s.ships), key=_rank)
    if request.method == DeliveryMethod.PICKUP and pickup is not None:
        if pickup.has(demand):
            return _whole(pickup, demand)
        senders = [pickup, *(s for s in senders if s.location_id != pickup.location_id)]
    elif request.method == DeliveryMethod.PICKUP:
        return Route((), dict(demand))
    for site in senders:
        if site.has(demand):
            return _whole(site, demand)
    if request.split_allowed:
        return _take(senders, demand)
    return Route((), dict(demand))


def _whole(site: Site, demand: Mapping[str, int]) -> Route:
    return Route(tuple((site.location_id, sku, qty) for sku, qty in sorted(demand.items())), {})


def _take(sites: Sequence[Site], demand: Mapping[str, int]) -> Route:
    remaining = dict(demand)
    allocations: list[tuple[int, str, int]] = []
    for site in sites:
        for sku in sorted(remaining):
            units = min(remaining[sku], max(0, site.stock.get(sku, 0)))
            if units > 0:
                allocations.append((site.location_id, sku, units))
                remaining[sku] -= units
    return Route(tuple(allocations), {sku: qty for sku, qty in remaining.items() if qty > 0})


def forced_route(route: Route, fallback_location_id: int) -> Route:
    """A sale that already happened: the shortfall is placed anyway, at ``fallback_location_id``."""
    extra = tuple((fallback_location_id, sku, qty) for sku, qty in sorted(route.shortfall.items()))
    return Route(route.allocations + extra, {})
