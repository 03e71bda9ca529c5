"""Placing orders on stock: plan every order of a batch on stock rows locked in id order, then
reserve with one conditional UPDATE per stock row for the batch's total on that row.

The rows an order batch may touch are read ``FOR UPDATE`` in id order (on SQLite the
transaction already holds the write lock), so the plan is exact and concurrent batches never
deadlock. The conditional UPDATE stays the guard: if any row could not give its total, the
batch raises ``StockMoved`` and the caller retries it on fresh numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from channelhub.catalog.snapshot import Channel
from channelhub.core.bulk import insert_rows
from channelhub.core.database import utcnow
from channelhub.inventory import reserving
from channelhub.inventory import store as stock_store
from channelhub.inventory.model import Address, Location, MovementKind, haversine_km
from channelhub.inventory.service import (
    ChannelStockSettings,
    ShortagePolicy,
    announce,
    channel_settings,
    location_from_row,
    pool_of,
)
from channelhub.inventory.store import Movement
from channelhub.orders.model import DeliveryMethod, OrderInput, OrderStatus, is_sale_already_made
from channelhub.orders.routing import Route, RouteRequest, Site, forced_route, route_order

S = OrderStatus


class StockMoved(Exception):
    """A conditional reservation found less than the plan assumed: plan again."""


@dataclass(frozen=True)
class Step:
    before: OrderStatus | None
    after: OrderStatus
    note: str = ""


@dataclass
class Placement:
    """One order's plan: the statuses it passes and the units it takes where."""

    order: OrderInput
    channel: Channel
    pickup_id: int | None
    steps: list[Step]
    reserve: list[tuple[int, str, int, int]] = field(default_factory=list)  # line, sku, loc, qty
    force: list[tuple[int, str, int, int]] = field(default_factory=list)
    flag: str = ""

    @property
    def status(self) -> OrderStatus:
        return self.steps[-1].after


_RESERVE = (
    update(stock_store.stock_levels)
    .where(
        stock_store.stock_levels.c.id == bindparam("row_id"),
        stock_store.stock_levels.c.on_hand
        - stock_store.stock_levels.c.reserved
        - stock_store.stock_levels.c.safety
        >= bindparam("units"),
    )
    .values(
        reserved=stock_store.stock_levels.c.reserved + bindparam("units"),
        updated_at=bindparam("now"),
    )
)

_FORCE = (
    update(stock_store.stock_levels)
    .where(stock_store.stock_levels.c.id == bindparam("row_id"))
    .values(
        reserved=stock_store.stock_levels.c.reserved + bindparam("units"),
        updated_at=bindparam("now"),
    )
)


