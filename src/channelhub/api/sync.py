"""Sync routes: connections (create, list, test, mapping preview), jobs and replay, the message
log, reconciliation, the platforms' webhook inbox and the Prometheus metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from channelhub.api.boundary import BodyTooLarge
from channelhub.api.deps import Admin, Reader, get_db, metrics_reader
from channelhub.api.inputs import JsonData, Text
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.sync import connections as service
from channelhub.sync import messages, metrics, monitor, operations
from channelhub.sync.inbox import MAX_BODY, receive_webhook
from channelhub.sync.model import JobKind, JobState

router = APIRouter()

ConnectionCode = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
SkuPath = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Key = Annotated[Text, Field(min_length=1, max_length=255)]
CodeText = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
MAX_ID = 2**62


class ConnectionIn(BaseModel):
    code: CodeText
    platform: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
    channel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
    config: dict[Annotated[str, Field(max_length=100)], JsonData] = Field(
        description="the connector's configuration; secrets are stored encrypted, never returned"
    )
    subscriptions: list[JobKind] = Field(default_factory=list, max_length=10)
    enabled: bool = True
    mapping: dict[Annotated[str, Field(max_length=100)], JsonData] = Field(default_factory=dict)
    poll_seconds: int | None = Field(default=None, ge=1, le=86_400)
    reconcile_seconds: int | None = Field(default=None, ge=1, le=86_400)


class ConnectionOut(BaseModel):
    code: str
    platform: str
    channel: str
    config: dict[str, Any]
    subscriptions: list[str]
    enabled: bool
    mapping: dict[str, Any]
    poll_seconds: int | None
    reconcile_seconds: int | None
    created_at: datetime
    updated_at: datetime


class CheckOut(BaseModel):
    ok: bool
    detail: str


class JobOut(BaseModel):
    id: int
    connection: str
    kind: str
    key: str
    state: str
    attempts: int
    not_before: datetime
    pending: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ReplayIn(BaseModel):
    connection: CodeText | None = None
    kind: JobKind | None = None
    key: Key | None = None


class ReplayOut(BaseModel):
    replayed: int


class MessageOut(BaseModel):
    id: int
    at: datetime
    connection: str | None
    direction: str
    kind: str | None
    keys: list[str]
    status: str
    attempt: int | None
    latency_s: float | None
    method: str | None
    url: str | None
    request_body: str | None
    response_body: str | None
    error: str | None


class DriftOut(BaseModel):
    kind: str
    sku: str
    hub: str | None
    channel: str | None


class ReconcileOut(BaseModel):
    connection: str
    checked: int
    drift: list[DriftOut]
    corrections: int


def _out(view: service.ConnectionView) -> ConnectionOut:
    return ConnectionOut(**vars(view))


# --- connections --------------------------------------------------------------------------


@router.post(
    "/api/v1/connections",
    response_model=ConnectionOut,
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404)},
)
def save_connection(
    body: ConnectionIn, _: ApiKey = Admin, db: Database = Depends(get_db)
) -> ConnectionOut:
    """Create or update a connection; secret fields left out of an update keep their value."""
    spec = service.ConnectionInput(
        code=body.code,
        platform=body.platform,
        channel=body.channel,
        config=dict(body.config),
        subscriptions=tuple(body.subscriptions),
        enabled=body.enabled,
        mapping=dict(body.mapping),
        poll_seconds=body.poll_seconds,
        reconcile_seconds=body.reconcile_seconds,
    )
    return _out(service.save_connection(db, spec))


@router.get(
    "/api/v1/connections",
    response_model=list[ConnectionOut],
    tags=["sync"],
    responses=AUTHENTICATED,
)
def list_connections(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[ConnectionOut]:
    return [_out(v) for v in service.list_connections(db)]


@router.get(
    "/api/v1/connections/{code}",
    response_model=ConnectionOut,
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404)},
)
def get_connection(
    code: ConnectionCode, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> ConnectionOut:
    return _out(service.get_connection(db, code))


@router.post(
    "/api/v1/connections/{code}/test",
    response_model=CheckOut,
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404)},
)
async def run_connection_test(
    code: ConnectionCode, _: ApiKey = Admin, db: Database = Depends(get_db)
) -> CheckOut:
    """Call the platform with the stored credentials."""
    result = await operations.check_connection(db, code)
    return CheckOut(ok=result.ok, detail=result.detail)


@router.get(
    "/api/v1/connections/{code}/preview/{sku}",
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404)},
)
def preview_listing(
    code: ConnectionCode, sku: SkuPath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> dict[str, Any]:
    """The listing this connection's mapping makes of one product (nothing is sent)."""
    return operations.preview(db, code, sku)


@router.post(
    "/api/v1/connections/{code}/reconcile",
    response_model=ReconcileOut,
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404)},
)
async def reconcile_connection(
    code: ConnectionCode, _: ApiKey = Admin, db: Database = Depends(get_db)
) -> ReconcileOut:
    """Read the channel's stock and prices back, report drift and queue corrections."""
    report = await operations.reconcile_now(db, code)
    return ReconcileOut(
        connection=report.connection,
        checked=report.checked,
        drift=[DriftOut(**vars(d)) for d in report.drift],
        corrections=report.corrections,
    )


