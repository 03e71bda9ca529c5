"""Workflow automation's use cases: save a rule (every change a new version), enable or
disable it, dry-run it, and handle hub events: run the matching rules (each rule once per
event, logged) and queue the outbound webhooks that subscribe to them.

Handling reads the outbox after its own position in one transaction per batch: the rules'
effects, their log and the new position commit together, and a rule's run is unique by (rule,
event), so a batch handled twice after a crash applies nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from channelhub.automation import webhooks
from channelhub.automation.events import (
    HubEvent,
    describe,
    public_name,
    recent_events,
    take_events,
)
from channelhub.automation.rules import (
    Action,
    ForwardOrder,
    HoldOffers,
    RuleDefinition,
    SendWebhook,
    TagOrder,
    matches,
    parse_rule,
)
from channelhub.automation.store import holds, order_tags, rule_runs, rules
from channelhub.catalog.model import ChannelKind
from channelhub.catalog.service import list_channels
from channelhub.connectors.base import ChannelAddress, ChannelOrder, ChannelOrderLine
from channelhub.connectors.webhook import order_document
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError, InvalidInput, NotFound
from channelhub.core.events import record_events
from channelhub.orders.service import OrderView, get_order
from channelhub.sync.connections import get_connection
from channelhub.sync.registry import connector_class

READER = "automation.events"
PRODUCT_CHANGED = "catalog.product_changed"


@dataclass(frozen=True)
class RuleVersion:
    code: str
    version: int
    enabled: bool
    is_current: bool
    definition: dict[str, Any]
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class PlannedAction:
    """What an action does (or would do, in a dry run) for one event."""

    action: str
    detail: str
    changes: bool = True  # False: nothing to do (already in that state)


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    version: int
    event_id: int
    event: str
    matched: bool
    actions: list[PlannedAction] = field(default_factory=list)


@dataclass(frozen=True)
class RunEntry:
    rule: str
    version: int
    event_id: int
    event: str
    outcome: str
    detail: str
    created_at: datetime


# --- rules: versions ---------------------------------------------------------------------


def _version(row: Any) -> RuleVersion:
    return RuleVersion(
        row.code,
        row.version,
        bool(row.enabled),
        bool(row.is_current),
        dict(row.definition),
        row.actor,
        row.created_at,
    )


def save_rule(db: Database, document: Any, actor: str = "api") -> RuleVersion:
    """Store a rule as a new version (the previous versions are kept); InvalidInput names each
    wrong field. Saving the same definition again keeps the current version."""
    rule = parse_rule(document)
    definition = rule.model_dump(mode="json")
    with db.transaction() as conn:
        _check_targets(conn, rule)
        current = _current_row(conn, rule.code, lock=True)
        if current is not None and dict(current.definition) == definition:
            return _version(current)
        number = (
            conn.execute(
                select(func.max(rules.c.version)).where(rules.c.code == rule.code)
            ).scalar()
            or 0
        ) + 1
        conn.execute(update(rules).where(rules.c.code == rule.code).values(is_current=False))
        conn.execute(
            insert(rules).values(
                code=rule.code,
                version=number,
                definition=definition,
                enabled=rule.enabled,
                is_current=True,
                actor=actor[:200],
                created_at=utcnow(),
            )
        )
        found = _current_row(conn, rule.code)
        assert found is not None
        return _version(found)


def _check_targets(conn: Connection, rule: RuleDefinition) -> None:
    for i, action in enumerate(rule.actions):
        if isinstance(action, SendWebhook):
            try:
                webhooks.webhook_id(conn, action.webhook)
            except InvalidInput as error:
                raise InvalidInput(f"actions.{i}.webhook: {error.detail}") from None


def _current_row(conn: Connection, code: str, lock: bool = False) -> Any:
    query = select(rules).where(rules.c.code == code, rules.c.is_current.is_(True))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def set_rule_enabled(db: Database, code: str, enabled: bool, actor: str = "api") -> RuleVersion:
    """Enable or disable a rule: a new version with the same definition and the new switch."""
    current = get_rule(db, code)
    return save_rule(db, {**current.definition, "enabled": enabled}, actor)


def get_rule(db: Database, code: str) -> RuleVersion:
    with db.read() as conn:
        row = _current_row(conn, code)
    if row is None:
        raise NotFound(f"rule {code!r} does not exist")
    return _version(row)


def rule_versions(db: Database, code: str) -> list[RuleVersion]:
    """Every version of a rule, newest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(rules).where(rules.c.code == code).order_by(rules.c.version.desc())
        ).all()
    if not rows:
        raise NotFound(f"rule {code!r} does not exist")
    return [_version(r) for r in rows]


