"""Inventory use cases: locations, channel links, receipts, adjustments, counts, transfers,
pools of independent channels, and the available-to-promise each channel sees.

Every change to stock writes ledger rows and an ``inventory.atp_changed`` event per SKU in the
same transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from channelhub.catalog.model import ChannelMode
from channelhub.catalog.service import find_channel
from channelhub.catalog.snapshot import Channel
from channelhub.catalog.store import products
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict, InvalidInput, NotFound, Problem, ProblemList
from channelhub.core.events import record_events
from channelhub.core.pagination import decode_cursor, encode_cursor
from channelhub.inventory import store
from channelhub.inventory.model import (
    SHARED_POOL,
    Address,
    AlertKind,
    Location,
    LocationKind,
    MovementKind,
    StockPosition,
    available_to_promise,
    share_of,
)
from channelhub.inventory.store import Movement

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
MAX_QUANTITY = 1_000_000_000


class ShortagePolicy(StrEnum):
    BACKORDER = "backorder"
    REJECT = "reject"


# --- locations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationInput:
    code: str
    name: str
    kind: LocationKind
    address: Address = field(default_factory=Address)
    ships: bool = True
    pickup: bool = False
    accepts_returns: bool = True
    priority: int = 100
    safety_stock: int = 0


def location_from_row(row: Row[Any]) -> Location:
    address = dict(row.address)
    return Location(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=LocationKind(row.kind),
        address=Address(
            line1=address.get("line1", ""),
            city=address.get("city", ""),
            postal_code=address.get("postal_code", ""),
            country=address.get("country", ""),
            latitude=row.latitude,
            longitude=row.longitude,
        ),
        ships=bool(row.ships),
        pickup=bool(row.pickup),
        accepts_returns=bool(row.accepts_returns),
        priority=row.priority,
        safety_stock=row.safety_stock,
    )


def save_location(db: Database, spec: LocationInput) -> Location:
    """Create a location or update it; its safety stock applies to every SKU kept there."""
    problems = ProblemList()
    if not CODE.match(spec.code):
        problems.add("code", "a location code holds a-z, 0-9, _ and - (up to 100)")
    if not spec.name.strip():
        problems.add("name", "a location needs a name")
    if not 0 <= spec.safety_stock <= MAX_QUANTITY:
        problems.add("safety_stock", "safety stock is a whole number from 0")
    lat, lon = spec.address.latitude, spec.address.longitude
    if (lat is None) != (lon is None):
        problems.add("address", "give both latitude and longitude, or neither")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        problems.add("address", "latitude is within ±90 and longitude within ±180")
    problems.raise_if_any(f"location {spec.code!r} is not valid")
    values = {
        "name": spec.name.strip(),
        "kind": spec.kind.value,
        "address": {
            "line1": spec.address.line1,
            "city": spec.address.city,
            "postal_code": spec.address.postal_code,
            "country": spec.address.country,
        },
        "latitude": lat,
        "longitude": lon,
        "ships": spec.ships,
        "pickup": spec.pickup,
        "accepts_returns": spec.accepts_returns,
        "priority": spec.priority,
        "safety_stock": spec.safety_stock,
    }
    with db.transaction() as conn:
        row = conn.execute(
            select(store.locations).where(store.locations.c.code == spec.code)
        ).first()
        if row is None:
            conn.execute(
                insert(store.locations).values(code=spec.code, created_at=utcnow(), **values)
            )
        else:
            conn.execute(
                update(store.locations).where(store.locations.c.id == row.id).values(**values)
            )
            if row.safety_stock != spec.safety_stock:
                _set_safety(conn, row.id, spec.safety_stock, None)
        return find_location(conn, spec.code)


def find_location(conn: Connection, code: str) -> Location:
    """The location with this code inside the caller's transaction, or NotFound."""
    row = conn.execute(select(store.locations).where(store.locations.c.code == code)).first()
    if row is None:
        raise NotFound(f"location {code!r} does not exist")
    return location_from_row(row)


