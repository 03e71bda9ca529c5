"""Inventory routes: locations, channel links and settings, stock levels and availability,
receipts, adjustments and counts (JSON or CSV, idempotent by ``Idempotency-Key``),
transfers, pools of independent channels, the ledger, alerts and cart holds."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, Field

from channelhub.api.boundary import MAX_STOCK_CSV, BodyTooLarge
from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.inventory import reserving, service
from channelhub.inventory.model import Address, Location, LocationKind
from channelhub.inventory.service import ChangeKind, ShortagePolicy

# Stock and order routes may name a missing channel, location, SKU or order (404) or
# meet a state that refuses the step (409).
router = APIRouter(responses=AUTHENTICATED | errors(404, 409), tags=["inventory"])

MAX_INT = 2**31 - 1


def _no_control(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_control)]
Sku = Annotated[Text, Field(min_length=1, max_length=100)]
LocationCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
LocationPath = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
ChannelPath = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
ChannelCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
Units = Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")
]


# --- locations ----------------------------------------------------------------------------


class AddressIn(BaseModel):
    line1: Annotated[Text, Field(max_length=200)] = ""
    city: Annotated[Text, Field(max_length=100)] = ""
    postal_code: Annotated[Text, Field(max_length=20)] = ""
    country: Annotated[Text, Field(max_length=2)] = ""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class LocationIn(BaseModel):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    kind: LocationKind
    address: AddressIn = Field(default_factory=AddressIn)
    ships: bool = True
    pickup: bool = False
    accepts_returns: bool = True
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    safety_stock: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0


class LocationOut(LocationIn):
    code: str


def _location_out(location: Location) -> LocationOut:
    a = location.address
    return LocationOut(
        code=location.code,
        name=location.name,
        kind=location.kind,
        address=AddressIn(
            line1=a.line1,
            city=a.city,
            postal_code=a.postal_code,
            country=a.country,
            latitude=a.latitude,
            longitude=a.longitude,
        ),
        ships=location.ships,
        pickup=location.pickup,
        accepts_returns=location.accepts_returns,
        priority=location.priority,
        safety_stock=location.safety_stock,
    )


@router.get("/locations", response_model=list[LocationOut])
def list_locations(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[LocationOut]:
    return [_location_out(loc) for loc in service.list_locations(db)]


@router.get("/locations/{code}", response_model=LocationOut)
def get_location(
    code: LocationPath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> LocationOut:
    return _location_out(service.get_location(db, code))


@router.put("/locations/{code}", response_model=LocationOut)
def put_location(
    code: LocationPath, body: LocationIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> LocationOut:
    """Create or update a warehouse, store, 3PL or damaged-goods location."""
    a = body.address
    spec = service.LocationInput(
        code=code,
        name=body.name,
        kind=body.kind,
        address=Address(a.line1, a.city, a.postal_code, a.country, a.latitude, a.longitude),
        ships=body.ships,
        pickup=body.pickup,
        accepts_returns=body.accepts_returns,
        priority=body.priority,
        safety_stock=body.safety_stock,
    )
    return _location_out(service.save_location(db, spec))


# --- channel links and settings -----------------------------------------------------------


class LinkIn(BaseModel):
    location: LocationCode
    allocation_share: Annotated[float, Field(ge=0, le=1)] | None = None


@router.get("/channels/{code}/locations", response_model=list[LinkIn])
def get_links(
    code: ChannelPath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[LinkIn]:
    return [
        LinkIn(location=link.location, allocation_share=link.allocation_share)
        for link in service.channel_links(db, code)
    ]


@router.put("/channels/{code}/locations", response_model=list[LinkIn])
def put_links(
    code: ChannelPath,
    body: Annotated[list[LinkIn], Field(max_length=500)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> list[LinkIn]:
    """Replace the locations serving the channel, in order of preference."""
    links = [service.ChannelLink(link.location, link.allocation_share) for link in body]
    service.link_channel(db, code, links)
    return body


class SettingsIn(BaseModel):
    buffer: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0
    shortage_policy: ShortagePolicy = ShortagePolicy.BACKORDER
    split_allowed: bool = True


@router.get("/channels/{code}/stock-settings", response_model=SettingsIn)
def get_settings(
    code: ChannelPath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> SettingsIn:
    found = service.get_channel_settings(db, code)
    return SettingsIn(
        buffer=found.buffer,
        shortage_policy=found.shortage_policy,
        split_allowed=found.split_allowed,
    )


@router.put("/channels/{code}/stock-settings", response_model=SettingsIn)
def put_settings(
    code: ChannelPath, body: SettingsIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> SettingsIn:
    """The channel's buffer (units never advertised), shortage policy and split rule."""
    settings = service.ChannelStockSettings(body.buffer, body.shortage_policy, body.split_allowed)
    service.set_channel_settings(db, code, settings)
    return body


