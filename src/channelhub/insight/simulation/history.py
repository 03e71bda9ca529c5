"""Where a replay's history comes from: the orders already in the hub, or CSV files of a
retailer not yet on it (the format is in docs/simulate.md).

Both give a ``Scenario`` (channels, locations, opening stock) and a time-ordered stream of
sales and stock receipts; the hub's orders are read in batches, never all at once.
"""

from __future__ import annotations

import csv
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from channelhub.catalog.model import ChannelKind
from channelhub.catalog.store import channels, families, products
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.insight.analytics import money
from channelhub.insight.simulation.model import (
    ChannelPlan,
    Place,
    Receipt,
    Sale,
    SaleLine,
    Scenario,
)
from channelhub.inventory.model import LocationKind, MovementKind
from channelhub.inventory.store import channel_locations, locations, stock_levels, stock_movements
from channelhub.orders.store import order_lines, orders
from channelhub.sync.store import connections

#: How often a channel run on its own typically learns of stock, by kind (minutes): a channel
#: manager's 15-minute sync, an hourly feed, a till that sees its own shelf.
SYNC_MINUTES_BY_KIND: Mapping[str, float] = {
    ChannelKind.WEBSHOP: 15,
    ChannelKind.MARKETPLACE: 15,
    ChannelKind.APP: 15,
    ChannelKind.SOCIAL: 60,
    ChannelKind.FEED: 60,
    ChannelKind.STORE: 0,
}
#: A channel whose stock goes out as a file is refreshed nightly.
SYNC_MINUTES_BY_PLATFORM: Mapping[str, float] = {"files": 1440}
#: Stock movements that are not sales: the replay makes its own sales.
_OUTSIDE_SALES = (
    MovementKind.RECEIPT,
    MovementKind.TRANSFER,
    MovementKind.ADJUSTMENT,
    MovementKind.COUNT,
    MovementKind.RETURN,
)


@dataclass(frozen=True)
class History:
    scenario: Scenario
    events: Iterable[Sale | Receipt]
    shares: Mapping[str, float]
    currency: str


def _in_order(sales: Iterable[Sale], receipts: Iterable[Receipt]) -> Iterator[Sale | Receipt]:
    """Sales and receipts by time; a receipt at the same moment as a sale comes first."""
    keyed_receipts: Iterator[tuple[datetime, int, Sale | Receipt]] = (
        (r.at, 0, r) for r in receipts
    )
    keyed_sales: Iterator[tuple[datetime, int, Sale | Receipt]] = ((s.at, 1, s) for s in sales)
    for _, _, event in heapq.merge(keyed_receipts, keyed_sales, key=lambda k: (k[0], k[1])):
        yield event


# --- the hub's own history --------------------------------------------------------------------