def get_location(db: Database, code: str) -> Location:
    with db.read() as conn:
        return find_location(conn, code)


def list_locations(db: Database) -> list[Location]:
    with db.read() as conn:
        rows = conn.execute(select(store.locations).order_by(store.locations.c.code))
        return [location_from_row(r) for r in rows]


def set_safety_stock(db: Database, location: str, quantity: int, sku: str | None = None) -> None:
    """Set the units a location never promises: for one SKU, or for all (its default)."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("safety stock is a whole number from 0")
    with db.transaction() as conn:
        place = find_location(conn, location)
        if sku is None:
            conn.execute(
                update(store.locations)
                .where(store.locations.c.id == place.id)
                .values(safety_stock=quantity)
            )
        else:
            store.ensure_stock_rows(conn, [(sku, place.id, SHARED_POOL)])
        _set_safety(conn, place.id, quantity, sku)


def _set_safety(conn: Connection, location_id: int, quantity: int, sku: str | None) -> None:
    s = store.stock_levels.c
    where = [s.location_id == location_id] + ([s.sku == sku] if sku is not None else [])
    skus = list(conn.execute(select(s.sku).where(*where)).scalars())
    conn.execute(
        update(store.stock_levels).where(*where).values(safety=quantity, updated_at=utcnow())
    )
    announce(conn, {k: {location_id} for k in skus}, "safety_stock")


# --- channel links and settings -----------------------------------------------------------


@dataclass(frozen=True)
class ChannelLink:
    """A location serving a channel, in the channel's order of preference."""

    location: str
    allocation_share: float | None = None


@dataclass(frozen=True)
class ChannelStockSettings:
    buffer: int = 0
    shortage_policy: ShortagePolicy = ShortagePolicy.BACKORDER
    split_allowed: bool = True


def pool_of(channel: Channel) -> str:
    """The stock pool a channel sells from: its own when independent, else the shared one."""
    return channel.code if channel.mode == ChannelMode.INDEPENDENT else SHARED_POOL


def link_channel(db: Database, channel: str, links: Sequence[ChannelLink]) -> list[ChannelLink]:
    """Replace the locations that serve ``channel``, in order of preference."""
    problems = ProblemList()
    seen: set[str] = set()
    for i, link in enumerate(links):
        if link.location in seen:
            problems.add(f"links[{i}]", f"location {link.location!r} is listed twice")
        seen.add(link.location)
        if link.allocation_share is not None and not 0 <= link.allocation_share <= 1:
            problems.add(f"links[{i}].allocation_share", "a share is between 0 and 1")
    problems.raise_if_any(f"the locations of channel {channel!r} are not valid")
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        if target.mode != ChannelMode.INDEPENDENT and any(
            link.allocation_share is not None for link in links
        ):
            raise InvalidInput(
                f"channel {channel!r} is integrated: it shares all stock; "
                "allocation shares are for independent channels"
            )
        ids = [find_location(conn, link.location).id for link in links]
        before = _linked_ids(conn, target.id)
        conn.execute(
            delete(store.channel_locations).where(store.channel_locations.c.channel_id == target.id)
        )
        if links:
            conn.execute(
                insert(store.channel_locations),
                [
                    {
                        "channel_id": target.id,
                        "location_id": loc,
                        "position": i,
                        "allocation_share": link.allocation_share,
                    }
                    for i, (loc, link) in enumerate(zip(ids, links, strict=True))
                ],
            )
        changed = before ^ set(ids)
        if changed:
            s = store.stock_levels.c
            rows = conn.execute(select(s.sku, s.location_id).where(s.location_id.in_(changed)))
            touched: dict[str, set[int]] = {}
            for r in rows:
                touched.setdefault(r.sku, set()).add(r.location_id)
            announce(conn, touched, "channel_locations")
    return list(links)


def _linked_ids(conn: Connection, channel_id: int) -> set[int]:
    c = store.channel_locations.c
    return set(conn.execute(select(c.location_id).where(c.channel_id == channel_id)).scalars())


