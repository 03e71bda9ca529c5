"""The rule format and condition evaluation (pure, no database)."""

from __future__ import annotations

import pytest

from channelhub.automation.rules import Condition, matches, parse_rule
from channelhub.core.errors import InvalidInput

ORDER = {
    "channel": "bol",
    "channel_kind": "marketplace",
    "total": "120.50",
    "skus": ["MUG-1", "MUG-2"],
    "customer": {"country": "NL"},
}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("channel", "eq", "bol", True),
        ("channel", "ne", "bol", False),
        ("channel", "in", ["web", "bol"], True),
        ("channel", "not_in", ["web"], True),
        ("total", "gt", 100, True),
        ("total", "gt", "120.50", False),
        ("total", "gte", "120.5", True),
        ("total", "lt", 50, False),
        ("skus", "contains", "MUG-2", True),
        ("skus", "contains", "MUG-9", False),
        ("skus", "intersects", ["MUG-9", "MUG-1"], True),
        ("customer.country", "eq", "NL", True),
        ("missing.field", "eq", "x", False),
        ("missing.field", "ne", "x", True),
        ("channel", "gt", 3, False),  # text is never greater than a number
    ],
)
def test_conditions(field: str, op: str, value: object, expected: bool) -> None:
    rule = parse_rule(
        {
            "code": "r",
            "event": "order.created",
            "conditions": [{"field": field, "op": op, "value": value}],
            "actions": [{"type": "tag_order", "tags": ["x"]}],
        }
    )
    assert matches(rule, "order.created", ORDER) is expected
    assert matches(rule, "order.shipped", ORDER) is False  # another event never matches


def test_a_bad_rule_names_each_wrong_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            {
                "code": "Bad Code",
                "event": "order.created",
                "actions": [{"type": "hold_offers", "below": 0}],
            }
        )
    where = {p.location for p in caught.value.problems}
    assert "code" in where
    assert any(w.startswith("actions.0") and "below" in w for w in where)


def test_actions_must_fit_the_event() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            {
                "code": "r",
                "event": "order.created",
                "actions": [{"type": "hold_offers", "below": 3}],
            }
        )
    assert caught.value.problems[0].location == "actions.0"
    assert "stock.changed" in caught.value.problems[0].message
    with pytest.raises(InvalidInput, match="not valid") as unknown:
        parse_rule(
            {"code": "r", "event": "order.eaten", "actions": [{"type": "tag_order", "tags": ["a"]}]}
        )
    assert unknown.value.problems[0].location == "event"


def test_in_needs_a_list() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            {
                "code": "r",
                "event": "order.created",
                "conditions": [{"field": "channel", "op": "in", "value": "bol"}],
                "actions": [{"type": "tag_order", "tags": ["a"]}],
            }
        )
    assert caught.value.problems[0].location == "conditions.0.value"
    assert Condition(field="a.b").op.value == "eq"