def from_hub(
    db: Database,
    start: datetime,
    end: datetime,
    sync_minutes: Mapping[str, float] | None = None,
    batch: int = 5000,
) -> History:
    """The hub's orders placed in [start, end), its locations and the stock it held at
    ``start`` (today's on-hand less every movement since), with receipts, transfers, counts
    and returns of the period as they happened."""
    if end <= start:
        raise InvalidInput(f"the period must end after it starts ({start} to {end})")
    overrides = dict(sync_minutes or {})
    with db.engine.connect() as conn:
        places = tuple(
            Place(r.code, bool(r.ships), bool(r.pickup), int(r.priority))
            for r in conn.execute(
                select(
                    locations.c.code, locations.c.ships, locations.c.pickup, locations.c.priority
                )
                .where(locations.c.kind != LocationKind.DAMAGED)
                .order_by(locations.c.code)
            )
        )
        platform_of = {
            r.channel: r.platform
            for r in conn.execute(select(connections.c.channel, connections.c.platform))
        }
        linked: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
        for r in conn.execute(
            select(
                channels.c.code,
                locations.c.code.label("location"),
                channel_locations.c.allocation_share,
            )
            .join(channel_locations, channel_locations.c.channel_id == channels.c.id)
            .join(locations, locations.c.id == channel_locations.c.location_id)
            .order_by(channels.c.code, channel_locations.c.position)
        ):
            linked[r.code].append((r.location, r.allocation_share))
        warehouses = tuple(
            r.code
            for r in conn.execute(
                select(locations.c.code).where(
                    locations.c.kind.notin_([LocationKind.STORE, LocationKind.DAMAGED])
                )
            )
        )
        plans = []
        currencies: dict[str, int] = defaultdict(int)
        for r in conn.execute(
            select(channels.c.code, channels.c.kind, channels.c.currency).order_by(channels.c.code)
        ):
            currencies[r.currency] += 1
            minutes = overrides.pop(
                r.code,
                SYNC_MINUTES_BY_PLATFORM.get(
                    platform_of.get(r.code, ""), SYNC_MINUTES_BY_KIND.get(r.kind, 15)
                ),
            )
            where = tuple(code for code, _ in linked[r.code]) or warehouses
            given = [s for _, s in linked[r.code] if s is not None]
            plans.append(ChannelPlan(r.code, where, float(minutes), given[0] if given else None))
        if overrides:
            raise InvalidInput(f"no such channel: {', '.join(sorted(overrides))}")
        opening = _opening_stock(conn, start)
        groups = {
            r.sku: r.family or "other"
            for r in conn.execute(
                select(products.c.sku, families.c.code.label("family")).outerjoin(
                    families, families.c.id == products.c.family_id
                )
            )
        }
        demand = {
            r.code: float(r.units or 0)
            for r in conn.execute(
                select(channels.c.code, func.sum(order_lines.c.quantity).label("units"))
                .join(orders, orders.c.channel_id == channels.c.id)
                .join(order_lines, order_lines.c.order_id == orders.c.id)
                .where(orders.c.placed_at >= start, orders.c.placed_at < end)
                .group_by(channels.c.code)
            )
        }
        receipts = _receipts(conn, start, end)
    scenario = Scenario(
        channels=tuple(plans),
        places=places,
        opening_stock=opening,
        start=start,
        sku_groups=groups,
    )
    fallback = 1.0 / max(len(plans), 1)
    shares = {
        p.code: p.share if p.share is not None else demand.get(p.code) or fallback for p in plans
    }
    currency = max(currencies, key=currencies.__getitem__) if currencies else "EUR"
    return History(
        scenario, _in_order(_hub_sales(db, start, end, batch), receipts), shares, currency
    )


def _opening_stock(conn: Connection, start: datetime) -> dict[tuple[str, str], int]:
    since = (
        select(
            stock_movements.c.stock_level_id,
            func.sum(stock_movements.c.on_hand_delta).label("delta"),
        )
        .where(stock_movements.c.created_at >= start)
        .group_by(stock_movements.c.stock_level_id)
        .subquery()
    )
    opening: dict[tuple[str, str], int] = defaultdict(int)
    for r in conn.execute(
        select(
            locations.c.code,
            stock_levels.c.sku,
            stock_levels.c.on_hand,
            func.coalesce(since.c.delta, 0).label("delta"),
        )
        .join(locations, locations.c.id == stock_levels.c.location_id)
        .outerjoin(since, since.c.stock_level_id == stock_levels.c.id)
        .where(locations.c.kind != LocationKind.DAMAGED)
    ):
        opening[(r.code, r.sku)] += int(r.on_hand) - int(r.delta)
    return dict(opening)


def _receipts(conn: Connection, start: datetime, end: datetime) -> list[Receipt]:
    return [
        Receipt(r.created_at, r.code, r.sku, int(r.on_hand_delta))
        for r in conn.execute(
            select(
                stock_movements.c.created_at,
                locations.c.code,
                stock_levels.c.sku,
                stock_movements.c.on_hand_delta,
            )
            .join(stock_levels, stock_levels.c.id == stock_movements.c.stock_level_id)
            .join(locations, locations.c.id == stock_levels.c.location_id)
            .where(
                stock_movements.c.created_at >= start,
                stock_movements.c.created_at < end,
                stock_movements.c.kind.in_(_OUTSIDE_SALES),
                stock_movements.c.on_hand_delta != 0,
                locations.c.kind != LocationKind.DAMAGED,
            )
            .order_by(stock_movements.c.created_at, stock_movements.c.id)
        )
    ]


