"""Automation routes: workflow rules (JSON or YAML, versioned, enable/disable, dry run, log),
outbound event webhooks and their delivery log, offers on hold, and the published JSON
Schemas (``/api/v1/schemas/order-webhook.v1.json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from channelhub.api.deps import Admin, Reader, get_db
from channelhub.api.inputs import JsonData
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.automation import service, webhooks
from channelhub.automation.rules import EVENTS, RULE_CODE
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.schemas import load_schema, schema_names

router = APIRouter(tags=["automation"])

Code = Annotated[str, PathParam(pattern=RULE_CODE)]
CodeText = Annotated[str, Field(pattern=RULE_CODE)]
MAX_RULE_BYTES = 200_000


class RuleOut(BaseModel):
    code: str
    version: int
    enabled: bool
    is_current: bool
    definition: dict[str, Any]
    actor: str
    created_at: datetime


class PlannedActionOut(BaseModel):
    action: str
    detail: str
    changes: bool


class DryRunOutcomeOut(BaseModel):
    rule: str
    version: int
    event_id: int
    event: str
    matched: bool
    actions: list[PlannedActionOut]


class EventIn(BaseModel):
    event: Annotated[str, Field(max_length=100)]
    data: dict[Annotated[str, Field(max_length=100)], JsonData] = Field(default_factory=dict)


class DryRunIn(BaseModel):
    rule: dict[Annotated[str, Field(max_length=100)], JsonData] | None = Field(
        default=None, description="a draft rule; or name a stored one with code"
    )
    code: CodeText | None = None
    events: list[EventIn] | None = Field(
        default=None, max_length=500, description="events to try; default the last N real ones"
    )
    last: int | None = Field(default=None, ge=1, le=500)


class RunOut(BaseModel):
    rule: str
    version: int
    event_id: int
    event: str
    outcome: str
    detail: str
    created_at: datetime


class WebhookIn(BaseModel):
    code: CodeText
    url: Annotated[str, Field(max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=200)]
    events: list[Annotated[str, Field(max_length=100)]] = Field(
        min_length=1, max_length=50, description="event names, or '*' for all: " + ", ".join(EVENTS)
    )
    enabled: bool = True


class WebhookOut(BaseModel):
    code: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    id: int
    target: str
    event: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    body: str


class HoldOut(BaseModel):
    channel: str
    sku: str
    reason: str


def _rule(version: service.RuleVersion) -> RuleOut:
    return RuleOut(**vars(version))


# --- schemas -------------------------------------------------------------------------------


@router.get("/api/v1/schemas", response_model=list[str])
def list_schemas() -> list[str]:
    """The JSON Schemas the hub publishes (no API key needed)."""
    return schema_names()


@router.get(
    "/api/v1/schemas/{name}",
    responses={
        200: {"content": {"application/schema+json": {}}, "description": "the schema"},
        **errors(404),
    },
)
def get_schema(name: Annotated[str, PathParam(pattern=r"^[a-z0-9.-]{1,100}$")]) -> Response:
    """A published JSON Schema (draft 2020-12), e.g. ``order-webhook.v1.json``: what a
    generic webhook connection accepts. Stable: a breaking change is a new version."""
    if name not in schema_names():
        raise NotFound(f"no schema {name!r}; published: {', '.join(schema_names())}")
    return Response(
        orjson.dumps(load_schema(name), option=orjson.OPT_INDENT_2),
        media_type="application/schema+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# --- rules ---------------------------------------------------------------------------------


async def _document(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_RULE_BYTES:
        raise InvalidInput("the rule document is too large")
    kind = request.headers.get("content-type", "application/json").lower()
    try:
        if "yaml" in kind:
            return yaml.safe_load(body.decode("utf-8"))
        return orjson.loads(body)
    except (yaml.YAMLError, orjson.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"the rule document cannot be read: {error}") from None


_RULE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "a rule: code, description, event, conditions, actions, enabled; "
        "send YAML instead with Content-Type: application/yaml",
    }
}


@router.post(
    "/api/v1/automation/rules",
    response_model=RuleOut,
    status_code=201,
    responses=AUTHENTICATED,
    openapi_extra=_RULE_BODY,
)
async def save_rule(
    request: Request, key: ApiKey = Admin, db: Database = Depends(get_db)
) -> RuleOut:
    """Save a rule (JSON, or YAML with ``Content-Type: application/yaml``) as a new version;
    the previous versions are kept."""
    document = await _document(request)
    saved = await run_in_threadpool(service.save_rule, db, document, f"apikey:{key.name}")
    return _rule(saved)


@router.get("/api/v1/automation/rules", response_model=list[RuleOut], responses=AUTHENTICATED)
def list_rules(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[RuleOut]:
    """Every rule's current version."""
    return [_rule(r) for r in service.list_rules(db)]


@router.get(
    "/api/v1/automation/rules/{code}",
    response_model=RuleOut,
    responses={**AUTHENTICATED, **errors(404)},
)
def get_rule(code: Code, _: ApiKey = Reader, db: Database = Depends(get_db)) -> RuleOut:
    return _rule(service.get_rule(db, code))


