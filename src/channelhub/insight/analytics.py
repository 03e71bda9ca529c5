"""The dashboard's figures: sales per channel and over time, inventory health, sync health.

Sales figures read the daily rollups (see ``rollup``); stock and sync figures read the store
directly. Money is returned in major units of the channel's currency as ``Decimal``. A period
is a closed range of UTC days ``[start, end]``.
"""

from __future__ import annotations

import csv
import heapq
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from channelhub.catalog.store import channels
from channelhub.core.database import utcnow
from channelhub.core.errors import InvalidInput
from channelhub.insight.store import sales_daily, sku_daily
from channelhub.inventory.store import channel_locations, locations, stock_levels
from channelhub.orders.service import from_minor
from channelhub.sync.store import connections, jobs

#: The days analytics take: far enough from the calendar's ends that a period's bounds, the
#: period before it and a window before a day are dates too.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)


def check_day(day: date, what: str) -> date:
    """``day``, or InvalidInput naming ``what`` when it is outside FIRST_DAY..LAST_DAY."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"{what}: {day} is not between {FIRST_DAY} and {LAST_DAY}")
    return day


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def parse(cls, start: str | None, end: str | None, default_days: int = 30) -> Period:
        """A period from ISO dates; the last ``default_days`` days up to today by default."""
        try:
            last = check_day(date.fromisoformat(end) if end else utcnow().date(), "period: end")
            first = check_day(
                date.fromisoformat(start) if start else last - timedelta(days=default_days - 1),
                "period: start",
            )
        except ValueError as error:
            raise InvalidInput(f"period: dates are YYYY-MM-DD ({error})") from None
        if first > last:
            raise InvalidInput(f"period: start {first} is after end {last}")
        if (last - first).days > 3660:
            raise InvalidInput("period: at most ten years at a time")
        return cls(first, last)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC times: from the first day's midnight up to, not including, the
        midnight after the last day."""
        first = datetime.combine(self.start, time.min, tzinfo=UTC)
        return first, first + timedelta(days=self.days)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


@dataclass(frozen=True)
class ChannelSales:
    channel: str
    name: str
    mode: str
    currency: str
    orders: int
    cancelled_orders: int
    units: int
    returned_units: int
    revenue: Decimal
    refunded: Decimal
    net_revenue: Decimal
    average_order_value: Decimal | None
    return_rate: float | None  # returned units / units sold
    margin: float | None  # (revenue - cost) / revenue over the units with a known cost
    cost_coverage: float | None  # share of revenue whose units have a known cost


@dataclass(frozen=True)
class SalesPoint:
    bucket: str  # YYYY-MM-DD (day, or the Monday of a week) or YYYY-MM
    channel: str
    currency: str
    orders: int
    units: int
    revenue: Decimal


def money(minor: int, currency: str) -> Decimal:
    return from_minor(int(minor), currency)


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def sales_by_channel(conn: Connection, period: Period) -> list[ChannelSales]:
    """One row per channel and currency over the period, channels without sales included."""
    s = sales_daily
    totals = (
        select(
            s.c.channel_id,
            s.c.currency,
            func.sum(s.c.orders).label("orders"),
            func.sum(s.c.cancelled_orders).label("cancelled_orders"),
            func.sum(s.c.units).label("units"),
            func.sum(s.c.returned_units).label("returned_units"),
            func.sum(s.c.revenue_minor).label("revenue"),
            func.sum(s.c.refunded_minor).label("refunded"),
            func.sum(s.c.cost_minor).label("cost"),
            func.sum(s.c.costed_revenue_minor).label("costed_revenue"),
        )
        .where(s.c.day >= period.start.isoformat(), s.c.day <= period.end.isoformat())
        .group_by(s.c.channel_id, s.c.currency)
    )
    by_channel: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(totals):
        by_channel[row.channel_id].append(row)
    result = []
    for channel in conn.execute(select(channels).order_by(channels.c.code)):
        for row in by_channel.get(channel.id) or [None]:
            currency = row.currency if row is not None else channel.currency
            orders = int(row.orders or 0) if row is not None else 0
            units = int(row.units or 0) if row is not None else 0
            revenue = int(row.revenue or 0) if row is not None else 0
            refunded = int(row.refunded or 0) if row is not None else 0
            returned = int(row.returned_units or 0) if row is not None else 0
            cost = int(row.cost or 0) if row is not None else 0
            costed = int(row.costed_revenue or 0) if row is not None else 0
            result.append(
                ChannelSales(
                    channel=channel.code,
                    name=channel.name,
                    mode=channel.mode,
                    currency=currency,
                    orders=orders,
                    cancelled_orders=int(row.cancelled_orders or 0) if row is not None else 0,
                    units=units,
                    returned_units=returned,
                    revenue=money(revenue, currency),
                    refunded=money(refunded, currency),
                    net_revenue=money(revenue - refunded, currency),
                    average_order_value=(
                        money(round(revenue / orders), currency) if orders else None
                    ),
                    return_rate=ratio(returned, units),
                    margin=ratio(costed - cost, costed),
                    cost_coverage=ratio(costed, revenue),
                )
            )
    return result