def _hub_sales(db: Database, start: datetime, end: datetime, batch: int) -> Iterator[Sale]:
    """The period's orders by time, read ``batch`` at a time by keyset on (placed_at, id)."""
    pickup = locations.alias("pickup")
    after: tuple[datetime, int] | None = None
    while True:
        with db.engine.connect() as conn:
            query = (
                select(
                    orders.c.id,
                    orders.c.external_id,
                    orders.c.placed_at,
                    orders.c.currency,
                    channels.c.code.label("channel"),
                    pickup.c.code.label("pickup"),
                )
                .join(channels, channels.c.id == orders.c.channel_id)
                .outerjoin(pickup, pickup.c.id == orders.c.pickup_location_id)
                .where(orders.c.placed_at >= start, orders.c.placed_at < end)
                .order_by(orders.c.placed_at, orders.c.id)
                .limit(batch)
            )
            if after is not None:
                query = query.where(
                    (orders.c.placed_at > after[0])
                    | and_(orders.c.placed_at == after[0], orders.c.id > after[1])
                )
            heads = conn.execute(query).all()
            if not heads:
                return
            currency = {h.id: h.currency for h in heads}  # the heads have it: no second join
            lines: dict[int, list[SaleLine]] = defaultdict(list)
            for r in conn.execute(
                select(
                    order_lines.c.order_id,
                    order_lines.c.sku,
                    order_lines.c.quantity,
                    order_lines.c.unit_price_minor,
                )
                .where(order_lines.c.order_id.in_(list(currency)))
                .order_by(order_lines.c.order_id, order_lines.c.line_no)
            ):
                if r.quantity > 0:
                    price = money(r.unit_price_minor, currency[r.order_id])
                    lines[r.order_id].append(SaleLine(r.sku, int(r.quantity), price))
        for h in heads:
            if lines.get(h.id):
                yield Sale(
                    f"{h.channel}/{h.external_id}",
                    h.channel,
                    h.placed_at,
                    tuple(lines[h.id]),
                    h.pickup,
                    int(h.id),
                )
        last = heads[-1]
        after = (last.placed_at, last.id)