@router.get(
    "/api/v1/automation/rules/{code}/versions",
    response_model=list[RuleOut],
    responses={**AUTHENTICATED, **errors(404)},
)
def rule_versions(code: Code, _: ApiKey = Reader, db: Database = Depends(get_db)) -> list[RuleOut]:
    """Every version of a rule, newest first."""
    return [_rule(r) for r in service.rule_versions(db, code)]


@router.post(
    "/api/v1/automation/rules/{code}/{switch}",
    response_model=RuleOut,
    responses={**AUTHENTICATED, **errors(404)},
)
def switch_rule(
    code: Code,
    switch: Annotated[str, PathParam(pattern=r"^(enable|disable)$")],
    key: ApiKey = Admin,
    db: Database = Depends(get_db),
) -> RuleOut:
    """Enable or disable a rule (a new version)."""
    return _rule(service.set_rule_enabled(db, code, switch == "enable", f"apikey:{key.name}"))


@router.post(
    "/api/v1/automation/rules/{code}/versions/{version}/restore",
    response_model=RuleOut,
    responses={**AUTHENTICATED, **errors(404)},
)
def restore_rule(
    code: Code,
    version: Annotated[int, PathParam(ge=1, le=2**31)],
    key: ApiKey = Admin,
    db: Database = Depends(get_db),
) -> RuleOut:
    """Make an old version current again (as a new version)."""
    return _rule(service.restore_rule(db, code, version, f"apikey:{key.name}"))


@router.post(
    "/api/v1/automation/dry-run",
    response_model=list[DryRunOutcomeOut],
    responses={**AUTHENTICATED, **errors(404)},
)
def dry_run(
    body: DryRunIn, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[DryRunOutcomeOut]:
    """What a rule would do with the given events, or with the last N real events of its
    kind, without doing it."""
    events = [e.model_dump() for e in body.events] if body.events is not None else None
    outcomes = service.dry_run(db, body.rule, body.code, events, body.last)
    return [
        DryRunOutcomeOut(
            rule=o.rule,
            version=o.version,
            event_id=o.event_id,
            event=o.event,
            matched=o.matched,
            actions=[PlannedActionOut(**vars(a)) for a in o.actions],
        )
        for o in outcomes
    ]


@router.get("/api/v1/automation/log", response_model=list[RunOut], responses=AUTHENTICATED)
def rule_log(
    rule: Annotated[str | None, Query(pattern=RULE_CODE)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[RunOut]:
    """What each rule did with each event, newest first."""
    return [RunOut(**vars(e)) for e in service.rule_log(db, rule, limit)]


@router.get("/api/v1/automation/holds", response_model=list[HoldOut], responses=AUTHENTICATED)
def list_holds(
    sku: Annotated[str | None, Query(max_length=100)] = None,
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[HoldOut]:
    """Offers that rules hold on marketplace channels."""
    return [HoldOut(channel=c, sku=s, reason=r) for c, s, r in service.held_offers(db, sku)]


class TagOut(BaseModel):
    tag: str
    note: str


@router.get(
    "/api/v1/automation/orders/{order_id}/tags",
    response_model=list[TagOut],
    responses=AUTHENTICATED,
)
def order_tags(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[TagOut]:
    """The tags rules put on an order."""
    return [TagOut(tag=t, note=n) for t, n in service.order_tag_list(db, order_id)]


# --- webhooks ------------------------------------------------------------------------------


@router.post("/api/v1/automation/webhooks", response_model=WebhookOut, responses=AUTHENTICATED)
def save_webhook(body: WebhookIn, _: ApiKey = Admin, db: Database = Depends(get_db)) -> WebhookOut:
    """Subscribe a URL to hub events; deliveries are signed with ``secret`` (never shown)."""
    spec = webhooks.WebhookInput(body.code, body.url, body.secret, tuple(body.events), body.enabled)
    return WebhookOut(**vars(webhooks.save_webhook(db, spec)))


@router.get("/api/v1/automation/webhooks", response_model=list[WebhookOut], responses=AUTHENTICATED)
def list_webhooks(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[WebhookOut]:
    return [WebhookOut(**vars(w)) for w in webhooks.list_webhooks(db)]


@router.get(
    "/api/v1/automation/deliveries", response_model=list[DeliveryOut], responses=AUTHENTICATED
)
def list_deliveries(
    target: Annotated[str | None, Query(max_length=120)] = None,
    state: Annotated[str | None, Query(pattern=r"^(new|sending|failed|done|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[DeliveryOut]:
    """The delivery log: webhook code or ``connection:<code>`` (forwarded orders)."""
    return [DeliveryOut(**vars(d)) for d in webhooks.list_deliveries(db, target, state, limit)]


@router.post(
    "/api/v1/automation/deliveries/{delivery_id}/replay",
    status_code=204,
    responses={**AUTHENTICATED, **errors(404)},
)
def replay_delivery(
    delivery_id: Annotated[int, PathParam(ge=1, le=2**62)],
    _: ApiKey = Admin,
    db: Database = Depends(get_db),
) -> Response:
    """Send a delivery again (a dead letter, once its receiver is fixed)."""
    webhooks.replay_delivery(db, delivery_id)
    return Response(status_code=204)