def list_rules(db: Database) -> list[RuleVersion]:
    with db.read() as conn:
        rows = conn.execute(
            select(rules).where(rules.c.is_current.is_(True)).order_by(rules.c.code)
        ).all()
    return [_version(r) for r in rows]


def restore_rule(db: Database, code: str, version: int, actor: str = "api") -> RuleVersion:
    """Make an old version's definition current again (as a new version)."""
    with db.read() as conn:
        row = conn.execute(
            select(rules).where(rules.c.code == code, rules.c.version == version)
        ).first()
    if row is None:
        raise NotFound(f"rule {code!r} has no version {version}")
    return save_rule(db, dict(row.definition), actor)


# --- planning and applying actions -------------------------------------------------------


def _marketplaces(db: Database) -> list[str]:
    return [c.code for c in list_channels(db) if c.kind == ChannelKind.MARKETPLACE]


def _held(conn: Connection, sku: str) -> set[str]:
    return set(conn.execute(select(holds.c.channel).where(holds.c.sku == sku)).scalars())


def _channel_order(order: OrderView) -> ChannelOrder:
    ship = order.shipping_address or {}
    return ChannelOrder(
        external_id=order.external_id,
        created_at=order.placed_at,
        currency=order.currency,
        lines=tuple(
            ChannelOrderLine(
                line.external_line_id or str(line.line_no),
                line.sku,
                line.quantity,
                line.unit_price,
                line.discount,
                line.tax,
            )
            for line in order.lines
        ),
        customer_email=order.customer.get("email") or None,
        customer_name=order.customer.get("name") or None,
        shipping_address=ChannelAddress(
            **{
                k: (str(ship[k]) or None)
                for k in ("name", "line1", "line2", "postal_code", "city", "country")
                if k in ship
            }
        )
        if ship
        else None,
        is_paid=order.payment_status == "paid",
    )


