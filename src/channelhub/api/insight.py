"""Analytics routes: sales per channel and over time, customers and journeys across channels,
inventory health and sync health, as JSON or, with ``format=csv``, as CSV; the rollup refresh
and unit costs for margins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.insight import analytics, costs, crosschannel, rollup
from channelhub.insight.analytics import (
    ChannelSales,
    ConnectionHealth,
    Interval,
    InventoryHealth,
    Period,
    SalesPoint,
)
from channelhub.insight.audit import AuditReport, run_audit
from channelhub.insight.crosschannel import CustomerGroup, JourneyFigure, SegmentChannelMix

router = APIRouter(prefix="/analytics", responses=AUTHENTICATED | errors(422), tags=["analytics"])
audit_router = APIRouter(responses=AUTHENTICATED | errors(404, 422), tags=["audit"])

#: Readers refresh the rollups first when they are older than this (recomputing only the
#: days that changed is cheap: today, usually).
MAX_AGE = timedelta(seconds=5)

Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
Day = Annotated[date | None, Query(description="YYYY-MM-DD (UTC)")]


def _fresh(db: Database) -> Database:
    rollup.refresh_if_stale(db, MAX_AGE)
    return db


def _period(start: date | None, end: date | None) -> Period:
    return Period.parse(start.isoformat() if start else None, end.isoformat() if end else None)


#: The routes that answer CSV with ``format=csv`` say so in the OpenAPI document.
CSV_TOO: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


def _csv(rows: list[Any], name: str) -> Response:
    return Response(
        analytics.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/sales", response_model=list[ChannelSales], responses=CSV_TOO)
def sales(
    start: Day = None,
    end: Day = None,
    format: Format = "json",
    db: Database = Depends(get_db),
    _: ApiKey = Reader,
) -> Any:
    """Revenue, orders, units, average order value, return rate and margin per channel."""
    with _fresh(db).read() as conn:
        rows = analytics.sales_by_channel(conn, _period(start, end))
    return _csv(rows, "sales") if format == "csv" else rows


@router.get("/sales/series", response_model=list[SalesPoint], responses=CSV_TOO)
def series(
    start: Day = None,
    end: Day = None,
    interval: Interval = Interval.DAY,
    channel: Annotated[str | None, Query(max_length=100)] = None,
    format: Format = "json",
    db: Database = Depends(get_db),
    _: ApiKey = Reader,
) -> Any:
    """Orders, units and revenue per day, week (from Monday) or month, per channel."""
    with _fresh(db).read() as conn:
        rows = analytics.sales_over_time(conn, _period(start, end), interval, channel)
    return _csv(rows, "sales-series") if format == "csv" else rows


Fresh = Annotated[
    bool,
    Query(description="compute now, not the snapshot (30 s to 30 min old, by its cost)"),
]


#: The cross-channel reports: path, the report's name, its row type, and what it answers.
CROSS_CHANNEL = (
    (
        "/customers",
        "customers",
        CustomerGroup,
        "Customers who bought in more than one channel against those who bought in one, and "
        "online-only against store-only against both: customers, orders, revenue per customer; "
        "orders linked to no customer are counted apart (``not_linked``).",
    ),
    (
        "/journeys",
        "journeys",
        JourneyFigure,
        "Journeys across channels that ended in the period: researched online and bought in a "
        "store, bought online to collect or returned in a store, and more (see "
        "``description``).",
    ),
    (
        "/segments/channels",
        "segment_channels",
        SegmentChannelMix,
        "Channel mix per RFM segment: each channel's customers, orders and share of revenue.",
    ),
)


def _report_route(report: str) -> Callable[..., Any]:
    """The route serving one cross-channel report from its snapshot, as JSON or CSV, with
    ``X-Computed-At`` saying when it was computed."""

    def route(
        response: Response,
        start: Day = None,
        end: Day = None,
        format: Format = "json",
        fresh: Fresh = False,
        db: Database = Depends(get_db),
        _: ApiKey = Reader,
    ) -> Any:
        found = crosschannel.snapshot(
            db, report, _period(start, end), timedelta(0) if fresh else None
        )
        computed_at = found.computed_at.isoformat()
        if format == "csv":
            answer = _csv(found.rows, report.replace("_", "-"))
            answer.headers["X-Computed-At"] = computed_at
            return answer
        response.headers["X-Computed-At"] = computed_at
        return found.rows

    return route


for path, report, row, description in CROSS_CHANNEL:
    router.add_api_route(
        path,
        _report_route(report),
        methods=["GET"],
        name=report,
        response_model=list[row],  # type: ignore[valid-type]
        responses=CSV_TOO,
        description=description,
    )


@router.get("/inventory", response_model=InventoryHealth)
def inventory(
    as_of: Day = None,
    window_days: Annotated[int, Query(ge=1, le=366)] = 28,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    slow_units: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    db: Database = Depends(get_db),
    _: ApiKey = Reader,
) -> Any:
    """Days of cover, stockouts and sell-through per channel, slow movers, and where stock
    sits against where it sells."""
    with _fresh(db).read() as conn:
        return analytics.inventory_health(conn, as_of, window_days, limit, slow_units)


@router.get("/sync", response_model=list[ConnectionHealth], responses=CSV_TOO)
def sync(format: Format = "json", db: Database = Depends(get_db), _: ApiKey = Reader) -> Any:
    """Per connection: queued jobs and the lag of the oldest, failures, dead letters and the
    deliveries of the last hour."""
    with db.read() as conn:
        rows = analytics.sync_health(conn)
    return _csv(rows, "sync-health") if format == "csv" else rows


class RefreshOut(BaseModel):
    days: int
    rebuilt: bool
    seconds: float


@router.post("/refresh", response_model=RefreshOut)
def refresh(
    rebuild: bool = False, db: Database = Depends(get_db), _: ApiKey = Writer
) -> RefreshOut:
    """Bring the sales rollups up to date now (``rebuild`` recomputes every day)."""
    result = rollup.refresh(db, rebuild=rebuild)
    return RefreshOut(days=result.days, rebuilt=result.rebuilt, seconds=result.seconds)


class CostIn(BaseModel):
    sku: Annotated[str, Field(min_length=1, max_length=100)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    unit_cost: Annotated[Decimal, Field(ge=0, le=Decimal("1e12"))]


class CostsOut(BaseModel):
    saved: int


@router.put("/costs", response_model=CostsOut)
def put_costs(
    body: Annotated[list[CostIn], Field(max_length=10_000)],
    db: Database = Depends(get_db),
    _: ApiKey = Writer,
) -> CostsOut:
    """Set unit costs (for margins). The days' margins follow on the next rebuild."""
    saved = costs.save_costs(db, [(c.sku, c.currency, c.unit_cost) for c in body])
    return CostsOut(saved=saved)


@audit_router.get("/audit", response_model=AuditReport)
def audit(
    channel: Annotated[list[str] | None, Query(max_length=50)] = None,
    read_back: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    db: Database = Depends(get_db),
    _: ApiKey = Reader,
) -> AuditReport:
    """The channel-consistency audit: findings (channel, item, what is wrong, what to do),
    counts per check and a score per channel. ``read_back`` also asks each platform for its
    stock and prices where its API allows."""
    return run_audit(db, read_back=read_back, channel_codes=channel, limit=limit)
