"""Cross-channel analytics: what customers do across channels.

- ``customer_value``: customers who bought in more than one channel against those who bought in
  one, and online-only against store-only against both; what each group is worth.
- ``journeys``: orders whose path crossed channels: researched online and bought in a store,
  bought online to collect in a store, bought online and returned in a store, picked up in a
  store and bought online, a cart started on one channel and finished on another.
- ``segment_channel_mix``: per RFM segment, which channels its customers buy in.

A customer is a resolved profile: an order counts for the profile it is linked to
(``customer_order_links``), followed to the profile it was merged into (identity keeps every
redirect one hop long). Orders not linked to any profile are counted apart, so the shares are
honest about what is not attributed. A channel is "in store" when its kind is ``store``; an
order is an in-store sale when it was rung up at a till (``delivery_method`` ``in_store``) or
came from a store channel. Cancelled and rejected orders are not sales and are left out.

These read the store directly (the rollups hold no customers), every order of the period:
seconds over a year of a mid-size retailer. So each result is kept as a snapshot per period
(``snapshot``): served while younger than its lifetime, which grows with what computing it
cost (``lifetime``), and the worker keeps the dashboard's periods computed
(``refresh_windows``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from channelhub.catalog.model import ChannelKind
from channelhub.catalog.store import channels
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput
from channelhub.core.pacing import paced
from channelhub.customers.journeys.store import cart_lines, carts, customer_segments
from channelhub.customers.store import customer_order_links, customer_profiles
from channelhub.insight.analytics import Period, money, ratio
from channelhub.insight.store import insight_snapshots
from channelhub.inventory.model import LocationKind
from channelhub.inventory.store import locations
from channelhub.orders.model import DeliveryMethod
from channelhub.orders.store import order_lines, orders, returns

NOT_SOLD = ("cancelled", "rejected")

#: How long before an in-store purchase an online cart still counts as its research.
RESEARCH_WINDOW_DAYS = 30

o, ch, links, prof = orders.c, channels.c, customer_order_links.c, customer_profiles.c

#: The surviving profile of a linked order.
SURVIVOR = func.coalesce(prof.merged_into, links.profile_id)
IN_STORE_CHANNEL = ch.kind == ChannelKind.STORE.value
IN_STORE_SALE = or_(o.delivery_method == DeliveryMethod.IN_STORE.value, IN_STORE_CHANNEL)


@dataclass(frozen=True)
class CustomerGroup:
    """One group of customers in one currency. ``dimension`` ``channels`` splits customers
    into ``single_channel`` and ``multichannel``; ``reach`` into ``online_only``,
    ``store_only`` and ``online_and_store``. The group ``not_linked`` holds the orders no
    profile is known for (``customers`` is 0: they are not known)."""

    dimension: str
    group: str
    currency: str
    customers: int
    orders: int
    revenue: Decimal
    net_revenue: Decimal  # after refunds
    revenue_per_customer: Decimal | None
    orders_per_customer: float | None
    average_order_value: Decimal | None
    share_of_customers: float | None  # of the dimension's known customers in this currency
    share_of_revenue: float | None  # of all revenue in this currency, not linked included


@dataclass(frozen=True)
class JourneyFigure:
    journey: str
    description: str
    currency: str
    occurrences: int  # orders (returns for ``bought_online_returned_in_store``)
    customers: int  # distinct known customers among them
    value: Decimal  # the orders' revenue (the refunds for returns)


@dataclass(frozen=True)
class SegmentChannelMix:
    """One channel's share of one RFM segment's purchases in the period. ``segment`` is
    ``unscored`` for customers the segment run has not scored yet."""

    segment: str
    segment_customers: int  # customers of the segment who bought in the period
    multichannel_customers: int  # of them, those who bought in more than one channel
    channel: str
    currency: str
    customers: int
    orders: int
    revenue: Decimal
    share_of_segment_revenue: float | None


def _in_period(column: Any, period: Period) -> ColumnElement[bool]:
    start, end = period.bounds()
    return and_(column >= start, column < end)


def _sold_in(period: Period) -> ColumnElement[bool]:
    return and_(_in_period(o.placed_at, period), o.status.not_in(NOT_SOLD))


def _linked_orders(*columns: Any) -> Select[Any]:
    """Orders joined to their channel and their surviving profile (orders without a profile
    are left out)."""
    return select(*columns).select_from(
        orders.join(channels, ch.id == o.channel_id)
        .join(customer_order_links, links.order_id == o.id)
        .join(customer_profiles, prof.id == links.profile_id)
    )


# --- customer value ------------------------------------------------------------------------


def customer_value(conn: Connection, period: Period) -> list[CustomerGroup]:
    """Multichannel against single-channel customers, and online against store against both,
    over the orders placed in the period."""
    customers: dict[int, _Customer] = {}
    store_channels = set(
        conn.execute(select(ch.id).where(ch.kind == ChannelKind.STORE.value)).scalars()
    )
    for pid, channel_id, currency, count, revenue, refunded in _per_customer_channel(
        conn, period, o.channel_id
    ):
        store = channel_id in store_channels
        found = customers.setdefault(int(pid), _Customer())
        found.channels.add(channel_id)
        found.reach.add("store" if store else "online")
        totals = found.money.setdefault(currency, [0, 0, 0])
        totals[0] += int(count)
        totals[1] += int(revenue or 0)
        totals[2] += int(refunded or 0)
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for found in customers.values():
        reach = "online_and_store" if len(found.reach) > 1 else f"{next(iter(found.reach))}_only"
        mix = "multichannel" if len(found.channels) > 1 else "single_channel"
        for currency, (count, revenue, refunded) in found.money.items():
            for key in (("channels", mix, currency), ("reach", reach, currency)):
                figures = sums[key]
                figures[0] += 1
                figures[1] += count
                figures[2] += revenue
                figures[3] += refunded
    rows = [(d, g, c, n, count, rev, ref) for (d, g, c), (n, count, rev, ref) in sums.items()]
    unlinked = (
        select(o.currency, func.count(), func.sum(o.total_minor), func.sum(o.refunded_minor))
        .where(_sold_in(period), ~exists().where(links.order_id == o.id))
        .group_by(o.currency)
    )
    for currency, count, revenue, refunded in conn.execute(unlinked):
        for dimension in ("channels", "reach"):
            rows.append(
                (dimension, "not_linked", currency, 0, int(count), int(revenue), int(refunded))
            )
    return _groups(rows)


@dataclass
class _Customer:
    channels: set[int] = field(default_factory=set)
    reach: set[str] = field(default_factory=set)  # online, store
    money: dict[str, list[int]] = field(default_factory=dict)  # currency: orders, revenue, refunds


def _per_customer_channel(conn: Connection, period: Period, *keys: Any) -> list[tuple[Any, ...]]:
    """One row per customer (surviving profile), ``keys`` (the channel) and currency: orders,
    revenue, refunds. One pass over the period's orders (the ``ix_orders_sales`` index holds
    every column read) grouped by the linked profile; profiles merged since are then folded
    into their survivor here, which spares a lookup of every order's profile."""
    grouped = conn.execute(
        select(
            links.profile_id,
            *keys,
            o.currency,
            func.count(),
            func.sum(o.total_minor),
            func.sum(o.refunded_minor),
        )
        .select_from(orders.join(customer_order_links, links.order_id == o.id))
        .where(_sold_in(period))
        .group_by(links.profile_id, *keys, o.currency)
    ).all()
    survivor = dict(
        conn.execute(select(prof.id, prof.merged_into).where(prof.merged_into.is_not(None))).all()
    )
    folded: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for pid, *rest in grouped:
        *key, count, revenue, refunded = rest
        entry = folded[(survivor.get(pid, pid), *key)]
        entry[0] += int(count)
        entry[1] += int(revenue or 0)
        entry[2] += int(refunded or 0)
    return [(*key, *figures) for key, figures in folded.items()]


