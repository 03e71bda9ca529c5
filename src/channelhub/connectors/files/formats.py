"""The exchange files' formats, CSV and JSON, both ways. Pure: bytes in, values out.

Outbound: ``stock`` (sku, quantity), ``prices`` (sku, amount, currency, compare_at),
``listings`` (sku, title, description, brand, gtin, category, parent_sku, on_hold, price,
currency) and ``orders`` (forwarded orders: one row per line). Inbound, by the file name's
prefix: ``orders*`` (order_id, created_at, currency, line_id, sku, quantity, unit_price,
customer_email, customer_name), ``stock*`` (sku, location, quantity: absolute counts) and
``shipments*`` (order_id, tracking, carrier, and optionally channel). JSON files hold
``{"items": [...]}`` with the same fields (orders: ``{"orders": [order objects of
order-webhook.v1.json]}``). A problem names the line (CSV) or item (JSON) and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from channelhub.connectors.base import ChannelOrder, ChannelOrderLine

INBOUND_KINDS = ("orders", "stock", "shipments")
MAX_FILE_BYTES = 50_000_000


class FileProblem(ValueError):
    """A file that cannot be applied: ``where`` is "line N" (CSV) or "items[N]" (JSON)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def file_name(topic: str, fmt: str, now: datetime, sequence: str) -> str:
    """``<topic>-<UTC timestamp>-<sequence>.<fmt>``: sorts in the order written."""
    return f"{topic}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{sequence}.{fmt}"


def render(fmt: str, topic: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """A CSV (header and rows) or JSON (``{"topic", "items"}``) file of ``rows``."""
    if fmt == "json":
        return orjson.dumps({"topic": topic, "items": list(rows)}, default=str)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue().encode()


def kind_of(name: str) -> tuple[str, str] | None:
    """(kind, format) of an inbound file by its name, or None when it is not one of ours."""
    lower = name.lower()
    fmt = "csv" if lower.endswith(".csv") else "json" if lower.endswith(".json") else None
    if fmt is None:
        return None
    for kind in INBOUND_KINDS:
        if lower.startswith(kind):
            return kind, fmt
    return None


# --- reading -----------------------------------------------------------------------------


def _records(data: bytes, fmt: str, key: str = "items") -> list[tuple[str, dict[str, Any]]]:
    """(where, record) pairs of a CSV or JSON file."""
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem("file", f"larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileProblem("file", f"not UTF-8 text (byte {error.start})") from None
    if fmt == "json":
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise FileProblem("file", f"not JSON: {error}") from None
        items = document.get(key) if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise FileProblem("file", f'a JSON file is an object with a "{key}" list')
        found = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise FileProblem(f"{key}[{i}]", "an item is an object")
            found.append((f"{key}[{i}]", item))
        return found
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise FileProblem("line 1", "the header row is missing")
    rows = []
    for row in reader:
        if None in row:
            raise FileProblem(f"line {reader.line_num}", "more fields than the header has")
        rows.append(
            (f"line {reader.line_num}", {k.strip(): (v or "").strip() for k, v in row.items()})
        )
    return rows


def _text(where: str, record: dict[str, Any], name: str, required: bool = True) -> str:
    value = record.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise FileProblem(where, f"{name} is missing")
    if len(text) > 255:
        raise FileProblem(where, f"{name} is longer than 255 characters")
    return text


def _int(where: str, record: dict[str, Any], name: str, minimum: int) -> int:
    text = _text(where, record, name)
    try:
        number = int(text)
    except ValueError:
        raise FileProblem(where, f"{name} {text!r} is not a whole number") from None
    if number < minimum or number > 10_000_000:
        raise FileProblem(where, f"{name} {number} is out of range (from {minimum})")
    return number


def _decimal(where: str, record: dict[str, Any], name: str) -> Decimal:
    text = _text(where, record, name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FileProblem(where, f"{name} {text!r} is not a decimal amount") from None
    if not value.is_finite() or value < 0:
        raise FileProblem(where, f"{name} {text!r} is not an amount of zero or more")
    return value


def _time(where: str, record: dict[str, Any], name: str) -> datetime:
    text = _text(where, record, name)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FileProblem(where, f"{name} {text!r} is not an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StockCount:
    where: str
    sku: str
    location: str
    quantity: int


@dataclass(frozen=True)
class ShipmentConfirmation:
    where: str
    channel: str | None
    order_id: str
    tracking: str
    carrier: str


def read_stock(data: bytes, fmt: str) -> list[StockCount]:
    return [
        StockCount(w, _text(w, r, "sku"), _text(w, r, "location"), _int(w, r, "quantity", 0))
        for w, r in _records(data, fmt)
    ]


def read_shipments(data: bytes, fmt: str) -> list[ShipmentConfirmation]:
    return [
        ShipmentConfirmation(
            w,
            _text(w, r, "channel", required=False) or None,
            _text(w, r, "order_id"),
            _text(w, r, "tracking", required=False),
            _text(w, r, "carrier", required=False),
        )
        for w, r in _records(data, fmt)
    ]


def read_orders(data: bytes, fmt: str) -> list[tuple[str, ChannelOrder]]:
    """(where the order starts, order): CSV rows of one order_id are its lines, in order."""
    if fmt == "json":
        from channelhub.connectors.webhook import (  # the same schema as the webhook
            OrderDocumentInvalid,
            check_order_document,
            order_from_document,
        )

        found = []
        for where, item in _records(data, fmt, key="orders"):
            try:
                check_order_document({"id": "file", "topic": "orders/create", "order": item})
            except OrderDocumentInvalid as error:
                raise FileProblem(where, str(error).partition(": ")[2]) from None
            found.append((where, order_from_document(item)))
        return found
    grouped: dict[str, tuple[str, dict[str, Any], list[ChannelOrderLine]]] = {}
    for where, row in _records(data, fmt):
        order_id = _text(where, row, "order_id")
        line = ChannelOrderLine(
            _text(where, row, "line_id", required=False)
            or str(len(grouped.get(order_id, ("", {}, []))[2]) + 1),
            _text(where, row, "sku"),
            _int(where, row, "quantity", 1),
            _decimal(where, row, "unit_price"),
        )
        if order_id not in grouped:
            grouped[order_id] = (where, row, [])
            _time(where, row, "created_at")
            currency = _text(where, row, "currency")
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise FileProblem(where, f"currency {currency!r} is not an ISO 4217 code")
        grouped[order_id][2].append(line)
    return [
        (
            where,
            ChannelOrder(
                external_id=order_id,
                created_at=_time(where, row, "created_at"),
                currency=_text(where, row, "currency"),
                lines=tuple(lines),
                customer_email=_text(where, row, "customer_email", required=False) or None,
                customer_name=_text(where, row, "customer_name", required=False) or None,
            ),
        )
        for order_id, (where, row, lines) in grouped.items()
    ]