class PushOut(BaseModel):
    connection: str
    queued: int


@router.post(
    "/api/v1/connections/{code}/push",
    response_model=PushOut,
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404, 422)},
)
def push_connection(
    code: ConnectionCode, _: ApiKey = Admin, db: Database = Depends(get_db)
) -> PushOut:
    """Queue every product's listing, stock and price for this connection (its first sync)."""
    return PushOut(connection=code, queued=operations.push_everything(db, code))


# --- jobs and the log ---------------------------------------------------------------------


@router.get(
    "/api/v1/sync/jobs", response_model=list[JobOut], tags=["sync"], responses=AUTHENTICATED
)
def list_jobs(
    connection: CodeText | None = Query(default=None),
    state: JobState | None = Query(default=None),
    kind: JobKind | None = Query(default=None),
    key: Key | None = Query(default=None),
    before: int | None = Query(default=None, ge=1, le=MAX_ID),
    limit: int = Query(default=100, ge=1, le=1000),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[JobOut]:
    """Jobs, newest first (page with ``before`` = the last id seen)."""
    found = monitor.list_jobs(db, monitor.JobFilter(connection, state, kind, key), before, limit)
    return [JobOut(**vars(j)) for j in found]


@router.post(
    "/api/v1/sync/jobs/{job_id}/replay",
    response_model=ReplayOut,
    tags=["sync"],
    responses={**AUTHENTICATED, **errors(404)},
)
def replay_job(
    job_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    _: ApiKey = Admin,
    db: Database = Depends(get_db),
) -> ReplayOut:
    """Send one dead letter again (it reads the current value)."""
    return ReplayOut(replayed=monitor.replay(db, job_id=job_id))


@router.post(
    "/api/v1/sync/replay", response_model=ReplayOut, tags=["sync"], responses=AUTHENTICATED
)
def replay_dead(body: ReplayIn, _: ApiKey = Admin, db: Database = Depends(get_db)) -> ReplayOut:
    """Send again every dead letter matching the filter (all of them with an empty filter)."""
    filters = monitor.JobFilter(body.connection, None, body.kind, body.key)
    return ReplayOut(replayed=monitor.replay(db, filters=filters))


@router.get(
    "/api/v1/sync/messages",
    response_model=list[MessageOut],
    tags=["sync"],
    responses=AUTHENTICATED,
)
def search_log(
    connection: CodeText | None = Query(default=None),
    key: Key | None = Query(default=None, description="a SKU or order id"),
    status_: Annotated[Text, Field(max_length=30)] | None = Query(default=None, alias="status"),
    direction: Annotated[str, Field(pattern="^(in|out)$")] | None = Query(default=None),
    q: Annotated[Text, Field(min_length=1, max_length=200)] | None = Query(
        default=None, description="text found in a body or error"
    ),
    before: int | None = Query(default=None, ge=1, le=MAX_ID),
    limit: int = Query(default=50, ge=1, le=500),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[MessageOut]:
    """The message log, newest first: every inbound message and outbound call, redacted."""
    found = messages.search_messages(db, connection, key, status_, direction, q, before, limit)
    return [MessageOut(**vars(m)) for m in found]


# --- inbound webhooks and metrics ---------------------------------------------------------


@router.post(
    "/api/v1/webhooks/{connection}",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["sync"],
    responses={
        200: {"description": "a platform's unsigned ping: answered, not stored"},
        **errors(400, 401, 404, 413, 422),
    },
)
async def receive(
    connection: ConnectionCode, request: Request, db: Database = Depends(get_db)
) -> JSONResponse:
    """A platform's webhook: verified by its signature on the raw body (no API key), stored
    once, applied by the worker. A redelivery is answered 202 without being stored again; a
    platform's unsigned ping (WooCommerce's ``webhook_id=<id>``) 200, storing nothing."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BodyTooLarge(MAX_BODY)
    headers = dict(request.headers)
    received = await run_in_threadpool(receive_webhook, db, connection, headers, body)
    if received.ping:
        return JSONResponse({"accepted": True, "ping": True}, status_code=200)
    return JSONResponse({"accepted": True, "duplicate": not received.stored}, status_code=202)


@router.get(
    "/metrics", tags=["system"], response_class=PlainTextResponse, responses=errors(401, 403)
)
def prometheus_metrics(
    _: ApiKey | None = Depends(metrics_reader), db: Database = Depends(get_db)
) -> PlainTextResponse:
    """Prometheus metrics: queue depth and oldest job age per connection, delivery latency,
    outcomes. Needs a key with the read scope (``CHANNELHUB_METRICS_PUBLIC=true`` opens it)."""
    return PlainTextResponse(metrics.exposition(db), media_type="text/plain; version=0.0.4")
