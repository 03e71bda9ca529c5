"""Pricing routes: price lists, prices (bulk upsert, CSV import), promotions, price resolution
with its breakdown, parity rules and the parity report. Amounts are decimal strings."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.inputs import Text, refuse_unread_file
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.api.reports import RejectionOut
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, Problem
from channelhub.pricing import importing, parity, prices, promotions, service
from channelhub.pricing.model import ParityBreak, PriceResolution, Promotion, PromotionKind

router = APIRouter(responses=AUTHENTICATED, tags=["pricing"])
NOT_FOUND = errors(404)
BOTH = errors(404, 409)


def _sane_time(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("time is out of range") from None
    if not 1900 <= value.year <= 9000:
        raise ValueError("time must fall between the years 1900 and 9000")
    return value


Time = Annotated[AwareDatetime, AfterValidator(_sane_time)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Sku = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Amount = Annotated[Decimal, Field(ge=0, lt=10**12, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2, allow_inf_nan=False)]
CodePath = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
SkuPath = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


# --- price lists --------------------------------------------------------------------------


class PriceListIn(BaseModel):
    channel: Code
    currency: Currency | None = Field(default=None, description="default: the channel's")
    name: Annotated[Text, Field(max_length=200)] = ""


class PriceListOut(BaseModel):
    code: str
    name: str
    channel: str
    currency: str
    prices: int
    created_at: datetime
    updated_at: datetime


def _price_list_out(p: service.PriceList) -> PriceListOut:
    return PriceListOut(**p.__dict__)


@router.get("/price-lists", response_model=list[PriceListOut])
def list_price_lists(
    _: ApiKey = Reader, db: Database = Depends(get_db), channel: Code | None = None
) -> list[PriceListOut]:
    return [_price_list_out(p) for p in service.list_price_lists(db, channel)]


@router.get("/price-lists/{code}", response_model=PriceListOut, responses=NOT_FOUND)
def get_price_list(
    code: CodePath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> PriceListOut:
    return _price_list_out(service.get_price_list(db, code))


@router.put("/price-lists/{code}", response_model=PriceListOut, responses=BOTH)
def put_price_list(
    code: CodePath, body: PriceListIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> PriceListOut:
    """Create a price list for a channel and currency, or rename it."""
    return _price_list_out(
        service.save_price_list(db, code, body.channel, body.currency, body.name)
    )


@router.delete("/price-lists/{code}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_price_list(code: CodePath, _: ApiKey = Writer, db: Database = Depends(get_db)) -> None:
    """Delete a price list and its prices (each removal is announced)."""
    service.delete_price_list(db, code)


# --- prices -------------------------------------------------------------------------------


class PriceIn(BaseModel):
    base_price: Amount
    sale_price: Amount | None = None
    sale_starts_at: Time | None = None
    sale_ends_at: Time | None = None


class PriceRowIn(PriceIn):
    price_list: Code
    sku: Sku


class PriceOut(BaseModel):
    price_list: str
    channel: str
    sku: str
    currency: str
    base_price: Decimal
    sale_price: Decimal | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    updated_at: datetime


class PricePageOut(BaseModel):
    items: list[PriceOut]
    next_cursor: str | None


class SaveReportOut(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int
    events: int = Field(description="pricing.price_changed events written")
    rejected: list[RejectionOut]


class ImportReportOut(SaveReportOut):
    file_errors: list[str]


def _report_out(r: prices.SaveReport) -> SaveReportOut:
    return SaveReportOut(
        rows=r.rows,
        created=r.created,
        updated=r.updated,
        unchanged=r.unchanged,
        events=r.events,
        rejected=[RejectionOut(**x.as_dict()) for x in r.rejected],
    )


def _price_out(p: prices.StoredPrice) -> PriceOut:
    return PriceOut(
        price_list=p.price_list,
        channel=p.channel,
        sku=p.sku,
        currency=p.currency,
        base_price=p.base_price,
        sale_price=p.sale_price,
        sale_starts_at=p.sale_starts_at,
        sale_ends_at=p.sale_ends_at,
        updated_at=p.updated_at,
    )


@router.get("/prices", response_model=PricePageOut, responses=NOT_FOUND)
def list_prices(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    price_list: Code | None = None,
    sku: Sku | None = None,
    cursor: Annotated[str, Field(max_length=200)] | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> PricePageOut:
    """Stored prices (not resolved), filtered by price list and/or SKU; pages follow
    ``next_cursor``."""
    page = prices.list_prices(db, price_list, sku, cursor, limit)
    return PricePageOut(items=[_price_out(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/prices/batch", response_model=SaveReportOut)
def upsert_prices(
    body: Annotated[list[PriceRowIn], Field(min_length=1, max_length=1000)],
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
    atomic: bool = Query(default=False, description="write nothing if any row is rejected"),
) -> SaveReportOut:
    """Upsert up to 1,000 prices; each row is written whole or rejected (line = its index).
    Sending the same batch again changes nothing."""
    items = [
        prices.PriceInput(
            sku=row.sku,
            base_price=row.base_price,
            sale_price=row.sale_price,
            sale_starts_at=row.sale_starts_at,
            sale_ends_at=row.sale_ends_at,
            price_list=row.price_list,
            line=i,
        )
        for i, row in enumerate(body)
    ]
    return _report_out(prices.save_prices(db, items, atomic=atomic, actor=f"api:{key.name}"))


@router.put("/price-lists/{code}/prices/{sku}", response_model=PriceOut, responses=NOT_FOUND)
def put_price(
    code: CodePath,
    sku: SkuPath,
    body: PriceIn,
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> PriceOut:
    """Set one SKU's base price and optional sale price in a price list."""
    service.get_price_list(db, code)
    item = prices.PriceInput(
        sku, body.base_price, body.sale_price, body.sale_starts_at, body.sale_ends_at, code
    )
    report = prices.save_prices(db, [item], actor=f"api:{key.name}")
    if report.rejected:
        r = report.rejected[0]
        raise InvalidInput(
            f"the price of {sku} was not saved: {r.reason}", [Problem(r.column or "body", r.reason)]
        )
    return _price_out(prices.list_prices(db, code, sku, None, 1).items[0])


