"""Workflow rules, "when EVENT (with conditions) then ACTIONS", as data: their format, their
validation and the evaluation of their conditions. Pure: no I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from channelhub.core.errors import InvalidInput, Problem

RULE_CODE = r"^[a-z0-9][a-z0-9_-]{0,99}$"
CODE = Annotated[str, Field(pattern=RULE_CODE)]

#: The hub events rules and webhooks can subscribe to.
EVENTS = (
    "order.created",
    "order.status_changed",
    "order.shipped",
    "order.cancelled",
    "order.returned",
    "stock.changed",
    "stock.alert",
    "price.changed",
    "product.changed",
)


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"  # a list field holds the value (e.g. skus contains "MUG-1")
    INTERSECTS = "intersects"  # a list field holds any of the values


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")] | int | float | bool | None


class Condition(_Strict):
    """``field`` (a dotted path into the event's data) ``op`` ``value``."""

    field: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.]+$")]
    op: Operator = Operator.EQ
    value: Scalar | Annotated[list[Scalar], Field(max_length=1000)] = None

    @field_validator("value")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**53:
                raise ValueError("numbers up to 2**53")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError("finite numbers only")
        return value


class HoldOffers(_Strict):
    """Put a SKU's offers on hold on marketplace channels while its stock is under ``below``;
    lift the hold when it is back at ``below`` or more."""

    type: Literal["hold_offers"]
    below: Annotated[int, Field(ge=1, le=1_000_000)]
    channels: list[CODE] | None = Field(
        default=None, description="default: every channel of kind marketplace"
    )


class ForwardOrder(_Strict):
    """Create the order on another connection (a webshop platform, an ERP's files)."""

    type: Literal["forward_order"]
    connection: CODE


class SendWebhook(_Strict):
    """Send the event to an outbound webhook subscription (signed, retried, logged)."""

    type: Literal["send_webhook"]
    webhook: CODE


class TagOrder(_Strict):
    """Tag the order (and leave a note) so that people and rules can find it."""

    type: Literal["tag_order"]
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(min_length=1)]
    note: Annotated[str, Field(max_length=500)] = ""


Action = Annotated[HoldOffers | ForwardOrder | SendWebhook | TagOrder, Field(discriminator="type")]


class RuleDefinition(_Strict):
    """A rule as people write it (JSON or YAML)."""

    code: CODE
    description: Annotated[str, Field(max_length=1000)] = ""
    event: Annotated[str, Field(description="one of " + ", ".join(EVENTS))]
    conditions: Annotated[list[Condition], Field(max_length=50)] = []
    actions: Annotated[list[Action], Field(min_length=1, max_length=20)]
    enabled: bool = True


def parse_rule(data: Any) -> RuleDefinition:
    """Validate a rule document; InvalidInput naming each wrong field and why."""
    if not isinstance(data, dict):
        raise InvalidInput("a rule is an object with code, event, conditions and actions")
    try:
        rule = RuleDefinition.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(".".join(str(p) for p in e["loc"]) or "rule", e["msg"])
            for e in error.errors(include_input=False)
        ]
        raise InvalidInput("the rule is not valid", problems) from None
    problems = []
    if rule.event not in EVENTS:
        known = ", ".join(EVENTS)
        problems.append(Problem("event", f"unknown event {rule.event!r}; known: {known}"))
    for i, action in enumerate(rule.actions):
        if isinstance(action, HoldOffers) and rule.event != "stock.changed":
            problems.append(Problem(f"actions.{i}", "hold_offers runs on stock.changed events"))
        if isinstance(action, ForwardOrder | TagOrder) and not rule.event.startswith("order."):
            problems.append(Problem(f"actions.{i}", f"{action.type} runs on order.* events"))
    for i, condition in enumerate(rule.conditions):
        if condition.op in (Operator.IN, Operator.NOT_IN, Operator.INTERSECTS) and not isinstance(
            condition.value, list
        ):
            problems.append(Problem(f"conditions.{i}.value", f"{condition.op.value} needs a list"))
    if problems:
        raise InvalidInput("the rule is not valid", problems)
    return rule


_MISSING = object()
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def field_value(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of the event's data (missing: a sentinel)."""
    current: Any = data
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal) or (
        isinstance(value, str) and _NUMBER.match(value)
    ):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return None


def holds(condition: Condition, data: Mapping[str, Any]) -> bool:
    """Whether the event's data meets ``condition`` (a missing field meets none but ne)."""
    found = field_value(data, condition.field)
    op = condition.op
    wanted: Any = condition.value
    if found is _MISSING:
        return op in (Operator.NE, Operator.NOT_IN)
    if op in (Operator.GT, Operator.GTE, Operator.LT, Operator.LTE):
        left, right = _number(found), _number(wanted)
        if left is None or right is None:
            return False
        return {
            Operator.GT: left > right,
            Operator.GTE: left >= right,
            Operator.LT: left < right,
            Operator.LTE: left <= right,
        }[op]
    if op in (Operator.EQ, Operator.NE):
        same = _same(found, wanted)
        return same if op == Operator.EQ else not same
    if op in (Operator.IN, Operator.NOT_IN):
        inside = any(_same(found, w) for w in wanted or [])
        return inside if op == Operator.IN else not inside
    items = found if isinstance(found, list) else [found]
    if op == Operator.CONTAINS:
        return any(_same(i, wanted) for i in items)
    return any(_same(i, w) for i in items for w in wanted or [])


def _same(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return str(left) == str(right) if left is not None and right is not None else left is right


def matches(rule: RuleDefinition, event: str, data: Mapping[str, Any]) -> bool:
    """Whether ``rule`` fires on this event: same event name and every condition met."""
    return rule.event == event and all(holds(c, data) for c in rule.conditions)
