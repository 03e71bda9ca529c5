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

import multiprocessing
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

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
    #: Decimal places of the money figures (the currency's digits).
    currency_digits: int = 2


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


@dataclass
class SetupResult:
    setup: str
    # Each breakdown's inner table gives an empty Tally for an outcome that never happened.
    totals: dict[Outcome, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_channel: dict[str, dict[Outcome, Tally]] = field(default_factory=dict)
    by_week: dict[date, dict[Outcome, Tally]] = field(default_factory=dict)
    by_group: dict[str, dict[Outcome, Tally]] = field(default_factory=dict)
    #: The lines behind each figure, the first ``keep_lines`` of each outcome.
    affected: dict[Outcome, list[Affected]] = field(default_factory=dict)
    split_shipments: int = 0
    split_references: list[str] = field(default_factory=list)
    buffer: int = 0

    def figure(self, outcome: Outcome) -> Tally:
        return self.totals.get(outcome) or Tally()

    def cost(self, oversell_weight: Decimal) -> Decimal:
        """What the set-up lost: oversold value (weighted) plus value lost or held back."""
        return (
            self.figure(Outcome.OVERSOLD).value * oversell_weight
            + self.figure(Outcome.LOST).value
            + self.figure(Outcome.HELD_BACK).value
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


#: Line values are counted as integers of 1/10,000 of the currency unit: exact for every
#: currency's digits, and far cheaper to add up than Decimals, millions of times over.
_SCALE = 10_000
_OUTCOMES = tuple(Outcome)
_SOLD, _OVERSOLD, _LOST, _HELD_BACK, _NO_STOCK = range(5)


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
        times = self._times
        times.append(moment)
        values = self._values
        values.append((values[-1] if values else self._base) + delta)
        if len(times) > 64 and times[0] < moment - self._horizon:
            cut = bisect_right(times, moment - self._horizon)
            if cut:
                self._base = values[cut - 1]
                del times[:cut], values[:cut]


@dataclass(frozen=True)
class _View:
    """How one channel sees stock in one world: over which locations, as of when."""

    pool: tuple[str, ...]  # by priority
    lag_seconds: float  # for a live view with a propagation delay
    sync_seconds: float  # for a periodic sync (0: not periodic)
    buffer: int
    integrated: bool


#: A sale prepared once for every world: the sale, its time in seconds, its week, and each
#: line as (sku, quantity, scaled value, group).
_Line = tuple[str, int, int, str]


class _World:
    """The physical stock and every channel's view of it under one set-up."""

    def __init__(
        self,
        name: str,
        scenario: Scenario,
        views: Mapping[str, _View],
        keep_lines: int | None,
        shares: Mapping[str, float] | None = None,
    ) -> None:
        self.name = name
        self.split_shipments = 0
        self.split_references: list[str] = []
        self._views = views
        self._keep = keep_lines
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
        pools = {v.pool for v in views.values()}
        self._pool_ids = {pool: "|".join(pool) for pool in pools}
        self._members: dict[str, tuple[str, ...]] = {}
        # Only pools that some channel sees late keep a history; split shares keep none.
        late = (
            {v.pool for v in views.values() if v.sync_seconds or v.lag_seconds}
            if shares is None
            else set()
        )
        self._pools_of: dict[str, list[str]] = defaultdict(list)
        for pool in pools:
            self._members[self._pool_ids[pool]] = pool
            if pool in late:
                for location in pool:
                    self._pools_of[location].append(self._pool_ids[pool])
        # (channel, week ordinal, group, outcome) -> [lines, units, scaled value]
        self._cells: dict[tuple[str, int, str, int], list[int]] = {}
        self._orders: dict[tuple[str, int], int] = defaultdict(int)
        self._kept: dict[int, list[tuple[Sale, int]]] = defaultdict(list)
        self._shares = shares
        self._sellers_of: dict[str, tuple[tuple[str, ...], tuple[float, ...], list[int]]] = {}
        self._buckets: dict[tuple[str, str], int] | None = None
        if shares is not None:
            self._buckets = {}
            for (location, sku), units in scenario.opening_stock.items():
                self._share_out(location, sku, units)

    # -- stock --------------------------------------------------------------------------
    def _pool_series(self, pool_id: str, sku: str) -> _Series:
        key = (pool_id, sku)
        series = self._pools.get(key)
        if series is None:
            stock = self._stock
            units = sum(stock.get((location, sku), 0) for location in self._members[pool_id])
            series = self._pools[key] = _Series(units, self._horizon)
        return series

    def _move(self, moment: float, location: str, sku: str, delta: int) -> None:
        # Each pool's series starts before its first change, so its past stays readable.
        series_of = self._pools
        for pool_id in self._pools_of.get(location, ()):
            series = series_of.get((pool_id, sku))
            if series is None:
                series = self._pool_series(pool_id, sku)
            series.change(moment, delta)
        self._stock[(location, sku)] += delta
        self._total[sku] += delta

    def _sellers(self, location: str) -> tuple[tuple[str, ...], tuple[float, ...], list[int]]:
        """The channels selling from a location, their shares, and who gets a remainder first."""
        found = self._sellers_of.get(location)
        if found is None:
            assert self._shares is not None
            sellers = tuple(sorted(c for c, v in self._views.items() if location in v.pool))
            raw = [self._shares.get(c, 0.0) for c in sellers]
            whole = sum(raw) or 1.0
            weights = tuple(w / whole for w in raw)
            order = sorted(range(len(sellers)), key=lambda i: (-weights[i], sellers[i]))
            found = self._sellers_of[location] = (sellers, weights, order)
        return found

    def _share_out(self, location: str, sku: str, units: int) -> None:
        """Divide arriving units among the channels that sell from the location (largest
        remainder to the largest share)."""
        assert self._buckets is not None
        sellers, weights, order = self._sellers(location)
        if not sellers:
            return
        parts = [int(units * w) for w in weights]
        rest = units - sum(parts)
        for index in order:
            if rest <= 0:
                break
            parts[index] += 1
            rest -= 1
        buckets = self._buckets
        for channel, part in zip(sellers, parts, strict=True):
            key = (channel, sku)
            buckets[key] = buckets.get(key, 0) + part

    def receive(self, receipt: Receipt, moment: float) -> None:
        self._move(moment, receipt.location, receipt.sku, receipt.quantity)
        if self._buckets is not None:
            self._share_out(receipt.location, receipt.sku, receipt.quantity)

    def _available(self, pool: tuple[str, ...], sku: str) -> int:
        stock = self._stock
        return sum(max(stock.get((location, sku), 0), 0) for location in pool)

    # -- a sale ---------------------------------------------------------------------------
    def sell(self, sale: Sale, moment: float, week: int, lines: tuple[_Line, ...]) -> None:
        channel = sale.channel
        view = self._views.get(channel)
        if view is None:
            return
        buckets = self._buckets
        if view.sync_seconds:
            since = moment - (moment - self._origin) % view.sync_seconds
        else:
            since = moment - view.lag_seconds
        stale = since < moment
        pool_id = self._pool_ids[view.pool]
        accepted: list[int] = []
        outcomes: set[int] = set()
        for index, (sku, quantity, _, _) in enumerate(lines):
            if buckets is not None:
                shown = buckets.get((channel, sku), 0)
            elif stale:
                pool = self._pools.get((pool_id, sku)) or self._pool_series(pool_id, sku)
                shown = pool.at(since)
                own = self._own.get((channel, sku))
                if own is not None:
                    shown -= own.now() - own.at(since)
            else:
                shown = self._available(view.pool, sku)
            if shown - view.buffer >= quantity:
                accepted.append(index)
                continue
            if self._total[sku] < quantity:
                outcome = _NO_STOCK
            elif shown >= quantity:
                outcome = _HELD_BACK
            else:
                outcome = _LOST
            self._count(sale, week, lines, index, outcome)
            outcomes.add(outcome)
        if accepted:
            if view.integrated:
                outcomes |= self._route(sale, view, week, lines, accepted, moment)
            else:
                outcomes |= self._take(sale, view, week, lines, accepted, moment)
        for outcome in outcomes:
            self._orders[(channel, outcome)] += 1

    def _take(
        self,
        sale: Sale,
        view: _View,
        week: int,
        lines: tuple[_Line, ...],
        accepted: list[int],
        moment: float,
    ) -> set[int]:
        outcomes: set[int] = set()
        for index in accepted:
            sku, quantity = lines[index][0], lines[index][1]
            if self._buckets is not None:
                key = (sale.channel, sku)
                self._buckets[key] = self._buckets.get(key, 0) - quantity
            if self._available(view.pool, sku) < quantity:
                self._count(sale, week, lines, index, _OVERSOLD)
                outcomes.add(_OVERSOLD)
                continue
            self._deduct(view.pool, sku, quantity, moment)
            if view.sync_seconds or view.lag_seconds:
                self._own_sale(sale.channel, sku, quantity, moment)
            self._count(sale, week, lines, index, _SOLD)
            outcomes.add(_SOLD)
        return outcomes

    def _route(
        self,
        sale: Sale,
        view: _View,
        week: int,
        lines: tuple[_Line, ...],
        accepted: list[int],
        moment: float,
    ) -> set[int]:
        """The hub's routing: the pickup store, else one location holding the whole order by
        priority, else split over locations; lines nobody holds are oversold."""
        places = view.pool
        if sale.pickup_location and sale.pickup_location in self._priority:
            places = (sale.pickup_location, *[p for p in places if p != sale.pickup_location])
        stock = self._stock
        whole = next(
            (
                place
                for place in places
                if all(stock.get((place, lines[i][0]), 0) >= lines[i][1] for i in accepted)
            ),
            None,
        )
        used: set[str] = set()
        outcomes: set[int] = set()
        for index in accepted:
            sku, quantity = lines[index][0], lines[index][1]
            pool = (whole,) if whole is not None else places
            if self._available(pool, sku) < quantity:
                self._count(sale, week, lines, index, _OVERSOLD)
                outcomes.add(_OVERSOLD)
                continue
            used |= self._deduct(pool, sku, quantity, moment)
            if view.sync_seconds or view.lag_seconds:
                self._own_sale(sale.channel, sku, quantity, moment)
            self._count(sale, week, lines, index, _SOLD)
            outcomes.add(_SOLD)
        if len(used) > 1:
            self.split_shipments += 1
            self.split_references.append(sale.reference)
        return outcomes

    def _deduct(self, pool: tuple[str, ...], sku: str, quantity: int, moment: float) -> set[str]:
        left = quantity
        used: set[str] = set()
        for location in pool:  # by priority
            here = self._stock.get((location, sku), 0)
            if here <= 0:
                continue
            taken = min(here, left)
            self._move(moment, location, sku, -taken)
            used.add(location)
            left -= taken
            if not left:
                break
        return used

    def _own_sale(self, channel: str, sku: str, quantity: int, moment: float) -> None:
        key = (channel, sku)
        series = self._own.get(key)
        if series is None:
            series = self._own[key] = _Series(0, self._horizon)
        series.change(moment, quantity)

    def _count(
        self, sale: Sale, week: int, lines: tuple[_Line, ...], index: int, outcome: int
    ) -> None:
        _, quantity, scaled, group = lines[index]
        key = (sale.channel, week, group, outcome)
        cell = self._cells.get(key)
        if cell is None:
            self._cells[key] = [1, quantity, scaled]
        else:
            cell[0] += 1
            cell[1] += quantity
            cell[2] += scaled
        if outcome != _SOLD:
            kept = self._kept[outcome]
            if self._keep is None or len(kept) < self._keep:
                kept.append((sale, index))

    # -- the figures ----------------------------------------------------------------------
    def result(self, digits: int) -> SetupResult:
        unit = Decimal(1).scaleb(-digits)

        def money(scaled: int) -> Decimal:
            return (Decimal(scaled) / _SCALE).quantize(unit)

        result = SetupResult(self.name)
        totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        channels: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        weeks: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        groups: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        for (channel, week, group, outcome), counts in self._cells.items():
            for cell in (
                totals[outcome],
                channels[(channel, outcome)],
                weeks[(week, outcome)],
                groups[(group, outcome)],
            ):
                for i in range(3):
                    cell[i] += counts[i]

        def tally(counts: list[int]) -> Tally:
            return Tally(0, counts[0], counts[1], money(counts[2]))

        for outcome, counts in totals.items():
            result.totals[_OUTCOMES[outcome]] = tally(counts)
        for (channel, outcome), counts in channels.items():
            result.by_channel.setdefault(channel, defaultdict(Tally))[_OUTCOMES[outcome]] = tally(
                counts
            )
        for (week, outcome), counts in sorted(weeks.items()):
            result.by_week.setdefault(date.fromordinal(week), defaultdict(Tally))[
                _OUTCOMES[outcome]
            ] = tally(counts)
        for (group, outcome), counts in groups.items():
            result.by_group.setdefault(group, defaultdict(Tally))[_OUTCOMES[outcome]] = tally(
                counts
            )
        for (channel, outcome), orders in self._orders.items():
            kind = _OUTCOMES[outcome]
            result.totals[kind].orders += orders
            result.by_channel.setdefault(channel, defaultdict(Tally))[kind].orders = orders
        for outcome, kept in self._kept.items():
            result.affected[_OUTCOMES[outcome]] = [
                Affected(
                    sale.reference,
                    sale.channel,
                    sale.lines[index].sku,
                    sale.lines[index].quantity,
                    money(_scaled(sale.lines[index])),
                    sale.at,
                    sale.order_id,
                )
                for sale, index in kept
            ]
        result.split_shipments = self.split_shipments
        result.split_references = self.split_references
        return result


def _scaled(line: SaleLine) -> int:
    return int(line.unit_price * line.quantity * _SCALE)


def _independent_views(scenario: Scenario, buffer: int = 0) -> dict[str, _View]:
    priority = {p.code: (p.priority, p.code) for p in scenario.places}
    return {
        c.code: _View(
            pool=tuple(sorted(c.locations, key=lambda code: priority.get(code, (100, code)))),
            lag_seconds=0.0,
            sync_seconds=c.sync_minutes * 60,
            buffer=buffer if c.sync_minutes else 0,
            integrated=False,
        )
        for c in scenario.channels
    }


def _integrated_view(scenario: Scenario, channel: ChannelPlan) -> _View:
    if not channel.sync_minutes:  # a till sells what its own store holds
        return _independent_views(scenario)[channel.code]
    shipping = sorted(
        (p for p in scenario.places if p.ships or p.pickup), key=lambda p: (p.priority, p.code)
    )
    return _View(tuple(p.code for p in shipping), scenario.propagation_seconds, 0.0, 0, True)


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


Events = Iterable[Sale | Receipt]


def replay(
    scenario: Scenario,
    events: Events | Callable[[], Events],
    shares: Mapping[str, float] | None = None,
    keep_lines: int | None = None,
    processes: int = 1,
) -> Comparison:
    """Run every set-up over the same time-ordered stream of sales and receipts.

    ``shares`` gives the split set-up's shares; without it they are each channel's share of the
    demand, which needs the sales in hand first (the stream is then read into memory).
    ``keep_lines`` caps the lines kept behind each figure (None: all of them); the figures
    themselves always count every line. With ``processes`` above 1 and ``events`` a function
    that gives the stream anew, the set-ups are divided among that many processes, each
    reading the stream itself (the set-ups share nothing, so the figures are the same)."""
    if shares is None:
        listed = list(events() if callable(events) else events)
        shares = _demand_shares(scenario, [e for e in listed if isinstance(e, Sale)])
        events = listed
    worlds = _worlds(scenario, shares, keep_lines)
    if processes > 1 and callable(events):
        results, (orders, first, last) = _drive_in_processes(scenario, worlds, events, processes)
    else:
        stream = events() if callable(events) else events
        orders, first, last = _drive(scenario, worlds, stream)
        results = {w.name: w.result(scenario.currency_digits) for w in worlds}
    return _compare(scenario, results, orders, first, last)


def _worlds(
    scenario: Scenario, shares: Mapping[str, float], keep_lines: int | None
) -> list[_World]:
    worlds = [
        _World(FULL_LISTING, scenario, _independent_views(scenario), keep_lines),
        _World(SPLIT, scenario, _independent_views(scenario), keep_lines, shares=shares),
        _World(
            INTEGRATED,
            scenario,
            {c.code: _integrated_view(scenario, c) for c in scenario.channels},
            keep_lines,
        ),
    ]
    # A buffer of 0 is (a) itself: no need to replay it twice.
    for b in scenario.buffers:
        if b > 0:
            views = _independent_views(scenario, b)
            worlds.append(_World(f"{BUFFERED}:{b}", scenario, views, keep_lines))
    for channel in scenario.channels:
        if channel.sync_minutes:
            views = _independent_views(scenario)
            views[channel.code] = _integrated_view(scenario, channel)
            worlds.append(_World(MOVE_PREFIX + channel.code, scenario, views, 0))
    return worlds


def _drive(
    scenario: Scenario, worlds: list[_World], events: Events
) -> tuple[int, datetime | None, datetime | None]:
    """Feed the stream to the worlds: each sale prepared once, then sold in every world."""
    groups = scenario.sku_groups
    orders = 0
    first: datetime | None = None
    last: datetime | None = None
    for event in events:
        moment = event.at.timestamp()
        if isinstance(event, Sale):
            orders += 1
            first = first or event.at
            last = event.at
            day = event.at.date()
            week = day.toordinal() - day.weekday()
            lines = tuple(
                (ln.sku, ln.quantity, _scaled(ln), groups.get(ln.sku, "other"))
                for ln in event.lines
            )
            for world in worlds:
                world.sell(event, moment, week, lines)
        else:
            for world in worlds:
                world.receive(event, moment)
    return orders, first, last


def _drive_in_processes(
    scenario: Scenario,
    worlds: list[_World],
    events: Callable[[], Events],
    processes: int,
) -> tuple[dict[str, SetupResult], tuple[int, datetime | None, datetime | None]]:
    """Each forked process replays its share of the worlds and sends back their results."""
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[Any] = context.Queue()
    shares = [worlds[i::processes] for i in range(processes)]

    def run(part: list[_World]) -> None:
        counts = _drive(scenario, part, events())
        queue.put(([w.result(scenario.currency_digits) for w in part], counts))

    children = [context.Process(target=run, args=(part,)) for part in shares[1:]]
    for child in children:
        child.start()
    counts = _drive(scenario, shares[0], events())
    results = {w.name: w.result(scenario.currency_digits) for w in shares[0]}
    for _ in children:
        part, _counts = queue.get()
        results.update({r.setup: r for r in part})
    for child in children:
        child.join()
        if child.exitcode:
            raise RuntimeError(f"a replay process ended with exit code {child.exitcode}")
    return results, counts


def _compare(
    scenario: Scenario,
    results: dict[str, SetupResult],
    orders: int,
    first: datetime | None,
    last: datetime | None,
) -> Comparison:
    weight = scenario.oversell_weight
    setups = {name: result for name, result in results.items() if not name.startswith(BUFFERED)}
    candidates = {
        int(name.split(":", 1)[1]): result
        for name, result in results.items()
        if name.startswith(BUFFERED + ":")
    }
    if 0 in scenario.buffers:
        candidates[0] = setups[FULL_LISTING]
    buffer = 0
    if candidates:
        # min() keeps the first of equal costs: the smallest buffer tried
        buffer = min(sorted(candidates), key=lambda b: candidates[b].cost(weight))
        chosen = candidates[buffer]
        if buffer == 0:
            chosen = replace_result(chosen, BUFFERED)
        chosen.setup = BUFFERED
        chosen.buffer = buffer
        setups[BUFFERED] = chosen
    baseline = setups[FULL_LISTING].cost(weight)
    saved = {
        name.removeprefix(MOVE_PREFIX): baseline - result.cost(weight)
        for name, result in setups.items()
        if name.startswith(MOVE_PREFIX)
    }
    return Comparison(setups, saved, buffer, orders, first, last)


def replace_result(result: SetupResult, name: str) -> SetupResult:
    """A copy of a result under another set-up's name (the figures are shared, not copied)."""
    return SetupResult(
        name,
        result.totals,
        result.by_channel,
        result.by_week,
        result.by_group,
        result.affected,
        result.split_shipments,
        result.split_references,
        result.buffer,
    )