def bucket_of(day: str, interval: Interval) -> str:
    if interval is Interval.DAY:
        return day
    if interval is Interval.MONTH:
        return day[:7]
    when = date.fromisoformat(day)
    return (when - timedelta(days=when.weekday())).isoformat()


def sales_over_time(
    conn: Connection, period: Period, interval: Interval, channel: str | None = None
) -> list[SalesPoint]:
    """Orders, units and revenue per bucket and channel, oldest first."""
    s = sales_daily
    query = (
        select(
            s.c.day,
            channels.c.code,
            s.c.currency,
            func.sum(s.c.orders),
            func.sum(s.c.units),
            func.sum(s.c.revenue_minor),
        )
        .join(channels, channels.c.id == s.c.channel_id)
        .where(s.c.day >= period.start.isoformat(), s.c.day <= period.end.isoformat())
        .group_by(s.c.day, channels.c.code, s.c.currency)
    )
    if channel is not None:
        query = query.where(channels.c.code == channel)
    buckets: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, code, currency, orders, units, revenue in conn.execute(query):
        total = buckets[(bucket_of(day, interval), code, currency)]
        total[0] += int(orders or 0)
        total[1] += int(units or 0)
        total[2] += int(revenue or 0)
    return [
        SalesPoint(bucket, code, currency, orders, units, money(revenue, currency))
        for (bucket, code, currency), (orders, units, revenue) in sorted(buckets.items())
    ]


@dataclass(frozen=True)
class SkuHealth:
    sku: str
    on_hand: int
    available: int
    units_sold: int  # in the window, all channels
    daily_rate: float
    days_of_cover: float | None  # None: nothing sold in the window


@dataclass(frozen=True)
class ChannelStockHealth:
    channel: str
    skus_selling: int  # SKUs sold on the channel in the window
    stockouts: int  # of those, how many the channel's locations cannot supply now
    sell_through: float | None  # units sold / (units sold + units on hand in its locations)


@dataclass(frozen=True)
class LocationBalance:
    location: str
    kind: str
    on_hand: int
    stock_share: float | None
    units_sold: int  # through channels that sell from this location first
    sales_share: float | None


@dataclass(frozen=True)
class InventoryHealth:
    window_days: int
    channels: list[ChannelStockHealth]
    low_cover: list[SkuHealth]  # selling SKUs with the fewest days of cover
    slow_movers: list[SkuHealth]  # SKUs with stock that sold at most ``slow_units`` units
    locations: list[LocationBalance]