@router.get("/channels/{code}/availability", response_model=dict[str, int])
def availability(
    code: ChannelPath,
    sku: Annotated[list[Sku], Query(min_length=1, max_length=200)],
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> dict[str, int]:
    """Available-to-promise of each SKU on this channel."""
    return service.available(db, code, sku)


class AllocationIn(BaseModel):
    location: LocationCode
    sku: Sku
    quantity: Units


@router.post("/channels/{code}/allocations", status_code=status.HTTP_204_NO_CONTENT)
def allocate(
    code: ChannelPath, body: AllocationIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> None:
    """Move units into (positive) or out of (negative) an independent channel's own pool."""
    service.allocate_to_channel(db, code, body.location, body.sku, body.quantity, "api")


@router.post("/channels/{code}/allocations/apply-shares", response_model=dict[str, int])
def apply_shares(
    code: ChannelPath, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> dict[str, int]:
    """Bring the channel's pools to their allocation shares."""
    return {"changed": service.apply_allocation_shares(db, code, "api")}


# --- stock --------------------------------------------------------------------------------


class StockLevelOut(BaseModel):
    sku: str
    location: str
    pool: str
    on_hand: int
    reserved: int
    safety: int
    sellable: int


@router.get("/stock", response_model=list[StockLevelOut])
def list_stock(
    sku: Sku | None = None,
    location: LocationCode | None = None,
    limit: int = Query(default=500, ge=1, le=5000),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[StockLevelOut]:
    return [
        StockLevelOut(
            sku=r.sku,
            location=r.location,
            pool=r.pool,
            on_hand=r.on_hand,
            reserved=r.reserved,
            safety=r.safety,
            sellable=r.sellable,
        )
        for r in service.stock_levels(db, sku, location, limit)
    ]


class StockChangeIn(BaseModel):
    sku: Sku
    location: LocationCode
    quantity: Units
    pool: ChannelCode | None = None
    reason: Annotated[Text, Field(max_length=200)] = ""


class StockResultOut(BaseModel):
    kind: str
    rows: int
    movements: int
    flagged: int
    unknown_skus: list[str]
    replayed: bool


def _result(result: service.StockResult) -> StockResultOut:
    return StockResultOut(**result.as_dict())


@router.post("/stock/{kind}", response_model=StockResultOut)
def change_stock(
    kind: ChangeKind,
    body: Annotated[list[StockChangeIn], Field(min_length=1, max_length=10_000)],
    idempotency_key: IdempotencyKey = None,
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> StockResultOut:
    """Receipts and adjustments add their quantity; counts set it. Send an Idempotency-Key to
    make a retried request harmless. A SKU the catalog does not know is a 422 naming it."""
    changes = [service.StockChange(c.sku, c.location, c.quantity, c.pool, c.reason) for c in body]
    return _result(
        service.change_stock(db, kind, changes, "api", idempotency_key, refuse_unknown_skus=True)
    )


@router.post(
    "/stock/{kind}/csv",
    response_model=StockResultOut,
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def change_stock_csv(
    kind: ChangeKind,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> StockResultOut:
    """The same from a CSV body with columns sku, location, quantity[, pool][, reason]."""
    from fastapi.concurrency import run_in_threadpool

    raw = await request.body()
    if len(raw) > MAX_STOCK_CSV:  # refused at the door already; kept for direct callers
        raise BodyTooLarge(MAX_STOCK_CSV)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the stock file is not UTF-8 text") from None
    if "\x00" in text:
        raise InvalidInput("NUL characters are not allowed")
    changes = service.parse_stock_csv(text)
    if not changes:
        raise InvalidInput("the stock file has no rows")
    result = await run_in_threadpool(
        functools.partial(service.change_stock, refuse_unknown_skus=True),
        db,
        kind,
        changes,
        "api:csv",
        idempotency_key,
    )
    return _result(result)


class TransferIn(BaseModel):
    sku: Sku
    from_location: LocationCode
    to_location: LocationCode
    quantity: Annotated[int, Field(ge=1, le=1_000_000_000)]
    pool: ChannelCode | None = None


@router.post("/stock-transfers", status_code=status.HTTP_204_NO_CONTENT)
def transfer(body: TransferIn, _: ApiKey = Writer, db: Database = Depends(get_db)) -> None:
    """Move sellable units from one location to another."""
    service.transfer_stock(
        db, body.sku, body.from_location, body.to_location, body.quantity, "api", body.pool
    )


class MovementOut(BaseModel):
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


class MovementPage(BaseModel):
    items: list[MovementOut]
    next_cursor: str | None


@router.get("/stock-movements", response_model=MovementPage)
def list_movements(
    sku: Sku | None = None,
    location: LocationCode | None = None,
    cursor: Annotated[str, Field(max_length=200)] | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> MovementPage:
    """The append-only ledger, oldest first."""
    entries, next_cursor = service.movements(db, sku, location, cursor, limit)
    return MovementPage(items=[MovementOut(**vars(e)) for e in entries], next_cursor=next_cursor)


class AlertOut(BaseModel):
    id: int
    kind: str
    sku: str
    location: str | None
    quantity: int
    source: str
    created_at: datetime
    resolved_at: datetime | None


@router.get("/stock-alerts", response_model=list[AlertOut])
def list_alerts(
    include_resolved: bool = False, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[AlertOut]:
    """Negative stock, oversold units and unknown SKUs waiting for follow-up."""
    return [AlertOut(**vars(a)) for a in service.list_alerts(db, include_resolved)]


@router.post("/stock-alerts/{alert_id}/resolve", status_code=status.HTTP_204_NO_CONTENT)
def resolve_alert(
    alert_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> None:
    service.resolve_alert(db, alert_id)


class MismatchOut(BaseModel):
    sku: str
    location_id: int
    pool: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    ledger_reserved: int
    active_reservations: int


@router.get("/stock-audit", response_model=list[MismatchOut])
def audit(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[MismatchOut]:
    """Stock rows that disagree with their ledger or live reservations (empty when sound)."""
    return [MismatchOut(**vars(m)) for m in service.check_ledger(db)]


# --- cart holds ---------------------------------------------------------------------------


class HoldIn(BaseModel):
    channel: ChannelCode
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    ttl_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 900


class HoldOut(BaseModel):
    cart: str
    sku: str
    location: str
    quantity: int
    expires_at: datetime


CartPath = Annotated[str, PathParam(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


@router.post("/carts/{cart}/holds", response_model=list[HoldOut], status_code=201)
def hold(
    cart: CartPath, body: HoldIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> list[HoldOut]:
    """Hold units for a cart until it checks out or the hold expires."""
    holds = reserving.reserve_for_cart(
        db, body.channel, cart, body.sku, body.quantity, body.ttl_seconds
    )
    return [HoldOut(**vars(h)) for h in holds]


@router.delete("/carts/{cart}/holds", response_model=dict[str, int])
def release_cart(
    cart: CartPath, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> dict[str, int]:
    return {"released": reserving.release_cart(db, cart)}


@router.post("/cart-holds/expire", response_model=dict[str, int])
def expire(_: ApiKey = Writer, db: Database = Depends(get_db)) -> dict[str, int]:
    """Release every hold whose time is up (the worker calls this on a schedule)."""
    return {"released": reserving.release_expired(db)}