# --- CSV files of a retailer not yet on the hub ----------------------------------------------


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise InvalidInput(f"{path}: cannot be read: {error.strerror}") from error
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path}: missing column(s) {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            yield number, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _parse_time(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidInput(f"{where}: not an ISO 8601 time: {text!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_int(text: str, where: str, minimum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise InvalidInput(f"{where}: not a whole number: {text!r}") from error
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{where}: must be at least {minimum}, not {value}")
    return value


def _parse_bool(text: str, default: bool) -> bool:
    return default if not text else text.lower() in {"1", "true", "yes", "y"}


def from_csv(
    orders_csv: Path,
    stock_csv: Path,
    channels_csv: Path,
    receipts_csv: Path | None = None,
    locations_csv: Path | None = None,
    currency: str = "EUR",
) -> History:
    """A history from files (columns in docs/simulate.md). The orders are sorted by time here,
    so the file may come in any order."""
    opening: dict[tuple[str, str], int] = defaultdict(int)
    for number, row in _rows(stock_csv, ("location", "sku", "on_hand")):
        where = f"{stock_csv.name} line {number}"
        opening[(row["location"], row["sku"])] += _parse_int(row["on_hand"], f"{where}, on_hand")
    places_by_code: dict[str, Place] = {loc: Place(loc) for loc, _ in opening}
    if locations_csv is not None:
        for number, row in _rows(locations_csv, ("location",)):
            where = f"{locations_csv.name} line {number}"
            places_by_code[row["location"]] = Place(
                row["location"],
                ships=_parse_bool(row.get("ships", ""), True),
                pickup=_parse_bool(row.get("pickup", ""), False),
                priority=_parse_int(row.get("priority") or "100", f"{where}, priority"),
            )
    plans: list[ChannelPlan] = []
    for number, row in _rows(channels_csv, ("channel", "sync_minutes", "locations")):
        where = f"{channels_csv.name} line {number}"
        try:
            minutes = float(row["sync_minutes"])
        except ValueError as error:
            raise InvalidInput(
                f"{where}, sync_minutes: not a number: {row['sync_minutes']!r}"
            ) from error
        if minutes < 0:
            raise InvalidInput(f"{where}, sync_minutes: must not be negative")
        where_from = tuple(row["locations"].split())
        unknown = [loc for loc in where_from if loc not in places_by_code]
        if unknown:
            raise InvalidInput(f"{where}, locations: unknown location {', '.join(unknown)}")
        if not where_from:
            raise InvalidInput(f"{where}, locations: none given")
        share = float(row["share"]) if row.get("share") else None
        plans.append(ChannelPlan(row["channel"], where_from, minutes, share))
    known = {p.code for p in plans}
    sales: dict[str, tuple[datetime, str, str | None, list[SaleLine]]] = {}
    groups: dict[str, str] = {}
    demand: dict[str, float] = defaultdict(float)
    required = ("order_id", "channel", "placed_at", "sku", "quantity", "unit_price")
    for number, row in _rows(orders_csv, required):
        where = f"{orders_csv.name} line {number}"
        if row["channel"] not in known:
            raise InvalidInput(
                f"{where}, channel: {row['channel']!r} is not in {channels_csv.name}"
            )
        quantity = _parse_int(row["quantity"], f"{where}, quantity", minimum=1)
        try:
            price = Decimal(row["unit_price"])
        except InvalidOperation as error:
            raise InvalidInput(
                f"{where}, unit_price: not an amount: {row['unit_price']!r}"
            ) from error
        if not price.is_finite() or price < 0:
            raise InvalidInput(f"{where}, unit_price: must be a finite amount of 0 or more")
        pickup = row.get("pickup_location") or None
        if pickup is not None and pickup not in places_by_code:
            raise InvalidInput(f"{where}, pickup_location: unknown location {pickup!r}")
        moment = _parse_time(row["placed_at"], f"{where}, placed_at")
        key = row["order_id"]
        if key not in sales:
            sales[key] = (moment, row["channel"], pickup, [])
        sales[key][3].append(SaleLine(row["sku"], quantity, price))
        demand[row["channel"]] += quantity
        if row.get("sku_group"):
            groups[row["sku"]] = row["sku_group"]
    receipts: list[Receipt] = []
    if receipts_csv is not None:
        for number, row in _rows(receipts_csv, ("received_at", "location", "sku", "quantity")):
            where = f"{receipts_csv.name} line {number}"
            if row["location"] not in places_by_code:
                raise InvalidInput(f"{where}, location: unknown location {row['location']!r}")
            receipts.append(
                Receipt(
                    _parse_time(row["received_at"], f"{where}, received_at"),
                    row["location"],
                    row["sku"],
                    _parse_int(row["quantity"], f"{where}, quantity"),
                )
            )
        receipts.sort(key=lambda r: r.at)
    ordered = sorted(
        (
            Sale(ref, channel, moment, tuple(lines), pickup)
            for ref, (moment, channel, pickup, lines) in sales.items()
        ),
        key=lambda s: (s.at, s.reference),
    )
    start = min(
        [s.at for s in ordered[:1]] + [r.at for r in receipts[:1]], default=datetime.now(UTC)
    )
    fallback = 1.0 / max(len(plans), 1)
    shares = {
        p.code: p.share if p.share is not None else demand.get(p.code) or fallback for p in plans
    }
    scenario = Scenario(
        channels=tuple(plans),
        places=tuple(sorted(places_by_code.values(), key=lambda p: p.code)),
        opening_stock=dict(opening),
        start=start.replace(hour=0, minute=0, second=0, microsecond=0),
        sku_groups=groups,
    )
    return History(scenario, _in_order(ordered, receipts), shares, currency)


def with_settings(
    history: History,
    propagation_seconds: float | None = None,
    buffers: tuple[int, ...] | None = None,
    oversell_weight: Decimal | None = None,
) -> History:
    """The same history with the replay's knobs changed."""
    scenario = history.scenario
    if propagation_seconds is not None:
        scenario = replace(scenario, propagation_seconds=propagation_seconds)
    if buffers is not None:
        scenario = replace(scenario, buffers=buffers)
    if oversell_weight is not None:
        scenario = replace(scenario, oversell_weight=oversell_weight)
    return replace(history, scenario=scenario)


def parse_sync(pairs: Iterable[str]) -> dict[str, float]:
    """``web=15`` pairs: a channel's sync interval in minutes."""
    parsed: dict[str, float] = {}
    for pair in pairs:
        channel, sep, minutes = pair.partition("=")
        try:
            value = float(minutes)
        except ValueError:
            value = -1.0
        if not sep or not channel or not 0 <= value <= 525_600:
            raise InvalidInput(
                f"sync {pair!r}: write CHANNEL=MINUTES with 0 to 525600 minutes, e.g. web=15"
            )
        parsed[channel] = value
    return parsed


def parse_buffers(text: str) -> tuple[int, ...]:
    """``0,1,2,3,5``: the buffers set-up (c) tries."""
    try:
        buffers = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InvalidInput(f"buffers {text!r}: write whole numbers, e.g. 0,1,2,3,5") from None
    if not buffers or min(buffers) < 0 or max(buffers) > 1_000_000 or len(buffers) > 10:
        raise InvalidInput(f"buffers {text!r}: one to ten, each 0 to 1000000")
    return buffers