def inventory_health(
    conn: Connection,
    as_of: date | None = None,
    window_days: int = 28,
    limit: int = 20,
    slow_units: int = 0,
) -> InventoryHealth:
    """Days of cover, stockouts and sell-through by channel, slow movers, and where stock sits
    against where it sells, over the ``window_days`` before ``as_of`` (today by default).

    One pass over the stock levels (grouped by location and SKU) feeds every figure; sales
    come from the SKU rollup of the window."""
    if not 1 <= window_days <= 366:
        raise InvalidInput("window_days: between 1 and 366")
    last = check_day(as_of or utcnow().date(), "as_of")
    first = (last - timedelta(days=window_days - 1)).isoformat()
    daily = sku_daily
    selling: dict[tuple[int, str], int] = {
        (channel_id, sku): int(units or 0)
        for channel_id, sku, units in conn.execute(
            select(daily.c.channel_id, daily.c.sku, func.sum(daily.c.units))
            .where(daily.c.day >= first, daily.c.day <= last.isoformat())
            .group_by(daily.c.channel_id, daily.c.sku)
        )
    }
    sold: dict[str, int] = defaultdict(int)
    for (_, sku), units in selling.items():
        sold[sku] += units
    level = stock_levels
    # (location id, SKU) -> [on hand, free to sell]
    shelf: dict[tuple[int, str], tuple[int, int]] = {
        (location_id, sku): (int(on_hand or 0), int(free or 0))
        for location_id, sku, on_hand, free in conn.execute(
            select(
                level.c.location_id,
                level.c.sku,
                func.sum(level.c.on_hand),
                func.sum(level.c.on_hand - level.c.reserved - level.c.safety),
            ).group_by(level.c.location_id, level.c.sku)
        ).all()
    }
    per_sku: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_location: dict[int, int] = defaultdict(int)
    for (location_id, sku), (on_hand, free) in shelf.items():
        totals = per_sku[sku]
        totals[0] += on_hand
        totals[1] += free
        per_location[location_id] += on_hand

    def health(sku: str) -> SkuHealth:
        on_hand, free = per_sku.get(sku, (0, 0))
        units = sold.get(sku, 0)
        rate = units / window_days
        cover = round(max(free, 0) / rate, 1) if rate else None
        return SkuHealth(sku, on_hand, max(free, 0), units, round(rate, 3), cover)

    # Only the rows shown become objects: the SKUs that sell, then the top of each list.
    low_cover = sorted(
        (health(sku) for sku in sold if sold[sku] > 0),
        key=lambda h: (h.days_of_cover, -h.units_sold, h.sku),
    )[:limit]
    slow = [
        health(sku)
        for _, sku in heapq.nsmallest(
            limit,
            (
                (-totals[0], sku)
                for sku, totals in per_sku.items()
                if totals[0] > 0 and sold.get(sku, 0) <= slow_units
            ),
        )
    ]
    links: dict[int, list[tuple[int, int]]] = defaultdict(list)  # channel -> (position, loc)
    for channel_id, location_id, position in conn.execute(
        select(
            channel_locations.c.channel_id,
            channel_locations.c.location_id,
            channel_locations.c.position,
        )
    ):
        links[channel_id].append((position, location_id))
    return InventoryHealth(
        window_days=window_days,
        channels=_channel_stock(conn, selling, shelf, links),
        low_cover=low_cover,
        slow_movers=slow,
        locations=_location_balance(conn, selling, per_location, links),
    )


def _channel_stock(
    conn: Connection,
    selling: Mapping[tuple[int, str], int],
    shelf: Mapping[tuple[int, str], tuple[int, int]],
    links: Mapping[int, list[tuple[int, int]]],
) -> list[ChannelStockHealth]:
    figures: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # skus, outs, units, held
    for (channel_id, sku), units in selling.items():
        on_hand = free = 0
        for _, location_id in links.get(channel_id, ()):
            held, spare = shelf.get((location_id, sku), (0, 0))
            on_hand += held
            free += spare
        total = figures[channel_id]
        total[0] += 1
        total[1] += 1 if free <= 0 else 0
        total[2] += units
        total[3] += on_hand
    result = []
    for channel in conn.execute(select(channels.c.id, channels.c.code).order_by(channels.c.code)):
        skus, outs, units, on_hand = figures.get(channel.id, (0, 0, 0, 0))
        result.append(ChannelStockHealth(channel.code, skus, outs, ratio(units, units + on_hand)))
    return result