def _groups(rows: list[tuple[str, str, str, int, int, int, int]]) -> list[CustomerGroup]:
    known: dict[tuple[str, str], int] = defaultdict(int)
    revenue_of: dict[tuple[str, str], int] = defaultdict(int)
    for dimension, _, currency, customers, _, revenue, _ in rows:
        known[dimension, currency] += int(customers)
        revenue_of[dimension, currency] += int(revenue or 0)
    result = []
    for dimension, group, currency, customers, count, revenue, refunded in sorted(rows):
        revenue, refunded, customers = int(revenue or 0), int(refunded or 0), int(customers)
        result.append(
            CustomerGroup(
                dimension=dimension,
                group=group,
                currency=currency,
                customers=customers,
                orders=int(count),
                revenue=money(revenue, currency),
                net_revenue=money(revenue - refunded, currency),
                revenue_per_customer=money(revenue // customers, currency) if customers else None,
                orders_per_customer=ratio(int(count), customers),
                average_order_value=money(revenue // count, currency) if count else None,
                share_of_customers=ratio(customers, known[dimension, currency])
                if group != "not_linked"
                else None,
                share_of_revenue=ratio(revenue, revenue_of[dimension, currency]),
            )
        )
    return result


# --- journeys ------------------------------------------------------------------------------

JOURNEYS = {
    "researched_online_bought_in_store": (
        "in-store sales whose customer had an online cart with one of the order's products in "
        f"the {RESEARCH_WINDOW_DAYS} days before (or whose own cart was started online)"
    ),
    "bought_online_collect_in_store": "orders from online channels to collect in a store",
    "bought_online_returned_in_store": "returns taken in a store of orders bought online",
    "researched_in_store_bought_online": (
        "online orders whose cart was picked up at a store's till before it was bought"
    ),
    "cart_moved_across_channels": "orders whose cart was started on another channel",
}


def journeys(conn: Connection, period: Period) -> list[JourneyFigure]:
    """How often each cross-channel journey ended in the period (by the day of its last
    step: the order, or the return), per currency; journeys that did not occur are listed
    with zeros in the channels' currencies."""
    figures: dict[tuple[str, str], tuple[int, int, int]] = {}
    for name, query in _journey_queries(conn, period).items():
        for currency, occurrences, customers, value in conn.execute(query):
            figures[name, currency] = (int(occurrences), int(customers), int(value or 0))
    currencies = {c for _, c in figures} or set(
        conn.execute(select(ch.currency).distinct()).scalars()
    )
    return [
        JourneyFigure(
            name, description, currency, *_journey_counts(figures.get((name, currency)), currency)
        )
        for name, description in JOURNEYS.items()
        for currency in sorted(currencies)
    ]


def _journey_counts(found: tuple[int, int, int] | None, currency: str) -> tuple[int, int, Decimal]:
    occurrences, customers, value = found or (0, 0, 0)
    return occurrences, customers, money(value, currency)


def _days_before(conn: Connection, column: Any, days: int) -> Any:
    if conn.dialect.name == "postgresql":
        return column - func.make_interval(0, 0, 0, days)
    return func.datetime(column, f"-{days} days")


def _journey_queries(conn: Connection, period: Period) -> dict[str, Select[Any]]:
    sold = _sold_in(period)
    orders_with_customer = (
        orders.join(channels, ch.id == o.channel_id)
        .outerjoin(customer_order_links, links.order_id == o.id)
        .outerjoin(customer_profiles, prof.id == links.profile_id)
    )

    def figures(*where: Any, value: Any = o.total_minor, source: Any = None) -> Select[Any]:
        return (
            select(
                o.currency,
                func.count(distinct(o.id)),
                func.count(distinct(SURVIVOR)),
                func.sum(value),
            )
            .select_from(source if source is not None else orders_with_customer)
            .where(*where)
            .group_by(o.currency)
        )

    cart, cart_profile = carts.alias("cart"), customer_profiles.alias("cart_profile")
    cart_channel, line, bought = channels.alias("cart_channel"), cart_lines.alias(), order_lines
    same_customer = or_(cart_profile.c.id == SURVIVOR, cart_profile.c.merged_into == SURVIVOR)
    researched_online = exists(
        select(literal(1))
        .select_from(
            cart.join(cart_profile, cart_profile.c.id == cart.c.profile_id).join(
                cart_channel, cart_channel.c.code == cart.c.channel
            )
        )
        .where(
            same_customer,
            cart_channel.c.kind != ChannelKind.STORE.value,
            cart.c.location.is_(None),
            or_(
                cart.c.order_id == o.id,
                and_(
                    or_(cart.c.order_id.is_(None), cart.c.status != "checked_out"),
                    cart.c.created_at <= o.placed_at,
                    cart.c.updated_at >= _days_before(conn, o.placed_at, RESEARCH_WINDOW_DAYS),
                    # one of the order's lines (read by the order) was in the cart
                    exists(
                        select(literal(1)).where(
                            line.c.cart_id == cart.c.id,
                            line.c.sku.in_(
                                # correlated by hand: it sits two subqueries below ``orders``
                                select(bought.c.sku)
                                .where(bought.c.order_id == o.id)
                                .correlate(orders)
                            ),
                        )
                    ),
                ),
            ),
        )
    )
    checked_out_cart = carts.join(cart_channel, cart_channel.c.code == carts.c.channel)
    via_cart = orders_with_customer.join(checked_out_cart, carts.c.order_id == o.id)
    returned = orders_with_customer.join(returns, returns.c.order_id == o.id).join(
        locations, locations.c.id == returns.c.location_id
    )
    online = and_(~IN_STORE_CHANNEL, o.delivery_method != DeliveryMethod.IN_STORE.value)
    return {
        "researched_online_bought_in_store": figures(
            sold, IN_STORE_SALE, links.profile_id.is_not(None), researched_online
        ),
        "bought_online_collect_in_store": figures(
            sold, online, o.delivery_method == DeliveryMethod.PICKUP.value
        ),
        "bought_online_returned_in_store": figures(
            _in_period(returns.c.created_at, period),
            online,
            locations.c.kind == LocationKind.STORE.value,
            value=returns.c.refund_minor,
            source=returned,
        ),
        "researched_in_store_bought_online": figures(
            sold,
            online,
            or_(carts.c.location.is_not(None), cart_channel.c.kind == ChannelKind.STORE.value),
            source=via_cart,
        ),
        "cart_moved_across_channels": figures(sold, carts.c.channel != ch.code, source=via_cart),
    }


# --- channel mix per segment ---------------------------------------------------------------


def segment_channel_mix(conn: Connection, period: Period) -> list[SegmentChannelMix]:
    """Per RFM segment (of the newest segment run), each channel's customers, orders and
    share of the segment's revenue in the period."""
    code_of = dict(conn.execute(select(ch.id, ch.code)).all())
    seg = customer_segments.c
    segment_of = dict(conn.execute(select(seg.profile_id, seg.rfm_segment)).all())
    rows = [
        (segment_of.get(pid, "unscored"), pid, code_of[channel_id], currency, count, revenue)
        for pid, channel_id, currency, count, revenue, _ in _per_customer_channel(
            conn, period, o.channel_id
        )
    ]
    figures: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    channels_of: dict[tuple[str, int], set[str]] = defaultdict(set)
    for segment, profile, code, cur, orders_count, amount in rows:
        entry = figures[segment, code, cur]
        entry[0] += 1
        entry[1] += int(orders_count)
        entry[2] += int(amount or 0)
        channels_of[segment, int(profile)].add(code)
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (segment, _), codes in channels_of.items():
        sizes[segment][0] += 1
        sizes[segment][1] += len(codes) > 1
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for (segment, _, cur), entry in figures.items():
        totals[segment, cur] += entry[2]
    found = [
        SegmentChannelMix(
            segment=segment,
            segment_customers=sizes[segment][0],
            multichannel_customers=sizes[segment][1],
            channel=code,
            currency=cur,
            customers=customers,
            orders=orders_count,
            revenue=money(amount, cur),
            share_of_segment_revenue=ratio(amount, totals[segment, cur]),
        )
        for (segment, code, cur), (customers, orders_count, amount) in figures.items()
    ]
    return sorted(found, key=lambda r: (r.segment, r.currency, -r.revenue, r.channel))


# --- snapshots -----------------------------------------------------------------------------

#: The reports, by the name the API, the CLI and the snapshots use.
REPORTS: dict[str, tuple[type[Any], Callable[[Connection, Period], list[Any]]]] = {
    "customers": (CustomerGroup, customer_value),
    "journeys": (JourneyFigure, journeys),
    "segment_channels": (SegmentChannelMix, segment_channel_mix),
}

#: A snapshot is served for COST_FACTOR times what computing it cost, between MIN_AGE and
#: MAX_AGE: recomputing one then takes under 1% of a core, a small shop sees its new orders
#: within half a minute, and a year of a mid-size retailer (seconds) is redone every quarter
#: hour or so.
COST_FACTOR = 120
MIN_AGE = timedelta(seconds=30)
MAX_AGE = timedelta(minutes=30)

#: The periods the worker keeps computed: the last 7, 30, 90 and 365 days up to today, the
#: dashboard's choices.
WINDOWS = (7, 30, 90, 365)


@dataclass(frozen=True)
class Snapshot:
    report: str
    period: Period
    rows: list[Any]
    computed_at: datetime
    seconds: float  # how long computing it took


def lifetime(seconds: float) -> timedelta:
    """How long a snapshot that took ``seconds`` to compute is served."""
    limits = (MIN_AGE.total_seconds(), MAX_AGE.total_seconds())
    return timedelta(seconds=paced(seconds, *limits, COST_FACTOR))


def snapshot(
    db: Database, report: str, period: Period, max_age: timedelta | None = None
) -> Snapshot:
    """The report over the period as last computed, while younger than ``max_age`` (by
    default its ``lifetime``); else computed now, stored and returned (``max_age`` zero:
    always computed)."""
    return _stored(db, report, period, max_age) or compute(db, report, period)


def _stored(
    db: Database, report: str, period: Period, max_age: timedelta | None
) -> Snapshot | None:
    kind, _ = _report(report)
    if max_age is not None and max_age <= timedelta(0):
        return None
    s = insight_snapshots.c
    with db.read() as conn:
        found = conn.execute(
            select(s.rows, s.computed_at, s.seconds).where(
                s.report == report,
                s.start == period.start.isoformat(),
                s.end == period.end.isoformat(),
            )
        ).first()
    if found is None:
        return None
    if found.computed_at < utcnow() - (lifetime(found.seconds) if max_age is None else max_age):
        return None
    rows = [_load(kind, row) for row in found.rows]
    return Snapshot(report, period, rows, found.computed_at, found.seconds)


def compute(db: Database, report: str, period: Period) -> Snapshot:
    """Compute the report over the period now and store it as its snapshot."""
    _, run = _report(report)
    started = time.perf_counter()
    with db.read() as conn:
        rows = run(conn, period)
    seconds = round(time.perf_counter() - started, 4)
    now = utcnow()
    stored = {
        "report": report,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "rows": [_dump(row) for row in rows],
        "seconds": seconds,
        "computed_at": now,
    }
    with db.transaction() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(insight_snapshots).values(stored)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["report", "start", "end"],
                set_={
                    name: statement.excluded[name] for name in ("rows", "seconds", "computed_at")
                },
            )
        )
    return Snapshot(report, period, rows, now, seconds)


def refresh_windows(db: Database, today: date | None = None) -> int:
    """Keep the dashboard's periods computed (run by the worker): every report over the
    last ``WINDOWS`` days whose snapshot has outlived its lifetime; how many were computed."""
    last = today or utcnow().date()
    computed = 0
    for days in WINDOWS:
        period = Period(last - timedelta(days=days - 1), last)
        for report in REPORTS:
            if _stored(db, report, period, None) is None:
                compute(db, report, period)
                computed += 1
    with db.transaction() as conn:  # periods nobody asks for any more
        conn.execute(
            delete(insight_snapshots).where(
                insight_snapshots.c.computed_at < utcnow() - timedelta(days=7)
            )
        )
    return computed


def _report(name: str) -> tuple[type[Any], Callable[[Connection, Period], list[Any]]]:
    if name not in REPORTS:
        raise InvalidInput(f"report {name!r}: one of {', '.join(REPORTS)}")
    return REPORTS[name]


def _dump(row: Any) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(row).items()}


def _load(kind: type[Any], stored: dict[str, Any]) -> Any:
    decimals = {f.name for f in fields(kind) if "Decimal" in str(f.type)}
    return kind(
        **{k: Decimal(v) if k in decimals and v is not None else v for k, v in stored.items()}
    )