@router.delete(
    "/price-lists/{code}/prices/{sku}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
def delete_price(
    code: CodePath, sku: SkuPath, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> None:
    prices.delete_price(db, code, sku)


@router.post("/prices/import", response_model=ImportReportOut)
async def import_prices(
    request: Request,
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
    price_list: Code | None = Query(default=None, description="for rows without price_list"),
    atomic: bool = Query(default=False, description="write nothing if any row is rejected"),
) -> ImportReportOut:
    """Import a price CSV sent as the body (columns: price_list, sku, base_price, sale_price,
    sale_starts_at, sale_ends_at); each rejected row is listed with line, column and reason."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "prices.csv"
        with path.open("wb") as sink:
            async for chunk in request.stream():
                sink.write(chunk)
        report = await run_in_threadpool(
            importing.import_prices, db, path, price_list, atomic=atomic, actor=f"api:{key.name}"
        )
    taken = report.prices.created + report.prices.updated + report.prices.unchanged
    refuse_unread_file(report.file_errors, taken)
    return ImportReportOut(
        **_report_out(report.prices).model_dump(), file_errors=report.file_errors
    )


# --- resolution ---------------------------------------------------------------------------


class AppliedOut(BaseModel):
    code: str
    name: str
    kind: PromotionKind
    value: Decimal
    discount: Decimal
    price_after: Decimal


class PassedOverOut(BaseModel):
    code: str
    reason: str


class ResolutionOut(BaseModel):
    sku: str
    channel: str
    currency: str
    at: datetime
    segment: str | None
    base_price: Decimal
    sale_price: Decimal | None = Field(description="the active sale price, if any")
    sale_ends_at: datetime | None
    promotions_applied: list[AppliedOut]
    promotions_passed_over: list[PassedOverOut]
    total_discount: Decimal
    effective_price: Decimal


def resolution_out(r: PriceResolution) -> ResolutionOut:
    return ResolutionOut(
        sku=r.sku,
        channel=r.channel,
        currency=r.currency,
        at=r.at,
        segment=r.segment,
        base_price=r.base_price,
        sale_price=r.sale_price,
        sale_ends_at=r.sale_ends_at,
        promotions_applied=[AppliedOut(**a.__dict__) for a in r.applied],
        promotions_passed_over=[PassedOverOut(**p.__dict__) for p in r.passed_over],
        total_discount=r.total_discount,
        effective_price=r.effective_price,
    )


@router.get("/prices/resolve", response_model=ResolutionOut, responses=NOT_FOUND)
def resolve_price(
    sku: Sku,
    channel: Code,
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    segment: Code | None = Query(default=None, description="customer segment"),
    at: Time | None = Query(default=None, description="default: now"),
    currency: Currency | None = Query(default=None, description="default: the channel's"),
) -> ResolutionOut:
    """The effective price of a SKU on a channel, with the breakdown that explains it."""
    return resolution_out(service.resolve(db, sku, channel, segment, at, currency))


@router.post("/prices/announce-scheduled", response_model=dict[str, int])
def announce_scheduled(_: ApiKey = Writer, db: Database = Depends(get_db)) -> dict[str, int]:
    """Announce prices changed by sales and promotions that started or ended since the last
    call (the worker calls this periodically)."""
    return {"events": promotions.announce_scheduled_changes(db)}


# --- promotions ---------------------------------------------------------------------------


class PromotionIn(BaseModel):
    name: Annotated[Text, Field(max_length=200)] = ""
    kind: PromotionKind
    value: Annotated[Decimal, Field(gt=0, lt=10**12, allow_inf_nan=False)] = Field(
        description="percentage (0-100, two decimals) or amount in currency"
    )
    currency: Currency | None = Field(default=None, description="for fixed_amount only")
    skus: list[Sku] = Field(default_factory=list, max_length=10_000)
    categories: list[Code] = Field(
        default_factory=list, max_length=1000, description="each includes its subtree"
    )
    channels: list[Code] = Field(default_factory=list, max_length=1000)
    segments: list[Code] = Field(default_factory=list, max_length=1000)
    starts_at: Time | None = None
    ends_at: Time | None = None
    is_stackable: bool = Field(default=False, description="combines with other stackables")
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    applies_to_sale_items: bool = True
    is_active: bool = True


class PromotionCreateIn(PromotionIn):
    code: Code


class PromotionOut(PromotionIn):
    code: str


def _promotion(code: str, body: PromotionIn) -> Promotion:
    return Promotion(
        code=code,
        kind=body.kind,
        value=body.value,
        name=body.name,
        currency=body.currency,
        skus=frozenset(body.skus),
        categories=frozenset(body.categories),
        channels=frozenset(body.channels),
        segments=frozenset(body.segments),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        is_stackable=body.is_stackable,
        priority=body.priority,
        applies_to_sale_items=body.applies_to_sale_items,
        is_active=body.is_active,
    )


def _promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(
        code=p.code,
        name=p.name,
        kind=p.kind,
        value=p.value,
        currency=p.currency,
        skus=sorted(p.skus),
        categories=sorted(p.categories),
        channels=sorted(p.channels),
        segments=sorted(p.segments),
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        is_stackable=p.is_stackable,
        priority=p.priority,
        applies_to_sale_items=p.applies_to_sale_items,
        is_active=p.is_active,
    )


@router.get("/promotions", response_model=list[PromotionOut])
def list_promotions(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    running_at: Time | None = Query(default=None, description="only those running then"),
    channel: Code | None = None,
) -> list[PromotionOut]:
    return [_promotion_out(p) for p in promotions.list_promotions(db, running_at, channel)]


@router.get("/promotions/{code}", response_model=PromotionOut, responses=NOT_FOUND)
def get_promotion(
    code: CodePath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> PromotionOut:
    return _promotion_out(promotions.get_promotion(db, code))


@router.post(
    "/promotions",
    response_model=PromotionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
def create_promotion(
    body: PromotionCreateIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> PromotionOut:
    """Create a promotion; prices it changes now are announced in the same transaction."""
    return _promotion_out(promotions.create_promotion(db, _promotion(body.code, body)))


@router.put("/promotions/{code}", response_model=PromotionOut)
def put_promotion(
    code: CodePath, body: PromotionIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> PromotionOut:
    """Create or replace a promotion."""
    saved, _created = promotions.save_promotion(db, _promotion(code, body))
    return _promotion_out(saved)


@router.delete("/promotions/{code}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_promotion(code: CodePath, _: ApiKey = Writer, db: Database = Depends(get_db)) -> None:
    promotions.delete_promotion(db, code)


# --- parity -------------------------------------------------------------------------------


class ParityRuleIn(BaseModel):
    channel: Code
    other_channel: Code | None = Field(default=None, description="none: against any channel")
    max_percent: Percent | None = None
    max_amount: Amount | None = None
    currency: Currency | None = Field(default=None, description="needed with max_amount")


class ParityRuleOut(ParityRuleIn):
    id: int


def _rule_out(stored: parity.StoredParityRule) -> ParityRuleOut:
    r = stored.rule
    return ParityRuleOut(
        id=stored.id,
        channel=r.channel,
        other_channel=r.other_channel,
        max_percent=r.max_percent,
        max_amount=r.max_amount,
        currency=r.currency,
    )


@router.get("/parity/rules", response_model=list[ParityRuleOut])
def list_parity_rules(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[ParityRuleOut]:
    return [_rule_out(r) for r in parity.list_parity_rules(db)]


@router.put("/parity/rules", response_model=ParityRuleOut, responses=NOT_FOUND)
def put_parity_rule(
    body: ParityRuleIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> ParityRuleOut:
    """Set how far prices may differ between two channels (or one channel and any other):
    the greater of the percentage (of the lower price) and the amount."""
    return _rule_out(
        parity.save_parity_rule(
            db, body.channel, body.other_channel, body.max_percent, body.max_amount, body.currency
        )
    )


@router.delete(
    "/parity/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
)
def delete_parity_rule(
    rule_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> None:
    parity.delete_parity_rule(db, rule_id)


class ParityBreakOut(BaseModel):
    sku: str
    currency: str
    channel: str
    price: Decimal | None
    other_channel: str
    other_price: Decimal | None
    difference: Decimal | None = Field(description="none when one channel has no price")
    allowed: Decimal
    rule: str | None


class ParityReportOut(BaseModel):
    at: datetime
    segment: str | None
    compared: dict[str, list[str]] = Field(description="currency -> channels compared")
    not_compared: dict[str, str] = Field(description="channel -> why it was not compared")
    skus_checked: int
    breaks: list[ParityBreakOut]
    truncated: bool


def _break_out(b: ParityBreak) -> ParityBreakOut:
    return ParityBreakOut(**b.__dict__)


@router.get("/parity/report", response_model=ParityReportOut, responses=NOT_FOUND)
def parity_report(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    at: Time | None = Query(default=None, description="default: now"),
    segment: Code | None = None,
    channel: list[Code] | None = Query(
        default=None, max_length=100, description="default: every integrated channel"
    ),
    limit: int = Query(default=1000, ge=1, le=10_000),
) -> ParityReportOut:
    """Every SKU whose effective price differs between channels of one currency beyond the
    parity rules (no currency conversion: channels of other currencies are not compared)."""
    report = parity.parity_report(db, at, segment, channel, limit)
    return ParityReportOut(
        at=report.at,
        segment=report.segment,
        compared=report.compared,
        not_compared=report.not_compared,
        skus_checked=report.skus_checked,
        breaks=[_break_out(b) for b in report.breaks],
        truncated=report.truncated,
    )