class _Plan:
    """Plans a rule's actions for one event and, unless it is a dry run, applies them in the
    caller's transaction."""

    def __init__(self, db: Database, conn: Connection, apply: bool) -> None:
        self.db = db
        self.conn = conn
        self.apply = apply
        self._marketplaces: list[str] | None = None

    def run(self, rule: RuleDefinition, event: HubEvent) -> list[PlannedAction]:
        """The actions' outcomes; applying, the first failure raises (the caller rolls the
        rule's actions back); in a dry run it is reported and the next action is planned."""
        done: list[PlannedAction] = []
        for action in rule.actions:
            try:
                done.append(self._one(rule, action, event))
            except (ChannelhubError, ValueError, TypeError, InvalidOperation) as error:
                if self.apply:
                    raise
                reason = error.detail if isinstance(error, ChannelhubError) else str(error)
                done.append(PlannedAction(action.type, f"would fail: {reason}", False))
        return done

    def _one(self, rule: RuleDefinition, action: Action, event: HubEvent) -> PlannedAction:
        if isinstance(action, HoldOffers):
            return self._hold(rule, action, event)
        if isinstance(action, ForwardOrder):
            return self._forward(rule, action, event)
        if isinstance(action, SendWebhook):
            return self._webhook(rule, action, event)
        return self._tag(rule, action, event)

    def _hold(self, rule: RuleDefinition, action: HoldOffers, event: HubEvent) -> PlannedAction:
        sku = str(event.data.get("sku", event.key))
        raw = event.data.get("available")
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidInput(f"the event has no available quantity for {sku}")
        available = int(Decimal(str(raw)))
        if action.channels is not None:
            channels = list(action.channels)
        else:
            if self._marketplaces is None:
                self._marketplaces = _marketplaces(self.db)
            channels = self._marketplaces
        held = _held(self.conn, sku)
        if available < action.below:
            todo = sorted(set(channels) - held)
            verb = "hold"
        else:
            todo = sorted(set(channels) & held)
            verb = "release"
        if not todo:
            state = "on hold" if verb == "hold" else "not on hold"
            return PlannedAction(
                "hold_offers", f"{sku} ({available} available) already {state}", False
            )
        if self.apply:
            if verb == "hold":
                now = utcnow()
                reason = f"rule {rule.code}: {available} available < {action.below}"
                self.conn.execute(
                    insert(holds),
                    [{"channel": c, "sku": sku, "reason": reason, "created_at": now} for c in todo],
                )
            else:
                self.conn.execute(
                    delete(holds).where(holds.c.sku == sku, holds.c.channel.in_(todo))
                )
            # The listing of the SKU changed on those channels: the engine pushes it again.
            record_events(self.conn, PRODUCT_CHANGED, [(sku, {"sku": sku, "fields": ["on_hold"]})])
        return PlannedAction(
            "hold_offers", f"{verb} {sku} on {', '.join(todo)} ({available} available)"
        )

    def _forward(
        self, rule: RuleDefinition, action: ForwardOrder, event: HubEvent
    ) -> PlannedAction:
        order_id = event.data.get("order_id")
        if order_id is None:
            return PlannedAction("forward_order", "the event names no order", False)
        connection = get_connection(self.db, action.connection)
        if not hasattr(connector_class(connection.platform), "forward_order"):
            raise InvalidInput(
                f"the {connection.platform} connector of {connection.code} cannot create orders"
                " (webhook and files can)"
            )
        order = get_order(self.db, int(order_id))
        if connection.channel == order.channel:
            return PlannedAction(
                "forward_order", f"order {order.external_id} came from {connection.code}", False
            )
        detail = f"create order {order.channel}:{order.external_id} on {action.connection}"
        if self.apply:
            body = orjson.dumps(
                {"source_channel": order.channel, "order": order_document(_channel_order(order))}
            )
            key = f"forward:{action.connection}:{order.channel}:{order.external_id}"
            if not webhooks.enqueue(self.conn, key, event.name, body, connection=action.connection):
                return PlannedAction("forward_order", detail + " (already forwarded)", False)
        return PlannedAction("forward_order", detail)

    def _webhook(self, rule: RuleDefinition, action: SendWebhook, event: HubEvent) -> PlannedAction:
        detail = f"send {event.name} to webhook {action.webhook}"
        if self.apply:
            hook = webhooks.webhook_id(self.conn, action.webhook)
            body = webhooks.event_body(event.id, event.name, event.data, event.created_at)
            webhooks.enqueue(
                self.conn, f"rule:{rule.code}:{event.id}:{action.webhook}", event.name, body, hook
            )
        return PlannedAction("send_webhook", detail)

    def _tag(self, rule: RuleDefinition, action: TagOrder, event: HubEvent) -> PlannedAction:
        order_id = event.data.get("order_id")
        if order_id is None:
            return PlannedAction("tag_order", "the event names no order", False)
        tags = sorted(set(action.tags))
        if self.apply:
            insert_ = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
            now = utcnow()
            self.conn.execute(
                insert_(order_tags)
                .values(
                    [
                        {
                            "order_id": int(order_id),
                            "tag": t,
                            "note": action.note,
                            "rule_code": rule.code,
                            "created_at": now,
                        }
                        for t in tags
                    ]
                )
                .on_conflict_do_nothing(index_elements=[order_tags.c.order_id, order_tags.c.tag])
            )
        return PlannedAction("tag_order", f"tag order {order_id} with {', '.join(tags)}")


# --- handling events ---------------------------------------------------------------------


def _enabled_rules(conn: Connection) -> list[tuple[RuleDefinition, int]]:
    rows = conn.execute(
        select(rules.c.definition, rules.c.version).where(
            rules.c.is_current.is_(True), rules.c.enabled.is_(True)
        )
    ).all()
    return [(RuleDefinition.model_validate(r.definition), r.version) for r in rows]


def handle_events(db: Database, limit: int = 100) -> int:
    """Run the rules and queue the webhooks of the next outbox events; the number read."""
    with db.transaction() as conn:
        rows = take_events(conn, READER, limit)
        if not rows:
            return 0
        active = _enabled_rules(conn)
        hooks = webhooks.subscribers(conn)
        wanted = {rule.event for rule, _ in active}.union(*(events for _, _, events in hooks))
        plan = _Plan(db, conn, apply=True)
        for row in rows:
            payload = dict(row.payload) if isinstance(row.payload, dict) else {}
            name = public_name(row.topic, payload)
            if name is None or not ("*" in wanted or name in wanted):
                continue  # nobody listens: do not spend queries describing it
            event = describe(db, row.id, row.topic, row.key, payload, row.created_at)
            if event is None:
                continue
            body: bytes | None = None
            for hook_id, _code, events in hooks:
                if "*" in events or event.name in events:
                    body = body or webhooks.event_body(
                        event.id, event.name, event.data, event.created_at
                    )
                    webhooks.enqueue(conn, f"hook:{hook_id}:{event.id}", event.name, body, hook_id)
            for rule, version in active:
                if matches(rule, event.name, event.data):
                    _run_rule(conn, plan, rule, version, event)
        return len(rows)


