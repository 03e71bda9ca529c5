"""Replay a retailer's sales under the ways channels can share stock, and count what each costs.

Pure: no database, no I/O. ``replay`` takes the opening stock, the channels and a time-ordered
stream of sales and stock receipts, and runs every set-up side by side over that one stream:

- ``full_listing`` (a): each independent channel lists all the stock of its locations and learns
  of the other channels' sales only at its next sync (its own sales it counts at once). It
  accepts what it shows; an accepted line the shelf no longer holds is *oversold* (cancelled).
- ``split`` (b): the stock of shared locations is divided into per-channel shares; a channel
  sells only its share and never oversells, but shows a line gone while another share holds it.
- ``buffered`` (c): ``full_listing`` with the same buffer held back on every synced channel, the
  buffer that costs least of those tried.
- ``integrated`` (d): one pool over every location that ships, seen by every channel after the
  hub's propagation delay, orders routed to one location where one holds the whole order
  (the pickup store first for click-and-collect) and split otherwise.
- ``move:<channel>``: ``full_listing`` with that one channel integrated, to rank which channel
  to move first.

A line that a channel showed as gone is *lost* when the retailer held the units somewhere, and
*no stock* when nobody did (no set-up could have sold it). A line lost only because of a buffer
is *held back*. Money is the line's value at the price it was sold for.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

FULL_LISTING = "full_listing"
SPLIT = "split"
BUFFERED = "buffered"
INTEGRATED = "integrated"
MOVE_PREFIX = "move:"


class Outcome(StrEnum):
    SOLD = "sold"
    OVERSOLD = "oversold"
    LOST = "lost"
    HELD_BACK = "held_back"
    NO_STOCK = "no_stock"


#: Outcomes that cost the retailer money it could have kept.
COSTLY = (Outcome.OVERSOLD, Outcome.LOST, Outcome.HELD_BACK)


@dataclass(frozen=True)
class ChannelPlan:
    """One sales channel as it runs when independent."""

    code: str
    locations: tuple[str, ...]
    #: Minutes between two syncs of its stock (0: it sees the shelf, as a till does).
    sync_minutes: float
    #: Its share of its locations' stock in the split set-up (None: its share of the demand).
    share: float | None = None


@dataclass(frozen=True)
class Place:
    code: str
    ships: bool = True
    pickup: bool = False
    priority: int = 100


@dataclass(frozen=True)
class SaleLine:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Sale:
    reference: str
    channel: str
    at: datetime
    lines: tuple[SaleLine, ...]
    pickup_location: str | None = None
    #: The hub's id of the order, where it came from the hub (to link each figure to it).
    order_id: int | None = None


@dataclass(frozen=True)
class Receipt:
    """Units arriving at (or, negative, leaving) a location for a reason other than a sale."""

    at: datetime
    location: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Scenario:
    channels: tuple[ChannelPlan, ...]
    places: tuple[Place, ...]
    opening_stock: Mapping[tuple[str, str], int]
    start: datetime
    propagation_seconds: float = 5.0
    buffers: tuple[int, ...] = (0, 1, 2, 3, 5)
    oversell_weight: Decimal = Decimal(1)
    sku_groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Affected:
    """One line behind a figure: which order, where, what and what it was worth."""

    reference: str
    channel: str
    sku: str
    quantity: int
    value: Decimal
    at: datetime
    order_id: int | None = None


@dataclass
class Tally:
    orders: int = 0
    lines: int = 0
    units: int = 0
    value: Decimal = Decimal(0)

    def add(self, units: int, value: Decimal) -> None:
        self.lines += 1
        self.units += units
        self.value += value


@dataclass
class SetupResult:
    setup: str
    totals: dict[Outcome, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_channel: dict[str, dict[Outcome, Tally]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Tally))
    )
    by_week: dict[date, dict[Outcome, Tally]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Tally))
    )
    by_group: dict[str, dict[Outcome, Tally]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Tally))
    )
    affected: dict[Outcome, list[Affected]] = field(default_factory=lambda: defaultdict(list))
    split_shipments: int = 0
    split_references: list[str] = field(default_factory=list)
    buffer: int = 0

    def cost(self, oversell_weight: Decimal) -> Decimal:
        """What the set-up lost: oversold value (weighted) plus value lost or held back."""
        return (
            self.totals[Outcome.OVERSOLD].value * oversell_weight
            + self.totals[Outcome.LOST].value
            + self.totals[Outcome.HELD_BACK].value
        )


@dataclass
class Comparison:
    """Every set-up's result over the same history, and what moving each channel would save."""

    setups: dict[str, SetupResult]
    moves: dict[str, Decimal]
    buffer: int
    orders: int
    start: datetime | None
    end: datetime | None