class Planner:
    """Plans a batch of orders on one locked picture of the stock they may use."""

    def __init__(
        self, conn: Connection, orders: Sequence[tuple[OrderInput, Channel, int | None]]
    ) -> None:
        self.conn = conn
        channels = {channel.id: channel for _, channel, _ in orders}
        self.settings: dict[int, ChannelStockSettings] = {
            cid: channel_settings(conn, cid) for cid in channels
        }
        self.links: dict[int, list[Location]] = {cid: [] for cid in channels}
        self.places: dict[int, Location] = {}
        c, loc, s = (
            stock_store.channel_locations.c,
            stock_store.locations.c,
            stock_store.stock_levels.c,
        )
        rows = conn.execute(
            select(stock_store.locations, c.channel_id)
            .join_from(
                stock_store.locations, stock_store.channel_locations, c.location_id == loc.id
            )
            .where(c.channel_id.in_(list(channels)))
            .order_by(c.channel_id, c.position)
        )
        for row in rows:
            place = location_from_row(row)
            self.places[place.id] = place
            self.links[row.channel_id].append(place)
        pickups = {p for _, _, p in orders if p is not None} - self.places.keys()
        if pickups:
            for row in conn.execute(select(stock_store.locations).where(loc.id.in_(pickups))):
                self.places[row.id] = location_from_row(row)
        skus = sorted({line.sku for order, _, _ in orders for line in order.lines})
        pools = sorted({pool_of(channel) for channel in channels.values()})
        self.rows: dict[tuple[str, int, str], list[int]] = {}  # key -> [row id, sellable]
        if self.places and skus:
            locked = conn.execute(
                select(s.id, s.sku, s.location_id, s.pool, s.on_hand - s.reserved - s.safety)
                .where(s.sku.in_(skus), s.location_id.in_(sorted(self.places)), s.pool.in_(pools))
                .order_by(s.id)
                .with_for_update()
            )
            for row_id, sku, location_id, pool, sellable in locked:
                self.rows[(sku, location_id, pool)] = [row_id, sellable]

    def _sellable(self, sku: str, location_id: int, pool: str) -> int:
        found = self.rows.get((sku, location_id, pool))
        return max(0, found[1]) if found else 0

    def _take(self, sku: str, location_id: int, pool: str, units: int) -> None:
        found = self.rows.get((sku, location_id, pool))
        if found is not None:
            found[1] -= units

    def plan(
        self, order: OrderInput, channel: Channel, pickup_id: int | None, current: OrderStatus
    ) -> Placement:
        """Decide the order's fate on the stock left by the orders planned before it."""
        placement = Placement(order, channel, pickup_id, [])
        pool = pool_of(channel)
        if order.delivery_method == DeliveryMethod.IN_STORE:
            assert pickup_id is not None
            for i, line in enumerate(order.lines):
                self._take(line.sku, pickup_id, pool, line.quantity)
                placement.force.append((i, line.sku, pickup_id, line.quantity))
            placement.steps.append(Step(current, S.COLLECTED, "sold at the till"))
            return placement
        settings = self.settings[channel.id]
        demand: dict[str, int] = {}
        for line in order.lines:
            demand[line.sku] = demand.get(line.sku, 0) + line.quantity
        places = list(self.links[channel.id])
        if pickup_id is not None and all(p.id != pickup_id for p in places):
            places.append(self.places[pickup_id])
        to = Address(
            latitude=order.shipping_address.latitude, longitude=order.shipping_address.longitude
        )
        sites = [
            Site(
                place.id,
                place.ships,
                place.pickup,
                place.priority,
                i,
                haversine_km(place.address, to),
                {sku: self._sellable(sku, place.id, pool) for sku in demand},
            )
            for i, place in enumerate(places)
        ]
        request = RouteRequest(demand, order.delivery_method, pickup_id, settings.split_allowed)
        route = route_order(request, sites)
        forced: Route | None = None
        if not route.is_complete and is_sale_already_made(order, channel.kind.value):
            fallback = _fallback(request, sites)
            if fallback is not None:
                whole = forced_route(route, fallback)
                forced = Route(whole.allocations[len(route.allocations) :], {})
                placement.flag = "sold beyond stock: " + _units(route.shortfall)
                route = Route(route.allocations, {})
        if not route.is_complete:
            target = (
                S.REJECTED if settings.shortage_policy == ShortagePolicy.REJECT else S.BACKORDERED
            )
            placement.steps.append(Step(current, target, f"short: {_units(route.shortfall)}"))
            return placement
        placement.reserve = _spread(route, order)
        for _, sku, location_id, units in placement.reserve:
            self._take(sku, location_id, pool, units)
        if forced is not None:
            done: dict[int, int] = {}
            for i, _, _, units in placement.reserve:
                done[i] = done.get(i, 0) + units
            placement.force = _spread(forced, order, done)
            for _, sku, location_id, units in placement.force:
                self._take(sku, location_id, pool, units)
        placement.steps.append(Step(current, S.RESERVED, placement.flag))
        placement.steps.append(
            Step(
                S.RESERVED,
                S.ROUTED,
                f"routed to {len({a[2] for a in placement.reserve + placement.force})} location(s)",
            )
        )
        return placement

    def apply(self, placements: Sequence[tuple[Placement, int, Sequence[int]]], actor: str) -> None:
        """Reserve (or sell) what the placements decided; ``(placement, order id, line ids)``."""
        conn = self.conn
        now = utcnow()
        wanted = {
            (sku, loc, pool_of(p.channel))
            for p, _, _ in placements
            for _, sku, loc, _ in p.reserve + p.force
        }
        missing = [k for k in wanted if k not in self.rows]
        if missing:
            for key, row_id in stock_store.ensure_stock_rows(conn, missing).items():
                self.rows[key] = [row_id, 0]
        reserve_totals: dict[int, int] = {}
        force_totals: dict[int, int] = {}
        movements: list[Movement] = []
        holds: list[dict[str, object]] = []
        touched: dict[str, set[int]] = {}
        sales: list[tuple[str, str, int, int, str]] = []
        for p, order_id, line_ids in placements:
            pool = pool_of(p.channel)
            source = f"order:{order_id}"
            if p.order.delivery_method == DeliveryMethod.IN_STORE:
                sales.extend((pool, sku, loc, units, source) for _, sku, loc, units in p.force)
                continue
            for forced, entries in ((False, p.reserve), (True, p.force)):
                per_row: dict[int, int] = {}
                for i, sku, loc, units in entries:
                    row_id = self.rows[(sku, loc, pool)][0]
                    per_row[row_id] = per_row.get(row_id, 0) + units
                    holds.append(
                        {
                            "stock_level_id": row_id,
                            "quantity": units,
                            "order_id": order_id,
                            "order_line_id": line_ids[i],
                            "cart": None,
                            "expires_at": None,
                            "status": reserving.ACTIVE,
                            "forced": forced,
                            "created_at": now,
                        }
                    )
                    touched.setdefault(sku, set()).add(loc)
                totals = force_totals if forced else reserve_totals
                for row_id, units in per_row.items():
                    totals[row_id] = totals.get(row_id, 0) + units
                    movements.append(
                        Movement(
                            row_id,
                            MovementKind.RESERVATION.value,
                            0,
                            units,
                            "order",
                            source,
                            forced,
                        )
                    )
        if reserve_totals:
            params = [
                {"row_id": row_id, "units": units, "now": now}
                for row_id, units in sorted(reserve_totals.items())
            ]
            if conn.execute(_RESERVE, params).rowcount != len(params):
                raise StockMoved
        if force_totals:
            conn.execute(
                _FORCE,
                [
                    {"row_id": row_id, "units": units, "now": now}
                    for row_id, units in sorted(force_totals.items())
                ],
            )
            reserving.flag_oversold(conn, sorted(force_totals), "orders")
        if holds:
            insert_rows(conn, stock_store.reservations, holds)
        stock_store.write_ledger(conn, movements)
        if touched:
            announce(conn, touched, "reservation")
        for pool, sku, loc, units, source in sales:
            reserving.record_sale(conn, pool, sku, loc, units, source)


def _units(shortfall: Mapping[str, int]) -> str:
    items = sorted(shortfall.items())
    return ", ".join(f"{qty} x {sku}" for sku, qty in items)


def _fallback(request: RouteRequest, sites: Sequence[Site]) -> int | None:
    if request.pickup_location_id is not None:
        return request.pickup_location_id
    senders = [s for s in sites if s.ships] or list(sites)
    if not senders:
        return None
    return min(senders, key=lambda s: (s.priority, s.link_position, s.location_id)).location_id


def _spread(
    route: Route, order: OrderInput, already: dict[int, int] | None = None
) -> list[tuple[int, str, int, int]]:
    """Spread the route's units by SKU over the order's lines, first line first."""
    remaining = [line.quantity - (already or {}).get(i, 0) for i, line in enumerate(order.lines)]
    result: list[tuple[int, str, int, int]] = []
    for location_id, sku, units in route.allocations:
        for i, line in enumerate(order.lines):
            if units == 0:
                break
            if line.sku != sku or remaining[i] <= 0:
                continue
            take = min(units, remaining[i])
            result.append((i, sku, location_id, take))
            remaining[i] -= take
            units -= take
    return result