def _run_rule(
    conn: Connection, plan: _Plan, rule: RuleDefinition, version: int, event: HubEvent
) -> None:
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    claimed = conn.execute(
        insert_(rule_runs)
        .values(
            rule_code=rule.code,
            rule_version=version,
            event_id=event.id,
            event=event.name,
            outcome="running",
            detail="",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[rule_runs.c.rule_code, rule_runs.c.event_id])
        .returning(rule_runs.c.id)
    ).first()
    if claimed is None:
        return  # this rule already handled this event
    nested = conn.begin_nested()
    try:
        done = plan.run(rule, event)
        nested.commit()
        outcome = "applied" if any(a.changes for a in done) else "skipped"
        detail = "; ".join(a.detail for a in done)
    except (ChannelhubError, ValueError, TypeError, ArithmeticError) as error:
        nested.rollback()
        detail = error.detail if isinstance(error, ChannelhubError) else f"{error}"
        outcome = "failed"
    conn.execute(
        update(rule_runs)
        .where(rule_runs.c.id == claimed.id)
        .values(outcome=outcome, detail=detail[:4000])
    )


def dry_run(
    db: Database,
    rule_document: Any | None = None,
    code: str | None = None,
    events: Sequence[dict[str, Any]] | None = None,
    last: int | None = None,
) -> list[RuleOutcome]:
    """What a rule (a stored one by ``code``, or a draft document) would do with the given
    events (``{"event": name, "data": {...}}``) or the last N real events, without doing it."""
    if rule_document is not None:
        rule, version = parse_rule(rule_document), 0
    elif code is not None:
        stored = get_rule(db, code)
        rule, version = RuleDefinition.model_validate(stored.definition), stored.version
    else:
        raise InvalidInput("give a rule document or the code of a stored rule")
    if events is not None:
        given = []
        for i, raw in enumerate(events):
            if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
                raise InvalidInput(f"events[{i}] is an object with event and data")
            data = raw.get("data", {})
            if not isinstance(data, dict):
                raise InvalidInput(f"events[{i}].data is an object")
            given.append(HubEvent(0, raw["event"], str(data.get("sku", "")), data, utcnow()))
    else:
        given = recent_events(db, min(max(last or 10, 1), 500), rule.event)
    outcomes = []
    with db.read() as conn:
        plan = _Plan(db, conn, apply=False)
        for event in given:
            matched = matches(rule, event.name, event.data)
            actions = plan.run(rule, event) if matched else []
            outcomes.append(RuleOutcome(rule.code, version, event.id, event.name, matched, actions))
    return outcomes


def rule_log(db: Database, code: str | None = None, limit: int = 100) -> list[RunEntry]:
    """What rules did, newest first."""
    r = rule_runs.c
    query = select(rule_runs).order_by(r.id.desc()).limit(limit)
    if code is not None:
        query = query.where(r.rule_code == code)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [
        RunEntry(
            x.rule_code, x.rule_version, x.event_id, x.event, x.outcome, x.detail, x.created_at
        )
        for x in rows
    ]


def held_offers(db: Database, sku: str | None = None) -> list[tuple[str, str, str]]:
    """(channel, sku, reason) of every offer a rule put on hold."""
    query = select(holds.c.channel, holds.c.sku, holds.c.reason).order_by(holds.c.sku)
    if sku is not None:
        query = query.where(holds.c.sku == sku)
    with db.read() as conn:
        return [(r.channel, r.sku, r.reason) for r in conn.execute(query)]


def is_on_hold(conn: Connection, channel: str, sku: str) -> bool:
    """Whether a rule holds ``sku``'s offer on ``channel`` (for the listing the engine sends)."""
    found = conn.execute(
        select(holds.c.id).where(holds.c.channel == channel, holds.c.sku == sku)
    ).first()
    return found is not None


def order_tag_list(db: Database, order_id: int) -> list[tuple[str, str]]:
    """(tag, note) of an order."""
    with db.read() as conn:
        rows = conn.execute(
            select(order_tags.c.tag, order_tags.c.note)
            .where(order_tags.c.order_id == order_id)
            .order_by(order_tags.c.tag)
        ).all()
    return [(r.tag, r.note) for r in rows]