def channel_links(db: Database, channel: str) -> list[ChannelLink]:
    with db.read() as conn:
        target = find_channel(conn, channel)
        c, loc = store.channel_locations.c, store.locations.c
        rows = conn.execute(
            select(loc.code, c.allocation_share)
            .join_from(store.channel_locations, store.locations, c.location_id == loc.id)
            .where(c.channel_id == target.id)
            .order_by(c.position)
        )
        return [ChannelLink(r.code, r.allocation_share) for r in rows]


def set_channel_settings(db: Database, channel: str, settings: ChannelStockSettings) -> None:
    """Set a channel's buffer (units never advertised), shortage policy and split rule."""
    if not 0 <= settings.buffer <= MAX_QUANTITY:
        raise InvalidInput("a buffer is a whole number from 0")
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        t = store.channel_stock_settings
        conn.execute(delete(t).where(t.c.channel_id == target.id))
        conn.execute(
            insert(t).values(
                channel_id=target.id,
                buffer=settings.buffer,
                shortage_policy=settings.shortage_policy.value,
                split_allowed=settings.split_allowed,
            )
        )


def channel_settings(conn: Connection, channel_id: int) -> ChannelStockSettings:
    """A channel's stock settings inside the caller's transaction (defaults when never set)."""
    t = store.channel_stock_settings.c
    row = conn.execute(
        select(t.buffer, t.shortage_policy, t.split_allowed).where(t.channel_id == channel_id)
    ).first()
    if row is None:
        return ChannelStockSettings()
    return ChannelStockSettings(row.buffer, ShortagePolicy(row.shortage_policy), row.split_allowed)


def get_channel_settings(db: Database, channel: str) -> ChannelStockSettings:
    with db.read() as conn:
        return channel_settings(conn, find_channel(conn, channel).id)


# --- events and alerts --------------------------------------------------------------------


def announce(conn: Connection, touched: dict[str, set[int]], cause: str) -> None:
    """One ``inventory.atp_changed`` event per SKU whose stock changed, with the locations."""
    record_events(
        conn,
        "inventory.atp_changed",
        (
            (sku, {"sku": sku, "location_ids": sorted(locs), "cause": cause})
            for sku, locs in sorted(touched.items())
        ),
    )


def raise_alerts(
    conn: Connection, kind: AlertKind, alerts: Iterable[tuple[str, int | None, int]], source: str
) -> int:
    """Record stock alerts for follow-up (negative stock, oversold, unknown SKU), with events."""
    items = list(alerts)
    rows = [
        {
            "kind": kind.value,
            "sku": sku,
            "location_id": loc,
            "quantity": qty,
            "source": source[:200],
            "created_at": utcnow(),
        }
        for sku, loc, qty in items
    ]
    if rows:
        conn.execute(insert(store.stock_alerts), rows)
        record_events(
            conn,
            f"inventory.{kind.value}",
            (
                (sku, {"kind": kind.value, "sku": sku, "location_id": loc, "quantity": qty})
                for sku, loc, qty in items
            ),
        )
    return len(rows)


def unknown_skus(conn: Connection, skus: Iterable[str]) -> set[str]:
    """The SKUs the catalog does not know (read-only look at the catalog's products)."""
    wanted = set(skus)
    if not wanted:
        return set()
    known = set(conn.execute(select(products.c.sku).where(products.c.sku.in_(wanted))).scalars())
    return wanted - known


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    sku: str
    location: str | None
    quantity: int
    source: str
    created_at: datetime
    resolved_at: datetime | None


def list_alerts(db: Database, include_resolved: bool = False, limit: int = 200) -> list[Alert]:
    a, loc = store.stock_alerts.c, store.locations.c
    query = (
        select(store.stock_alerts, loc.code)
        .join_from(store.stock_alerts, store.locations, a.location_id == loc.id, isouter=True)
        .order_by(a.id.desc())
        .limit(limit)
    )
    if not include_resolved:
        query = query.where(a.resolved_at.is_(None))
    with db.read() as conn:
        return [
            Alert(r.id, r.kind, r.sku, r.code, r.quantity, r.source, r.created_at, r.resolved_at)
            for r in conn.execute(query)
        ]


