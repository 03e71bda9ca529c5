"""Streaming exports of products as CSV or JSON Lines, in the shapes the importer reads back."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import aliased

from channelhub.catalog import store
from channelhub.catalog.browse import scoped
from channelhub.catalog.model import AttributeType, JsonValue, split_scope
from channelhub.catalog.snapshot import load_snapshot
from channelhub.core.database import Database

BATCH = 5000


def _batches(db: Database) -> Iterator[list[dict[str, Any]]]:
    products = store.products
    parent = aliased(products)
    after = 0
    while True:
        with db.read() as conn:
            rows = conn.execute(
                select(
                    products.c.id,
                    products.c.sku,
                    products.c.kind,
                    parent.c.sku.label("parent"),
                    store.families.c.code.label("family"),
                    products.c.status,
                    products.c["values"],
                )
                .select_from(products)
                .outerjoin(parent, parent.c.id == products.c.parent_id)
                .outerjoin(store.families, store.families.c.id == products.c.family_id)
                .where(products.c.id > after)
                .order_by(products.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            categories: dict[int, list[str]] = defaultdict(list)
            for product_id, code in conn.execute(
                select(store.product_categories.c.product_id, store.categories.c.code)
                .join(
                    store.categories,
                    store.categories.c.id == store.product_categories.c.category_id,
                )
                .where(store.product_categories.c.product_id.between(rows[0].id, rows[-1].id))
            ):
                categories[product_id].append(code)
        yield [
            {
                "sku": r.sku,
                "kind": r.kind,
                "parent": r.parent,
                "family": r.family,
                "status": r.status,
                "categories": sorted(categories.get(r.id, [])),
                "values": r.values,
            }
            for r in rows
        ]
        after = rows[-1].id


def _cell(kind: AttributeType | None, data: JsonValue) -> str:
    if isinstance(data, bool):
        return "true" if data else "false"
    if kind is AttributeType.PRICE:
        return ",".join(f"{p['amount']} {p['currency']}" for p in data)
    if kind is AttributeType.MEASUREMENT:
        return f"{data['amount']} {data['unit']}"
    if isinstance(data, list):
        return ",".join(str(x) for x in data)
    return str(data)


def _column(code: str, key: str) -> str:
    channel, locale = split_scope(key)
    return "-".join(x for x in (code, locale, channel) if x)


def export_products(db: Database, fmt: str) -> Iterator[str]:
    """Yield the export in chunks of text: one batch of products at a time."""
    if fmt == "jsonl":
        for batch in _batches(db):
            out = []
            for item in batch:
                values = {
                    code: [
                        {"locale": v.locale, "channel": v.channel, "data": v.data} for v in items
                    ]
                    for code, items in scoped(item["values"]).items()
                }
                record = {k: v for k, v in item.items() if k != "values" and v is not None}
                if record.get("kind") == "variant":
                    del record["kind"]
                    record.pop("family", None)
                out.append(orjson.dumps(record | {"values": values}).decode())
            yield "\n".join(out) + "\n"
        return
    with db.read() as conn:
        snapshot = load_snapshot(conn)
    # A first pass finds every column in use, so the header can come first.
    keys: set[tuple[str, str]] = set()
    for batch in _batches(db):
        for item in batch:
            for code, scopes in item["values"].items():
                keys.update((code, key) for key in scopes)
    value_columns = sorted(keys)
    header = ["sku", "kind", "family", "parent", "categories", "status"]
    header += [_column(code, key) for code, key in value_columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for batch in _batches(db):
        for item in batch:
            is_variant = item["kind"] == "variant"
            row = [
                item["sku"],
                "" if is_variant else item["kind"],
                "" if is_variant else item["family"] or "",
                item["parent"] or "",
                ",".join(item["categories"]),
                item["status"],
            ]
            for code, key in value_columns:
                data = item["values"].get(code, {}).get(key)
                attribute = snapshot.attributes.get(code)
                row.append(
                    "" if data is None else _cell(attribute.type if attribute else None, data)
                )
            writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