def week_of(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


class _Series:
    """A value over time: ``at(t)`` is the value after the last change at or before ``t``.
    Changes older than ``horizon`` seconds are folded into the base, so memory stays bounded."""

    __slots__ = ("_base", "_horizon", "_times", "_values")

    def __init__(self, value: int, horizon: float) -> None:
        self._base = value
        self._horizon = horizon
        self._times: list[float] = []
        self._values: list[int] = []

    def at(self, moment: float) -> int:
        index = bisect_right(self._times, moment)
        return self._values[index - 1] if index else self._base

    def now(self) -> int:
        return self._values[-1] if self._values else self._base

    def change(self, moment: float, delta: int) -> None:
        self._times.append(moment)
        self._values.append(self.now() + delta)
        if len(self._times) > 64 and self._times[0] < moment - self._horizon:
            cut = bisect_right(self._times, moment - self._horizon)
            if cut:
                self._base = self._values[cut - 1]
                del self._times[:cut], self._values[:cut]


@dataclass(frozen=True)
class _View:
    """How one channel sees stock in one world: over which locations, as of when."""

    pool: tuple[str, ...]
    lag_seconds: float  # for a live view with a propagation delay
    sync_seconds: float  # for a periodic sync (0: not periodic)
    buffer: int
    integrated: bool


class _World:
    """The physical stock and every channel's view of it under one set-up."""

    def __init__(
        self,
        name: str,
        scenario: Scenario,
        views: Mapping[str, _View],
        shares: Mapping[str, float] | None = None,
    ) -> None:
        self.result = SetupResult(name)
        self._scenario = scenario
        self._views = views
        self._origin = scenario.start.timestamp()
        self._priority = {p.code: (p.priority, p.code) for p in scenario.places}
        self._horizon = max(
            [v.sync_seconds for v in views.values()] + [v.lag_seconds for v in views.values()]
        )
        self._stock: dict[tuple[str, str], int] = defaultdict(int, scenario.opening_stock)
        self._total: dict[str, int] = defaultdict(int)
        for (_, sku), units in scenario.opening_stock.items():
            self._total[sku] += units
        self._pools: dict[tuple[str, str], _Series] = {}
        self._own: dict[tuple[str, str], _Series] = {}
        self._pools_of: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for pool in {v.pool for v in views.values()}:
            for location in pool:
                self._pools_of[location].append(pool)
        self._pool_ids = {pool: "|".join(pool) for pool in {v.pool for v in views.values()}}
        self._shares = shares
        self._buckets: dict[tuple[str, str], int] | None = None
        if shares is not None:
            self._buckets = {}
            for (location, sku), units in scenario.opening_stock.items():
                self._share_out(location, sku, units)

    # -- stock --------------------------------------------------------------------------
    def _pool_series(self, pool: tuple[str, ...], sku: str) -> _Series:
        key = (self._pool_ids[pool], sku)
        series = self._pools.get(key)
        if series is None:
            units = sum(self._stock.get((location, sku), 0) for location in pool)
            series = self._pools[key] = _Series(units, self._horizon)
        return series

    def _move(self, moment: float, location: str, sku: str, delta: int) -> None:
        # Each pool's series starts before its first change, so its past stays readable.
        for pool in self._pools_of.get(location, ()):
            self._pool_series(pool, sku).change(moment, delta)
        self._stock[(location, sku)] += delta
        self._total[sku] += delta

    def _share_out(self, location: str, sku: str, units: int) -> None:
        """Divide arriving units among the channels that sell from the location."""
        assert self._buckets is not None and self._shares is not None
        sellers = sorted(c for c, v in self._views.items() if location in v.pool)
        if not sellers:
            return
        weights = [self._shares[c] for c in sellers]
        whole = sum(weights) or 1.0
        parts = [int(units * w / whole) for w in weights]
        rest = units - sum(parts)
        for index in sorted(range(len(sellers)), key=lambda i: (-weights[i], sellers[i])):
            if rest <= 0:
                break
            parts[index] += 1
            rest -= 1
        for channel, part in zip(sellers, parts, strict=True):
            key = (channel, sku)
            self._buckets[key] = self._buckets.get(key, 0) + part

    def receive(self, receipt: Receipt) -> None:
        moment = receipt.at.timestamp()
        self._move(moment, receipt.location, receipt.sku, receipt.quantity)
        if self._buckets is not None:
            self._share_out(receipt.location, receipt.sku, receipt.quantity)

    # -- what a channel shows -----------------------------------------------------------
    def _shown(self, channel: str, view: _View, sku: str, moment: float) -> int:
        if self._buckets is not None:
            return self._buckets.get((channel, sku), 0)
        if view.sync_seconds:
            since = moment - (moment - self._origin) % view.sync_seconds
        else:
            since = moment - view.lag_seconds
        pool = self._pool_series(view.pool, sku)
        shown = pool.at(since) if since < moment else pool.now()
        own = self._own.get((channel, sku))
        if own is not None and since < moment:
            shown -= own.now() - own.at(since)
        return shown

    def _available(self, pool: tuple[str, ...], sku: str) -> int:
        return sum(max(self._stock.get((location, sku), 0), 0) for location in pool)

    # -- a sale ---------------------------------------------------------------------------
    def sell(self, sale: Sale) -> None:
        view = self._views.get(sale.channel)
        if view is None:
            return
        moment = sale.at.timestamp()
        accepted: list[SaleLine] = []
        affected_order: set[Outcome] = set()
        for line in sale.lines:
            shown = self._shown(sale.channel, view, line.sku, moment)
            if shown - view.buffer >= line.quantity:
                accepted.append(line)
                continue
            if self._total[line.sku] < line.quantity:
                outcome = Outcome.NO_STOCK
            elif shown >= line.quantity:
                outcome = Outcome.HELD_BACK
            else:
                outcome = Outcome.LOST
            self._count(sale, line, outcome)
            affected_order.add(outcome)
        if accepted:
            if view.integrated:
                affected_order |= self._route(sale, view, accepted, moment)
            else:
                affected_order |= self._take(sale, view, accepted, moment)
        for outcome in affected_order:
            self.result.totals[outcome].orders += 1
            self.result.by_channel[sale.channel][outcome].orders += 1

    def _take(self, sale: Sale, view: _View, lines: list[SaleLine], moment: float) -> set[Outcome]:
        outcomes: set[Outcome] = set()
        for line in lines:
            if self._buckets is not None:
                key = (sale.channel, line.sku)
                self._buckets[key] = self._buckets.get(key, 0) - line.quantity
            if self._available(view.pool, line.sku) < line.quantity:
                self._count(sale, line, Outcome.OVERSOLD)
                outcomes.add(Outcome.OVERSOLD)
                continue
            self._deduct(view.pool, line, moment)
            self._own_sale(sale.channel, line, moment)
            self._count(sale, line, Outcome.SOLD)
            outcomes.add(Outcome.SOLD)
        return outcomes

    def _route(self, sale: Sale, view: _View, lines: list[SaleLine], moment: float) -> set[Outcome]:
        """The hub's routing: the pickup store, else one location holding the whole order by
        priority, else split over locations; lines nobody holds are oversold."""
        places = sorted(view.pool, key=self._priority.__getitem__)
        if sale.pickup_location and sale.pickup_location in self._priority:
            places = [sale.pickup_location, *[p for p in places if p != sale.pickup_location]]
        whole = next(
            (
                place
                for place in places
                if all(self._stock.get((place, ln.sku), 0) >= ln.quantity for ln in lines)
            ),
            None,
        )
        used: set[str] = set()
        outcomes: set[Outcome] = set()
        for line in lines:
            pool = (whole,) if whole is not None else tuple(places)
            if self._available(pool, line.sku) < line.quantity:
                self._count(sale, line, Outcome.OVERSOLD)
                outcomes.add(Outcome.OVERSOLD)
                continue
            used |= self._deduct(pool, line, moment)
            self._own_sale(sale.channel, line, moment)
            self._count(sale, line, Outcome.SOLD)
            outcomes.add(Outcome.SOLD)
        if len(used) > 1:
            self.result.split_shipments += 1
            self.result.split_references.append(sale.reference)
        return outcomes

    def _deduct(self, pool: Iterable[str], line: SaleLine, moment: float) -> set[str]:
        left = line.quantity
        used: set[str] = set()
        for location in sorted(pool, key=self._priority.__getitem__):
            here = self._stock.get((location, line.sku), 0)
            if here <= 0:
                continue
            taken = min(here, left)
            self._move(moment, location, line.sku, -taken)
            used.add(location)
            left -= taken
            if not left:
                break
        return used

    def _own_sale(self, channel: str, line: SaleLine, moment: float) -> None:
        key = (channel, line.sku)
        series = self._own.get(key)
        if series is None:
            series = self._own[key] = _Series(0, self._horizon)
        series.change(moment, line.quantity)

    def _count(self, sale: Sale, line: SaleLine, outcome: Outcome) -> None:
        value = line.unit_price * line.quantity
        result = self.result
        result.totals[outcome].add(line.quantity, value)
        result.by_channel[sale.channel][outcome].add(line.quantity, value)
        result.by_week[week_of(sale.at)][outcome].add(line.quantity, value)
        group = self._scenario.sku_groups.get(line.sku, "other")
        result.by_group[group][outcome].add(line.quantity, value)
        if outcome is not Outcome.SOLD:
            result.affected[outcome].append(
                Affected(
                    sale.reference,
                    sale.channel,
                    line.sku,
                    line.quantity,
                    value,
                    sale.at,
                    sale.order_id,
                )
            )


def _independent_views(scenario: Scenario, buffer: int = 0) -> dict[str, _View]:
    return {
        c.code: _View(
            pool=tuple(sorted(c.locations)),
            lag_seconds=0.0,
            sync_seconds=c.sync_minutes * 60,
            buffer=buffer if c.sync_minutes else 0,
            integrated=False,
        )
        for c in scenario.channels
    }


def _integrated_view(scenario: Scenario, channel: ChannelPlan) -> _View:
    if not channel.sync_minutes:  # a till sells what its own store holds
        return _View(tuple(sorted(channel.locations)), 0.0, 0.0, 0, False)
    shipping = tuple(sorted(p.code for p in scenario.places if p.ships or p.pickup))
    return _View(shipping, scenario.propagation_seconds, 0.0, 0, True)


def _demand_shares(scenario: Scenario, sales: list[Sale]) -> dict[str, float]:
    units: dict[str, float] = {c.code: 0.0 for c in scenario.channels}
    for sale in sales:
        if sale.channel in units:
            units[sale.channel] += sum(line.quantity for line in sale.lines)
    fallback = 1.0 / max(len(units), 1)
    return {
        c.code: c.share if c.share is not None else (units[c.code] or fallback)
        for c in scenario.channels
    }


def replay(
    scenario: Scenario,
    events: Iterable[Sale | Receipt],
    shares: Mapping[str, float] | None = None,
) -> Comparison:
    """Run every set-up over the same time-ordered stream of sales and receipts.

    ``shares`` gives the split set-up's shares; without it they are each channel's share of the
    demand, which needs the sales in hand first (the stream is then read into memory)."""
    if shares is None:
        events = list(events)
        shares = _demand_shares(scenario, [e for e in events if isinstance(e, Sale)])
    worlds = [
        _World(FULL_LISTING, scenario, _independent_views(scenario)),
        _World(SPLIT, scenario, _independent_views(scenario), shares=shares),
        _World(
            INTEGRATED,
            scenario,
            {c.code: _integrated_view(scenario, c) for c in scenario.channels},
        ),
    ]
    buffered = [
        _World(f"{BUFFERED}:{b}", scenario, _independent_views(scenario, b))
        for b in scenario.buffers
    ]
    moves = []
    for channel in scenario.channels:
        if channel.sync_minutes:
            views = _independent_views(scenario)
            views[channel.code] = _integrated_view(scenario, channel)
            moves.append(_World(MOVE_PREFIX + channel.code, scenario, views))
    everyone = worlds + buffered + moves
    orders = 0
    first: datetime | None = None
    last: datetime | None = None
    for event in events:
        if isinstance(event, Sale):
            orders += 1
            first = first or event.at
            last = event.at
            for world in everyone:
                world.sell(event)
        else:
            for world in everyone:
                world.receive(event)
    weight = scenario.oversell_weight
    setups = {w.result.setup: w.result for w in worlds + moves}
    # min() keeps the first of equal costs: the smallest buffer tried
    best = min(buffered, key=lambda w: w.result.cost(weight), default=None)
    buffer = 0
    if best is not None:
        buffer = int(best.result.setup.split(":", 1)[1])
        best.result.setup = BUFFERED
        best.result.buffer = buffer
        setups[BUFFERED] = best.result
    baseline = setups[FULL_LISTING].cost(weight)
    saved = {
        name.removeprefix(MOVE_PREFIX): baseline - result.cost(weight)
        for name, result in setups.items()
        if name.startswith(MOVE_PREFIX)
    }
    return Comparison(setups, saved, buffer, orders, first, last)
