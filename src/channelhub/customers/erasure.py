"""Data-protection export and erasure of one person, and the registry other parts plug into.

Other parts of the customers context (timeline, loyalty, consent, carts, ...) keep data keyed by
profile id. They register:

- ``register_exporter(name, fn)`` with ``fn(conn, profile_ids) -> JSON-able value``: the part's
  data of the person, put under ``name`` in the export;
- ``register_eraser(name, fn)`` with ``fn(conn, profile_ids) -> JSON-able summary``: remove or
  anonymise the part's personal data of the person.

``profile_ids`` is ``identity.profile_members(conn, profile_id)``: the surviving id first, then
every id merged into it. Both run inside the caller's transaction: an erasure that fails in any
part leaves nothing half-erased. Registering the same name again replaces the function.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import String, cast, delete, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.events import record_event
from channelhub.customers import identity, store
from channelhub.customers.service import _link_dict, load_profile
from channelhub.orders.privacy import anonymise_customer
from channelhub.orders.service import load_order

PartFunction = Callable[[Connection, Sequence[int]], Any]

_exporters: dict[str, PartFunction] = {}
_erasers: dict[str, PartFunction] = {}

P = store.customer_profiles.c
R = store.customer_records.c
I = store.customer_identifiers.c  # noqa: E741
L = store.customer_links.c
F = store.customer_refusals.c
S = store.customer_match_suggestions.c
O = store.customer_order_links.c  # noqa: E741


def register_exporter(name: str, fn: PartFunction) -> None:
    """Add a part to every data-protection export, under ``name``."""
    _exporters[name] = fn


def register_eraser(name: str, fn: PartFunction) -> None:
    """Add a part to every erasure."""
    _erasers[name] = fn


def exporters() -> dict[str, PartFunction]:
    return dict(_exporters)


def erasers() -> dict[str, PartFunction]:
    return dict(_erasers)


def _load_parts() -> None:
    """Import the parts that register themselves (part B's package, when present)."""
    if importlib.util.find_spec("channelhub.customers.journeys") is not None:
        importlib.import_module("channelhub.customers.journeys")


# --- export and erasure -------------------------------------------------------------------


def export_profile(db: Database, profile_id: int, actor: str) -> dict[str, Any]:
    """All data the hub holds of one person, as JSON-able values; the export is audited."""
    _load_parts()
    with db.transaction() as conn:
        view = load_profile(conn, profile_id)
        members = identity.profile_members(conn, view.id)
        records = select(R.id).where(R.profile_id == view.id)
        links = conn.execute(
            select(store.customer_links)
            .where(or_(L.record_id.in_(records), L.other_record_id.in_(records)))
            .order_by(L.id)
        ).all()
        orders = []
        for order_id in view.order_ids:
            order = load_order(conn, order_id)
            orders.append(
                {
                    "id": order.id,
                    "channel": order.channel,
                    "external_id": order.external_id,
                    "status": order.status.value,
                    "placed_at": order.placed_at.isoformat(),
                    "currency": order.currency,
                    "total": str(order.total),
                    "customer": order.customer,
                    "billing_address": order.billing_address,
                    "shipping_address": order.shipping_address,
                    "lines": [
                        {"sku": line.sku, "quantity": line.quantity, "price": str(line.unit_price)}
                        for line in order.lines
                    ],
                }
            )
        parts = {name: fn(conn, members) for name, fn in sorted(exporters().items())}
        document: dict[str, Any] = {
            "profile": view.as_dict(),
            "merge_log": [_link_dict(r) for r in links],
            "orders": orders,
            "parts": parts,
        }
        _audit(conn, "export", view.id, actor, {"parts": sorted(parts), "orders": len(orders)})
        exported: dict[str, Any] = json_safe(document)
        return exported


def erase_profile(db: Database, profile_id: int, actor: str) -> dict[str, Any]:
    """Erase one person: identifiers deleted, personal attributes and the golden record
    emptied, identifier values in the merge log and refusals anonymised, linked orders kept
    for accounting with their customer and address fields anonymised, and every registered
    part erased. One transaction; audited. Returns what was done."""
    _load_parts()
    with db.transaction() as conn:
        members = identity.profile_members(conn, profile_id)
        survivor = members[0]
        now = utcnow()
        record_ids = [
            int(r) for r in conn.execute(select(R.id).where(R.profile_id == survivor)).scalars()
        ]
        identifiers = conn.execute(
            delete(store.customer_identifiers).where(I.record_id.in_(record_ids))
        ).rowcount
        conn.execute(
            update(store.customer_records)
            .where(R.id.in_(record_ids))
            .values(
                attributes={},
                source_ref=literal("erased:").concat(cast(R.id, String)),
                block_postcode=None,
                block_birth=None,
                erased_at=now,
            )
        )
        conn.execute(
            update(store.customer_profiles)
            .where(P.id.in_(members))
            .values(golden={}, erased_at=now, updated_at=now)
        )
        conn.execute(
            update(store.customer_links)
            .where(or_(L.record_id.in_(record_ids), L.other_record_id.in_(record_ids)))
            .values(identifier_value=None, reason="erased")
        )
        conn.execute(
            update(store.customer_refusals)
            .where(or_(F.record_id.in_(record_ids), F.profile_id.in_(members)))
            .values(value="erased", detail="erased")
        )
        conn.execute(
            update(store.customer_match_suggestions)
            .where(or_(S.record_a.in_(record_ids), S.record_b.in_(record_ids)))
            .values(details={})
        )
        order_ids = [
            int(o)
            for o in conn.execute(select(O.order_id).where(O.profile_id.in_(members))).scalars()
        ]
        anonymise_customer(conn, order_ids)
        parts = {name: fn(conn, members) for name, fn in sorted(erasers().items())}
        summary = {
            "profile_id": survivor,
            "profile_ids": members,
            "records": len(record_ids),
            "identifiers": identifiers,
            "orders_anonymised": len(order_ids),
            "parts": parts,
        }
        _audit(conn, "erase", survivor, actor, json_safe(summary))
        record_event(conn, "customers.profile_erased", str(survivor), {"profile_id": survivor})
        done: dict[str, Any] = json_safe(summary)
        return done


def audit_log(
    db: Database, profile_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Exports and erasures, newest first."""
    audit = store.customer_audit.c
    with db.read() as conn:
        query = select(store.customer_audit).order_by(audit.id.desc()).limit(limit)
        if profile_id is not None:
            query = query.where(audit.profile_id == profile_id)
        return [
            {
                "id": r.id,
                "action": r.action,
                "profile_id": r.profile_id,
                "actor": r.actor,
                "details": r.details,
                "created_at": r.created_at.isoformat(),
            }
            for r in conn.execute(query)
        ]


def _audit(
    conn: Connection, action: str, profile_id: int, actor: str, details: dict[str, Any]
) -> None:
    conn.execute(
        insert(store.customer_audit).values(
            action=action,
            profile_id=profile_id,
            actor=actor[:200],
            details=details,
            created_at=utcnow(),
        )
    )


def json_safe(value: Any) -> Any:
    """``value`` with dates, decimals and other scalars turned into JSON-able ones."""
    return orjson.loads(orjson.dumps(value, default=str))
