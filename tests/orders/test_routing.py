"""Routing rules, by example and as properties (Hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channelhub.orders.model import DeliveryMethod
from channelhub.orders.routing import RouteRequest, Site, route_order

SKUS = ("A", "B", "C")


def site(location_id: int, priority: int = 10, distance: float | None = None, **stock: int) -> Site:
    return Site(location_id, True, True, priority, location_id, distance, stock)


def test_the_pickup_store_comes_first_when_it_has_everything() -> None:
    sites = [site(1, priority=1, A=5), site(2, priority=50, A=1)]
    route = route_order(RouteRequest({"A": 1}, DeliveryMethod.PICKUP, 2), sites)
    assert route.allocations == ((2, "A", 1),)


def test_a_ship_order_goes_to_the_best_location_with_the_whole_order() -> None:
    sites = [site(1, priority=1, A=5), site(2, priority=1, A=5, B=5), site(3, priority=5, A=9, B=9)]
    route = route_order(RouteRequest({"A": 2, "B": 1}), sites)
    assert route.location_ids == {2} and route.is_complete


def test_nearest_wins_between_equal_priorities() -> None:
    sites = [site(1, distance=80.0, A=5), site(2, distance=5.0, A=5)]
    assert route_order(RouteRequest({"A": 1}), sites).location_ids == {2}


def test_split_only_when_allowed() -> None:
    sites = [site(1, A=1), site(2, A=1)]
    assert route_order(RouteRequest({"A": 2}, split_allowed=False), sites).shortfall == {"A": 2}
    split = route_order(RouteRequest({"A": 2}), sites)
    assert split.is_complete and split.location_ids == {1, 2}


def test_locations_that_do_not_ship_are_not_used_for_delivery() -> None:
    sites = [Site(1, False, True, 1, 0, None, {"A": 9}), site(2, A=0)]
    assert route_order(RouteRequest({"A": 1}), sites).shortfall == {"A": 1}


stock = st.dictionaries(st.sampled_from(SKUS), st.integers(-3, 6))
sites_strategy = st.lists(
    st.builds(
        Site,
        location_id=st.integers(1, 50),
        ships=st.booleans(),
        pickup=st.booleans(),
        priority=st.integers(0, 3),
        link_position=st.integers(0, 5),
        distance_km=st.none() | st.floats(0, 500),
        stock=stock,
    ),
    max_size=5,
    unique_by=lambda s: s.location_id,
)
requests = st.builds(
    RouteRequest,
    demand=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 6), min_size=1),
    method=st.sampled_from([DeliveryMethod.SHIP, DeliveryMethod.PICKUP]),
    pickup_location_id=st.none() | st.integers(1, 50),
    split_allowed=st.booleans(),
)


@given(requests, sites_strategy)
def test_a_route_places_exactly_the_demand_within_stock(
    request: RouteRequest, sites: list[Site]
) -> None:
    route = route_order(request, sites)
    by_id = {s.location_id: s for s in sites}
    placed: dict[str, int] = {}
    used: dict[tuple[int, str], int] = {}
    for location_id, sku, units in route.allocations:
        assert units > 0
        placed[sku] = placed.get(sku, 0) + units
        used[(location_id, sku)] = used.get((location_id, sku), 0) + units
    for (location_id, sku), units in used.items():
        assert units <= max(0, by_id[location_id].stock.get(sku, 0)), "never more than is there"
    for sku, wanted in request.demand.items():
        assert placed.get(sku, 0) + route.shortfall.get(sku, 0) == wanted
    if not request.split_allowed:
        assert len(route.location_ids) <= 1 or request.method == DeliveryMethod.PICKUP


@given(requests, sites_strategy)
def test_an_order_one_location_can_fill_is_never_split(
    request: RouteRequest, sites: list[Site]
) -> None:
    route = route_order(request, sites)
    # A shipment comes from a location that ships; a pickup order may also take its pickup
    # store's own stock (a pickup location on a shipping order is not a source).
    collects = request.method == DeliveryMethod.PICKUP
    eligible = [
        s for s in sites if s.ships or (collects and s.location_id == request.pickup_location_id)
    ]
    if request.method == DeliveryMethod.PICKUP and request.pickup_location_id not in {
        s.location_id for s in sites
    }:
        return
    if any(s.has(request.demand) for s in eligible):
        assert route.is_complete and len(route.location_ids) == 1
