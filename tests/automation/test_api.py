"""The automation API on both databases: rules in YAML and JSON with their errors, versions,
dry run, webhook subscriptions; the published order schema and how the generic webhook
connection refuses a body that breaks it (which field, and why)."""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson
import pytest
from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.connectors.webhook import sign
from channelhub.core.database import Database
from channelhub.orders.service import find_order
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.inbox import apply_inbox
from tests.inventory.factories import stock

HOOK_SECRET = "shop-secret-0123456789"
RULE_YAML = """
code: big-bol-orders
description: tag big marketplace orders
event: order.created
conditions:
  - {field: channel, op: eq, value: bol}
  - {field: total, op: gt, value: 100}
actions:
  - type: tag_order
    tags: [big]
"""


@pytest.fixture
def api(world: Database) -> tuple[TestClient, dict[str, str]]:
    _key, token = create_key(world, "ops", ["admin"])
    return TestClient(create_app(world)), {"Authorization": f"Bearer {token}"}


def test_rules_in_yaml_with_versions_and_dry_run(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    yaml_headers = {**auth, "Content-Type": "application/yaml"}
    saved = client.post("/api/v1/automation/rules", content=RULE_YAML, headers=yaml_headers)
    assert saved.status_code == 201, saved.text
    assert saved.json()["version"] == 1
    changed = RULE_YAML.replace("value: 100", "value: 200")
    assert (
        client.post("/api/v1/automation/rules", content=changed, headers=yaml_headers).json()[
            "version"
        ]
        == 2
    )
    off = client.post("/api/v1/automation/rules/big-bol-orders/disable", headers=auth).json()
    assert (off["version"], off["enabled"]) == (3, False)
    versions = client.get("/api/v1/automation/rules/big-bol-orders/versions", headers=auth).json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    dry = client.post(
        "/api/v1/automation/dry-run",
        json={
            "code": "big-bol-orders",
            "events": [
                {
                    "event": "order.created",
                    "data": {"channel": "bol", "total": "250", "order_id": 7},
                },
                {
                    "event": "order.created",
                    "data": {"channel": "bol", "total": "150", "order_id": 8},
                },
            ],
        },
        headers=auth,
    )
    assert dry.status_code == 200, dry.text
    assert [o["matched"] for o in dry.json()] == [True, False]
    assert dry.json()[0]["actions"][0]["detail"] == "tag order 7 with big"


def test_a_bad_rule_gets_a_problem_naming_the_fields(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, auth = api
    bad = {"code": "x", "event": "order.created", "actions": [{"type": "fly"}]}
    answer = client.post("/api/v1/automation/rules", json=bad, headers=auth)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert any(e["location"].startswith("actions.0") for e in answer.json()["errors"])
    garbled = client.post(
        "/api/v1/automation/rules",
        content="code: [unclosed",
        headers={**auth, "Content-Type": "application/yaml"},
    )
    assert garbled.status_code == 422 and "cannot be read" in garbled.json()["detail"]
    anonymous = client.post("/api/v1/automation/rules", json=bad)
    assert anonymous.status_code == 401


def test_webhook_subscriptions_hide_their_secret(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    body = {
        "code": "erp",
        "url": "https://erp.example.com/hooks",
        "secret": "s" * 20,
        "events": ["order.created", "stock.changed"],
    }
    saved = client.post("/api/v1/automation/webhooks", json=body, headers=auth)
    assert saved.status_code == 200, saved.text
    assert "secret" not in saved.json()
    assert [w["code"] for w in client.get("/api/v1/automation/webhooks", headers=auth).json()] == [
        "erp"
    ]


def test_the_order_schema_is_published_and_bad_bodies_name_the_field(
    api: tuple[TestClient, dict[str, str]], world: Database
) -> None:
    client, _auth = api
    answer = client.get("/api/v1/schemas/order-webhook.v1.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/schema+json")
    schema = answer.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert client.get("/api/v1/schemas/nope.json").status_code == 404
    save_connection(
        world,
        ConnectionInput(
            code="shop",
            platform="webhook",
            channel="web",
            config={"url": "http://127.0.0.1:9/unused", "secret": HOOK_SECRET},
        ),
    )
    stock(world, "wh", MUG_1=3)
    good: dict[str, Any] = {
        "id": "evt-1",
        "topic": "orders/create",
        "order": {
            "external_id": "S-1",
            "created_at": "2026-11-20T10:00:00+01:00",
            "currency": "EUR",
            "customer_email": "ann@example.com",
            "shipping_address": {"name": "Ann", "city": "Utrecht", "country": "NL"},
            "lines": [
                {"external_line_id": "1", "sku": "MUG-1", "quantity": 1, "unit_price": "9.95"}
            ],
        },
    }
    jsonschema.validate(good, schema)  # the documented example is valid

    def post(document: Any) -> Any:
        body = orjson.dumps(document)
        return client.post(
            "/api/v1/webhooks/shop",
            content=body,
            headers={"X-Channelhub-Signature": sign(HOOK_SECRET, body)},
        )

    cases = [
        ({**good, "order": {**good["order"], "currency": "euro"}}, "order.currency"),
        (
            {
                **good,
                "order": {**good["order"], "lines": [{**good["order"]["lines"][0], "quantity": 0}]},
            },
            "order.lines[0].quantity: 0 is less than the minimum of 1",
        ),
        ({"id": "evt-2", "topic": "orders/create"}, "'order' is a required property"),
        ({**good, "order": {**good["order"], "colour": "red"}}, "order: Additional properties"),
        (
            {**good, "order": {**good["order"], "created_at": "2026-11-20 10:00"}},
            "order.created_at",
        ),
    ]
    for document, expected in cases:
        answer = post(document)
        assert answer.status_code == 422, answer.text
        assert expected in answer.json()["detail"], answer.json()["detail"]
    assert post(good).status_code == 202
    apply_inbox(world)  # what the sync worker does with stored webhooks
    order = find_order(world, "web", "S-1")
    assert order.shipping_address["city"] == "Utrecht"