def resolve_alert(db: Database, alert_id: int) -> None:
    with db.transaction() as conn:
        done = conn.execute(
            update(store.stock_alerts)
            .where(store.stock_alerts.c.id == alert_id, store.stock_alerts.c.resolved_at.is_(None))
            .values(resolved_at=utcnow())
        )
        if done.rowcount != 1:
            raise NotFound(f"no open alert {alert_id}")


# --- stock changes ------------------------------------------------------------------------


class ChangeKind(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    COUNT = "count"


@dataclass(frozen=True)
class StockChange:
    """A receipt or adjustment (``quantity`` is a delta) or a count (``quantity`` is absolute)."""

    sku: str
    location: str
    quantity: int
    pool: str | None = None  # an independent channel's code, for its own pool
    reason: str = ""


@dataclass
class StockResult:
    kind: str
    rows: int = 0
    movements: int = 0
    flagged: int = 0
    unknown_skus: list[str] = field(default_factory=list)
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_changes(kind: ChangeKind, changes: Sequence[StockChange]) -> None:
    problems = ProblemList()
    for i, change in enumerate(changes):
        if not change.sku or len(change.sku) > 100 or "\x00" in change.sku:
            problems.add(f"[{i}].sku", "a SKU is 1 to 100 characters")
        if abs(change.quantity) > MAX_QUANTITY:
            problems.add(f"[{i}].quantity", "quantity out of range")
        if kind == ChangeKind.RECEIPT and change.quantity <= 0:
            problems.add(f"[{i}].quantity", "a receipt adds at least one unit")
        if kind == ChangeKind.COUNT and change.quantity < 0:
            problems.add(f"[{i}].quantity", "a count is zero or more")
    problems.raise_if_any(f"the {kind.value} is not valid")


def change_stock(
    db: Database,
    kind: ChangeKind,
    changes: Sequence[StockChange],
    source: str,
    key: str | None = None,
    *,
    refuse_unknown_skus: bool = False,
) -> StockResult:
    """Apply receipts, adjustments or counts in one transaction.

    With a ``key``, the same batch applied twice is applied once (the second call returns the
    first result with ``replayed``). Counts lock their rows in id order before reading them.
    With ``refuse_unknown_skus`` a SKU the catalog does not know is InvalidInput naming it
    (nothing is written); otherwise it is applied and reported in ``unknown_skus``.
    """
    _check_changes(kind, changes)
    if refuse_unknown_skus:
        with db.read() as conn:
            unknown = unknown_skus(conn, {c.sku for c in changes})
        if unknown:
            raise InvalidInput(
                f"{len(unknown)} SKU(s) are not in the catalog; add the products first",
                [
                    Problem(f"[{i}].sku", f"unknown SKU {c.sku!r}")
                    for i, c in enumerate(changes)
                    if c.sku in unknown
                ],
            )
    try:
        with db.transaction() as conn:
            if key is not None:
                replay = _claim_batch(conn, key, kind)
                if replay is not None:
                    return replay
            result = _change_stock(conn, kind, changes, source)
            if key is not None:
                conn.execute(
                    update(store.stock_batches)
                    .where(store.stock_batches.c.key == key)
                    .values(result=result.as_dict())
                )
            return result
    except IntegrityError:
        if key is None:
            raise
        with db.read() as conn:  # a concurrent call with the same key won
            replay = _stored_batch(conn, key)
        if replay is None:
            raise
        return replay


def _claim_batch(conn: Connection, key: str, kind: ChangeKind) -> StockResult | None:
    stored = _stored_batch(conn, key)
    if stored is not None:
        return stored
    conn.execute(
        insert(store.stock_batches).values(key=key, kind=kind.value, result={}, created_at=utcnow())
    )
    return None


def _stored_batch(conn: Connection, key: str) -> StockResult | None:
    row = conn.execute(
        select(store.stock_batches.c.result).where(store.stock_batches.c.key == key)
    ).first()
    if row is None or not row.result:
        return None
    return StockResult(**{**dict(row.result), "replayed": True})


def _change_stock(
    conn: Connection, kind: ChangeKind, changes: Sequence[StockChange], source: str
) -> StockResult:
    location_ids = {code: find_location(conn, code).id for code in {c.location for c in changes}}
    for pool in {c.pool for c in changes if c.pool}:
        if find_channel(conn, pool).mode != ChannelMode.INDEPENDENT:
            raise InvalidInput(f"channel {pool!r} is integrated and has no pool of its own")
    keyed = [(c, (c.sku, location_ids[c.location], c.pool or SHARED_POOL)) for c in changes]
    ids = store.ensure_stock_rows(conn, [k for _, k in keyed])
    movement_kind = {
        ChangeKind.RECEIPT: MovementKind.RECEIPT,
        ChangeKind.ADJUSTMENT: MovementKind.ADJUSTMENT,
        ChangeKind.COUNT: MovementKind.COUNT,
    }[kind]
    deltas: dict[int, int] = {}
    reasons: dict[int, str] = {}
    if kind == ChangeKind.COUNT:
        current = _lock_on_hand(conn, sorted({ids[k] for _, k in keyed}))
        for change, k in keyed:  # the last count of a row in the batch wins
            deltas[ids[k]] = change.quantity - current[ids[k]]
            reasons[ids[k]] = change.reason or "count"
    else:
        for change, k in keyed:
            deltas[ids[k]] = deltas.get(ids[k], 0) + change.quantity
            reasons[ids[k]] = change.reason or kind.value
    movements = [
        Movement(row, movement_kind.value, delta, 0, reasons[row], source)
        for row, delta in deltas.items()
        if delta
    ]
    store.apply_deltas(conn, movements)
    negative = _negative_rows(conn, [m.stock_level_id for m in movements])
    if negative:
        raise_alerts(conn, AlertKind.NEGATIVE_STOCK, negative, source)
    touched: dict[str, set[int]] = {}
    for _, (sku, loc, _pool) in keyed:
        touched.setdefault(sku, set()).add(loc)
    announce(conn, touched, kind.value)
    unknown = sorted(unknown_skus(conn, touched))
    return StockResult(
        kind=kind.value,
        rows=len(changes),
        movements=len(movements),
        flagged=len(negative),
        unknown_skus=unknown,
    )


def _lock_on_hand(conn: Connection, row_ids: list[int]) -> dict[int, int]:
    """Read rows' on-hand under a row lock taken in id order (SQLite holds the write lock)."""
    s = store.stock_levels.c
    rows = conn.execute(
        select(s.id, s.on_hand).where(s.id.in_(row_ids)).order_by(s.id).with_for_update()
    )
    return {r.id: r.on_hand for r in rows}


def _negative_rows(conn: Connection, row_ids: list[int]) -> list[tuple[str, int | None, int]]:
    if not row_ids:
        return []
    s = store.stock_levels.c
    rows = conn.execute(
        select(s.sku, s.location_id, s.on_hand).where(s.id.in_(row_ids), s.on_hand < 0)
    )
    return [(r.sku, r.location_id, r.on_hand) for r in rows]


def parse_stock_csv(text: str) -> list[StockChange]:
    """Rows of ``sku,location,quantity[,pool][,reason]`` (a header line is required)."""
    try:
        return _parse_stock_csv(text)
    except csv.Error as error:
        raise InvalidInput(f"the stock file is not readable CSV: {error}") from None


def _parse_stock_csv(text: str) -> list[StockChange]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    needed = {"sku", "location", "quantity"}
    if reader.fieldnames is None or not needed <= {f.strip() for f in reader.fieldnames}:
        raise InvalidInput("a stock file needs the columns sku, location and quantity")
    problems = ProblemList()
    changes: list[StockChange] = []
    for line, row in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        try:
            quantity = int(row["quantity"])
        except ValueError:
            problems.add(f"line {line}", f"quantity {row['quantity']!r} is not a whole number")
            continue
        if not row["sku"] or not row["location"]:
            problems.add(f"line {line}", "sku and location are required")
            continue
        changes.append(
            StockChange(
                row["sku"],
                row["location"],
                quantity,
                row.get("pool") or None,
                row.get("reason", ""),
            )
        )
    problems.raise_if_any("the stock file has errors; nothing was applied")
    return changes


def transfer_stock(
    db: Database,
    sku: str,
    from_location: str,
    to_location: str,
    quantity: int,
    source: str,
    pool: str | None = None,
) -> None:
    """Move sellable units between two locations; refused when the origin does not have them."""
    if not 0 < quantity <= MAX_QUANTITY:
        raise InvalidInput("a transfer moves at least one unit")
    if from_location == to_location:
        raise InvalidInput("a transfer goes between two different locations")
    with db.transaction() as conn:
        origin = find_location(conn, from_location)
        target = find_location(conn, to_location)
        key = pool or SHARED_POOL
        ids = store.ensure_stock_rows(conn, [(sku, origin.id, key), (sku, target.id, key)])
        out_row, in_row = ids[(sku, origin.id, key)], ids[(sku, target.id, key)]
        if not store.try_take(conn, out_row, quantity):
            raise Conflict(f"{from_location} does not have {quantity} sellable units of {sku}")
        reason = f"transfer {from_location} -> {to_location}"
        store.write_ledger(
            conn, [Movement(out_row, MovementKind.TRANSFER.value, -quantity, 0, reason, source)]
        )
        store.apply_deltas(
            conn, [Movement(in_row, MovementKind.TRANSFER.value, quantity, 0, reason, source)]
        )
        announce(conn, {sku: {origin.id, target.id}}, "transfer")


def allocate_to_channel(
    db: Database, channel: str, location: str, sku: str, quantity: int, source: str
) -> None:
    """Move units between the shared pool and an independent channel's own pool.

    A positive quantity fills the channel's pool; a negative one gives units back.
    """
    if quantity == 0 or abs(quantity) > MAX_QUANTITY:
        raise InvalidInput("an allocation moves at least one unit")
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        if target.mode != ChannelMode.INDEPENDENT:
            raise InvalidInput(f"channel {channel!r} is integrated and shares the stock")
        place = find_location(conn, location)
        _allocate(conn, target, place.id, sku, quantity, source)


def _allocate(
    conn: Connection, channel: Channel, location_id: int, sku: str, quantity: int, source: str
) -> None:
    ids = store.ensure_stock_rows(
        conn, [(sku, location_id, SHARED_POOL), (sku, location_id, channel.code)]
    )
    shared, own = ids[(sku, location_id, SHARED_POOL)], ids[(sku, location_id, channel.code)]
    giver, taker = (shared, own) if quantity > 0 else (own, shared)
    units = abs(quantity)
    if not store.try_take(conn, giver, units):
        raise Conflict(f"not enough sellable units of {sku} to move {units}")
    reason = f"allocation to {channel.code}" if quantity > 0 else f"allocation from {channel.code}"
    store.write_ledger(
        conn, [Movement(giver, MovementKind.ALLOCATION.value, -units, 0, reason, source)]
    )
    store.apply_deltas(
        conn, [Movement(taker, MovementKind.ALLOCATION.value, units, 0, reason, source)]
    )
    announce(conn, {sku: {location_id}}, "allocation")


def apply_allocation_shares(db: Database, channel: str, source: str) -> int:
    """Bring an independent channel's pools to their allocation shares of each SKU's stock.

    Only sellable units move; returns the number of (SKU, location) pools changed.
    """
    changed = 0
    with db.transaction() as conn:
        target = find_channel(conn, channel)
        if target.mode != ChannelMode.INDEPENDENT:
            raise InvalidInput(f"channel {channel!r} is integrated and shares the stock")
        c, s = store.channel_locations.c, store.stock_levels.c
        shares = dict(
            conn.execute(
                select(c.location_id, c.allocation_share).where(
                    c.channel_id == target.id, c.allocation_share.is_not(None)
                )
            ).all()
        )
        if not shares:
            return 0
        rows = conn.execute(
            select(s.sku, s.location_id, s.pool, s.on_hand, s.reserved, s.safety)
            .where(s.location_id.in_(shares), s.pool.in_([SHARED_POOL, target.code]))
            .order_by(s.id)
            .with_for_update()
        ).all()
        totals: dict[tuple[str, int], dict[str, Any]] = {}
        for stock_row in rows:
            key = (stock_row.sku, stock_row.location_id)
            totals.setdefault(key, {})[stock_row.pool] = stock_row
        for (sku, loc), pools in sorted(totals.items()):
            on_hand = sum(max(0, p.on_hand) for p in pools.values())
            own = pools.get(target.code)
            have = own.on_hand if own is not None else 0
            want = share_of(on_hand, shares[loc] or 0.0)
            delta = want - have
            if delta > 0:
                shared = pools.get(SHARED_POOL)
                delta = min(delta, _sellable(shared))
            elif delta < 0:
                delta = -min(-delta, _sellable(own))
            if delta:
                _allocate(conn, target, loc, sku, delta, source)
                changed += 1
    return changed


def _sellable(row: Row[Any] | None) -> int:
    if row is None:
        return 0
    return max(0, int(row.on_hand) - int(row.reserved) - int(row.safety))


# --- reading stock ------------------------------------------------------------------------


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location: str
    pool: str
    on_hand: int
    reserved: int
    safety: int

    @property
    def sellable(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)


def stock_levels(
    db: Database, sku: str | None = None, location: str | None = None, limit: int = 500
) -> list[StockLevel]:
    s, loc = store.stock_levels.c, store.locations.c
    query = (
        select(s.sku, loc.code, s.pool, s.on_hand, s.reserved, s.safety)
        .join_from(store.stock_levels, store.locations, s.location_id == loc.id)
        .order_by(s.sku, loc.code, s.pool)
        .limit(limit)
    )
    if sku is not None:
        query = query.where(s.sku == sku)
    if location is not None:
        query = query.where(loc.code == location)
    with db.read() as conn:
        return [StockLevel(*r) for r in conn.execute(query)]


def channel_positions(
    conn: Connection, channel: Channel, skus: Iterable[str]
) -> dict[str, list[StockPosition]]:
    """The stock rows each SKU has in the channel's pool at the channel's locations."""
    s, c = store.stock_levels.c, store.channel_locations.c
    wanted = sorted(set(skus))
    rows = conn.execute(
        select(s.sku, s.location_id, s.on_hand, s.reserved, s.safety)
        .join_from(store.stock_levels, store.channel_locations, c.location_id == s.location_id)
        .where(c.channel_id == channel.id, s.pool == pool_of(channel), s.sku.in_(wanted))
    )
    found: dict[str, list[StockPosition]] = {sku: [] for sku in wanted}
    for r in rows:
        found[r.sku].append(StockPosition(r.sku, r.location_id, r.on_hand, r.reserved, r.safety))
    return found


def available(db: Database, channel: str, skus: Sequence[str]) -> dict[str, int]:
    """Available-to-promise of each SKU on one channel (its locations, pool and buffer)."""
    with db.read() as conn:
        target = find_channel(conn, channel)
        buffer = channel_settings(conn, target.id).buffer
        positions = channel_positions(conn, target, skus)
        return {sku: available_to_promise(rows, buffer) for sku, rows in positions.items()}


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    sku: str
    location: str
    pool: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reason: str
    source: str
    flagged: bool
    created_at: datetime


def movements(
    db: Database,
    sku: str | None = None,
    location: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[LedgerEntry], str | None]:
    """The ledger, oldest first, one page at a time."""
    m, s, loc = store.stock_movements.c, store.stock_levels.c, store.locations.c
    query = (
        select(
            m.id, s.sku, loc.code, s.pool, m.kind, m.on_hand_delta, m.reserved_delta,
            m.reason, m.source, m.flagged, m.created_at,
        )
        .join_from(store.stock_movements, store.stock_levels, m.stock_level_id == s.id)
        .join(store.locations, s.location_id == loc.id)
        .where(m.id > decode_cursor(cursor))
        .order_by(m.id)
        .limit(limit + 1)
    )  # fmt: skip
    if sku is not None:
        query = query.where(s.sku == sku)
    if location is not None:
        query = query.where(loc.code == location)
    with db.read() as conn:
        entries = [LedgerEntry(*r) for r in conn.execute(query)]
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, (encode_cursor(entries[-1].id) if more and entries else None)


@dataclass(frozen=True)
class LedgerMismatch:
    sku: str
    location_id: int
    pool: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    ledger_reserved: int
    active_reservations: int


def ledger_mismatches(conn: Connection) -> list[LedgerMismatch]:
    """Stock rows whose on-hand or reserved differ from their ledger or live reservations."""
    s, m, r = store.stock_levels.c, store.stock_movements.c, store.reservations.c
    ledger = (
        select(
            m.stock_level_id,
            func.sum(m.on_hand_delta).label("on_hand"),
            func.sum(m.reserved_delta).label("reserved"),
        )
        .group_by(m.stock_level_id)
        .subquery()
    )
    live = (
        select(r.stock_level_id, func.sum(r.quantity).label("quantity"))
        .where(r.status == "active")
        .group_by(r.stock_level_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            s.sku,
            s.location_id,
            s.pool,
            s.on_hand,
            func.coalesce(ledger.c.on_hand, 0),
            s.reserved,
            func.coalesce(ledger.c.reserved, 0),
            func.coalesce(live.c.quantity, 0),
        )
        .join_from(store.stock_levels, ledger, ledger.c.stock_level_id == s.id, isouter=True)
        .join(live, live.c.stock_level_id == s.id, isouter=True)
    )
    return [
        LedgerMismatch(*row)
        for row in rows
        if not (row[3] == row[4] and row[5] == row[6] == row[7])
    ]


def check_ledger(db: Database) -> list[LedgerMismatch]:
    """Audit: every stock row equals the sum of its movements and of its live reservations."""
    with db.read() as conn:
        return ledger_mismatches(conn)


def location_addresses(conn: Connection) -> list[dict[str, Any]]:
    """Every location's address as stored (with a ``phone`` where one was given), for the
    customers context: a store's own number and address are no customer's."""
    rows = conn.execute(select(store.locations.c.address)).scalars().all()
    return [dict(r) for r in rows if isinstance(r, dict)]


@dataclass(frozen=True)
class PastMovement:
    """A movement that happened before the hub recorded it (a retailer's history)."""

    at: datetime
    location: str
    sku: str
    kind: MovementKind
    quantity: int  # on-hand delta
    source: str


def record_past_movements(db: Database, past: Sequence[PastMovement]) -> int:
    """Write history to the ledger with the times it happened, applying its deltas to stock
    (so on hand stays the sum of its movements). Returns how many were written."""
    if not past:
        return 0
    with db.transaction() as conn:
        ids = {
            loc.code: loc.id for loc in (find_location(conn, c) for c in {p.location for p in past})
        }
        rows = store.ensure_stock_rows(conn, {(p.sku, ids[p.location], SHARED_POOL) for p in past})
        store.apply_deltas(
            conn,
            [
                store.Movement(
                    rows[(p.sku, ids[p.location], SHARED_POOL)],
                    p.kind,
                    p.quantity,
                    0,
                    "history",
                    p.source,
                    at=p.at,
                )
                for p in past
            ],
        )
    return len(past)
