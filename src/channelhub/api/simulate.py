"""Replay routes: the hub's own history under multichannel and omnichannel set-ups, as JSON,
CSV or a self-contained HTML report, and the order lines behind each figure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from channelhub.api.deps import Reader, get_db
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.insight import simulation
from channelhub.insight.analytics import Period
from channelhub.insight.simulation.history import parse_buffers, parse_sync

router = APIRouter(prefix="/simulate", responses=AUTHENTICATED | errors(422), tags=["simulate"])

Day = Annotated[date | None, Query(description="YYYY-MM-DD (UTC)")]
Sync = Annotated[
    list[str], Query(description="CHANNEL=MINUTES, a channel's sync interval; repeatable")
]
Propagation = Annotated[
    float, Query(ge=0, le=86_400, description="seconds an integrated channel lags")
]
Buffers = Annotated[str, Query(max_length=100, description="buffers tried for set-up (c)")]
Weight = Annotated[
    Decimal, Query(ge=0, le=1000, description="a cancelled oversale's cost against a lost sale")
]


class ReplayLine(BaseModel):
    setup: str
    outcome: str
    order: str
    channel: str
    sku: str
    quantity: int
    value: str
    placed_at: str


def _replay(
    db: Database,
    start: date | None,
    end: date | None,
    sync: list[str],
    propagation_seconds: float,
    buffers: str,
    weight: Decimal,
    keep_lines: int | None = 100,
) -> tuple[simulation.Comparison, str]:
    first, last = Period.parse(
        start.isoformat() if start else None, end.isoformat() if end else None, default_days=90
    ).bounds()
    history = simulation.with_settings(
        simulation.from_hub(db, first, last, parse_sync(sync)),
        propagation_seconds,
        parse_buffers(buffers),
        weight,
    )
    return simulation.run(history, keep_lines), history.currency


@router.get(
    "",
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            }
        }
    },
)
def simulate(
    start: Day = None,
    end: Day = None,
    sync: Sync = [],  # noqa: B006 - FastAPI copies the default per request
    propagation_seconds: Propagation = 5.0,
    buffers: Buffers = "0,1,2,3,5",
    oversell_weight: Weight = Decimal(1),
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",
    db: Database = Depends(get_db),
    _: ApiKey = Reader,
) -> Any:
    """Replay the period (90 days up to today by default) under (a) full listing, (b) split
    stock, (c) tuned buffers and (d) one integrated pool; with what moving each channel saves."""
    comparison, currency = _replay(
        db, start, end, sync, propagation_seconds, buffers, oversell_weight
    )
    if format == "csv":
        return Response(
            simulation.figures_csv(comparison),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="simulation.csv"'},
        )
    if format == "html":
        from channelhub.admin.simulation import standalone_html

        return Response(
            standalone_html(comparison, currency, oversell_weight),
            media_type="text/html; charset=utf-8",
        )
    return simulation.summary(comparison, currency, oversell_weight)


@router.get("/lines", response_model=list[ReplayLine])
def lines(
    start: Day = None,
    end: Day = None,
    setup: Annotated[str | None, Query(max_length=100)] = None,
    outcome: simulation.Outcome | None = None,
    sync: Sync = [],  # noqa: B006 - FastAPI copies the default per request
    propagation_seconds: Propagation = 5.0,
    buffers: Buffers = "0,1,2,3,5",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    db: Database = Depends(get_db),
    _: ApiKey = Reader,
) -> list[dict[str, Any]]:
    """The order lines behind the figures: which orders were oversold, lost or held back."""
    comparison, _currency = _replay(
        db, start, end, sync, propagation_seconds, buffers, Decimal(1), keep_lines=limit
    )
    found: list[dict[str, Any]] = []
    for row in simulation.affected_rows(comparison, setup, outcome):
        found.append(row)
        if len(found) >= limit:
            break
    return found