def _location_balance(
    conn: Connection,
    selling: Mapping[tuple[int, str], int],
    on_hand: Mapping[int, int],
    links: Mapping[int, list[tuple[int, int]]],
) -> list[LocationBalance]:
    # A channel sells from its first location (a store's till from the store itself).
    home = {channel_id: min(places)[1] for channel_id, places in links.items() if places}
    sold: dict[int, int] = defaultdict(int)
    for (channel_id, _), units in selling.items():
        if channel_id in home:
            sold[home[channel_id]] += units
    all_stock = sum(on_hand.values())
    all_sold = sum(sold.values())
    return [
        LocationBalance(
            location=row.code,
            kind=row.kind,
            on_hand=on_hand.get(row.id, 0),
            stock_share=ratio(on_hand.get(row.id, 0), all_stock),
            units_sold=sold.get(row.id, 0),
            sales_share=ratio(sold.get(row.id, 0), all_sold),
        )
        for row in conn.execute(
            select(locations.c.id, locations.c.code, locations.c.kind).order_by(locations.c.code)
        )
    ]


@dataclass(frozen=True)
class ConnectionHealth:
    connection: str
    platform: str
    channel: str
    enabled: bool
    queued: int  # jobs waiting to run or to be retried
    lag_seconds: float | None  # age of the oldest queued job
    waiting_confirmation: int
    failing: int  # queued jobs that have failed at least once
    dead_letters: int
    delivered_last_hour: int


def sync_health(conn: Connection, now: datetime | None = None) -> list[ConnectionHealth]:
    """Per connection: backlog and its lag, failures, dead letters and throughput."""
    now = now or utcnow()
    j = jobs
    queued = j.c.state.in_(("new", "failed", "processing"))
    last_hour = now - timedelta(hours=1)
    query = select(
        j.c.connection_id,
        func.sum(case((queued, 1), else_=0)),
        func.min(case((queued, j.c.created_at), else_=None)),
        func.sum(case((j.c.state == "waiting", 1), else_=0)),
        func.sum(case((and_(queued, j.c.attempts > 0), 1), else_=0)),
        func.sum(case((j.c.state == "dead", 1), else_=0)),
        func.sum(case((and_(j.c.state == "done", j.c.finished_at >= last_hour), 1), else_=0)),
    ).group_by(j.c.connection_id)
    figures = {row[0]: row[1:] for row in conn.execute(query)}
    result = []
    for c in conn.execute(select(connections).order_by(connections.c.code)):
        count, oldest, waiting, failing, dead, done = figures.get(c.id, (0, None, 0, 0, 0, 0))
        if isinstance(oldest, str):  # SQLite gives the MIN of a CASE back as text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
        result.append(
            ConnectionHealth(
                connection=c.code,
                platform=c.platform,
                channel=c.channel,
                enabled=bool(c.enabled),
                queued=int(count or 0),
                lag_seconds=round((now - oldest).total_seconds(), 3) if oldest else None,
                waiting_confirmation=int(waiting or 0),
                failing=int(failing or 0),
                dead_letters=int(dead or 0),
                delivered_last_hour=int(done or 0),
            )
        )
    return result


def to_csv(rows: Iterable[Any], columns: Sequence[str] | None = None) -> str:
    """Dataclass rows as CSV text with a header (money and ratios as plain numbers)."""
    items = [asdict(row) if not isinstance(row, Mapping) else dict(row) for row in rows]
    if columns is None:
        first = next(iter(items), None)
        columns = list(first) if first is not None else []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for item in items:
        writer.writerow({k: "" if v is None else v for k, v in item.items()})
    return out.getvalue()


def field_names(kind: type[Any]) -> list[str]:
    return [f.name for f in fields(kind)]
