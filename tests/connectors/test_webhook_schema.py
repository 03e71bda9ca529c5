"""The generic webhook connector's order documents (no database): the published schema, the
messages that name the field, and the round trip of an order through the document."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from channelhub.connectors.base import ChannelAddress, ChannelOrder, ChannelOrderLine
from channelhub.connectors.webhook import (
    OrderDocumentInvalid,
    WebhookConfig,
    WebhookConnector,
    check_order_document,
    order_document,
    order_from_document,
)

ORDER = ChannelOrder(
    external_id="B-1",
    created_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
    currency="EUR",
    lines=(ChannelOrderLine("l1", "MUG-1", 2, Decimal("9.95"), Decimal("1.00")),),
    customer_email="ann@example.com",
    shipping_address=ChannelAddress(name="Ann", city="Utrecht", country="NL"),
    pickup_location="ams",
    is_paid=False,
)


def test_an_order_survives_the_document_both_ways() -> None:
    document = {"id": "x", "topic": "orders/create", "order": order_document(ORDER)}
    check_order_document(document)
    assert order_from_document(document["order"]) == ORDER


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lines": []}, "order.lines: [] should be non-empty"),
        ({"currency": "eur"}, "order.currency: 'eur' does not match"),
        ({"external_id": 5}, "order.external_id: 5 is not of type 'string'"),
        ({"shipping_address": {"country": "Netherlands"}}, "order.shipping_address.country"),
        ({"created_at": "yesterday"}, "order.created_at"),
    ],
)
def test_each_problem_names_its_field(change: dict[str, Any], message: str) -> None:
    document = {"id": "x", "topic": "orders/create", "order": {**order_document(ORDER), **change}}
    with pytest.raises(OrderDocumentInvalid, match="breaks the schema") as caught:
        check_order_document(document)
    assert message in str(caught.value)


def test_parse_refuses_bad_bodies_and_accepts_pings() -> None:
    connector = WebhookConnector(
        WebhookConfig(url="http://127.0.0.1:9", secret="0123456789"),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
    )
    with pytest.raises(OrderDocumentInvalid, match="not JSON"):
        connector.parse_webhook({}, b"{nope")
    with pytest.raises(OrderDocumentInvalid, match="'id' is a required property"):
        connector.parse_webhook({}, b'{"topic": "ping"}')
    ping = connector.parse_webhook({}, orjson.dumps({"id": "p1", "topic": "ping"}))
    assert (ping.topic, ping.order) == ("ping", None)
