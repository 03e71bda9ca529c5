"""The journeys' part of data-protection exports and erasures (``customers.erasure``).

Export: every journey row of the person. Erasure: preferences, consents and interactions'
text go, carts are emptied and detached, the bought-products list goes; the loyalty ledger
keeps its amounts (accounting) with its notes blanked; the anonymous order facts that
recommendations count stay (they name no one once the profile link is cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from channelhub.customers.erasure import register_eraser, register_exporter
from channelhub.customers.journeys import store
from channelhub.customers.journeys.consent import history_of
from channelhub.customers.journeys.interactions import interactions_of
from channelhub.customers.journeys.loyalty import entries_of
from channelhub.customers.journeys.preferences import preferences_of

ERASED = "[erased]"


def export_journeys(conn: Connection, profile_ids: Sequence[int]) -> dict[str, Any]:
    """Everything the journeys keep about the person, as JSON-able data."""
    ids = list(profile_ids)
    c, cl = store.carts.c, store.cart_lines.c
    cart_rows = conn.execute(select(store.carts).where(c.profile_id.in_(ids)).order_by(c.id)).all()
    lines: dict[int, list[dict[str, Any]]] = {}
    if cart_rows:
        for r in conn.execute(
            select(store.cart_lines).where(cl.cart_id.in_([row.id for row in cart_rows]))
        ):
            lines.setdefault(r.cart_id, []).append({"sku": r.sku, "quantity": r.quantity})
    pp = store.profile_products.c
    seg = store.customer_segments.c
    return {
        "loyalty": [
            {"points": e.points, "kind": e.kind, "channel": e.channel, "source": e.source,
             "note": e.note, "at": e.at.isoformat()}
            for e in entries_of(conn, ids)
        ],
        "consents": [
            {"purpose": e.purpose.value, "granted": e.granted, "source": e.source,
             "note": e.note, "at": e.at.isoformat()}
            for e in history_of(conn, ids)
        ],
        "preferences": {
            name: {"value": p.value, "source": p.source, "at": p.at.isoformat()}
            for name, p in preferences_of(conn, ids).items()
        },
        "interactions": [
            {"kind": i.kind.value, "channel": i.channel, "subject": i.subject, "body": i.body,
             "status": i.status.value, "author": i.author, "at": i.created_at.isoformat()}
            for i in interactions_of(conn, ids)
        ],
        "carts": [
            {"token": r.token, "channel": r.channel, "status": r.status,
             "created_at": r.created_at.isoformat(), "lines": lines.get(r.id, [])}
            for r in cart_rows
        ],
        "products_bought": {
            r.sku: int(r.units)
            for r in conn.execute(select(pp.sku, pp.units).where(pp.profile_id.in_(ids)))
        },
        "segments": [
            {"rfm_segment": r.rfm_segment, "segments": list(r.segments),
             "computed_at": r.computed_at.isoformat()}
            for r in conn.execute(select(store.customer_segments).where(seg.profile_id.in_(ids)))
        ],
    }  # fmt: skip


def erase_journeys(conn: Connection, profile_ids: Sequence[int]) -> dict[str, int]:
    """Remove or anonymise the person's journey data; loyalty amounts stay for accounting."""
    ids = list(profile_ids)
    done: dict[str, int] = {}
    for name, table in (
        ("preferences", store.customer_preferences),
        ("consents", store.consent_events),
        ("products_bought", store.profile_products),
        ("segments", store.customer_segments),
    ):
        done[name] = int(conn.execute(delete(table).where(table.c.profile_id.in_(ids))).rowcount)
    ci = store.customer_interactions.c
    done["interactions"] = int(
        conn.execute(
            update(store.customer_interactions)
            .where(ci.profile_id.in_(ids))
            .values(subject=ERASED, body=ERASED, author=ERASED)
        ).rowcount
    )
    c = store.carts.c
    cart_ids = list(conn.execute(select(c.id).where(c.profile_id.in_(ids))).scalars())
    if cart_ids:
        conn.execute(delete(store.cart_lines).where(store.cart_lines.c.cart_id.in_(cart_ids)))
        conn.execute(update(store.carts).where(c.id.in_(cart_ids)).values(profile_id=None))
    done["carts"] = len(cart_ids)
    ll = store.loyalty_ledger.c
    done["loyalty_entries_kept"] = int(
        conn.execute(
            update(store.loyalty_ledger).where(ll.profile_id.in_(ids)).values(note="")
        ).rowcount
    )
    return done


def register() -> None:
    register_exporter("journeys", export_journeys)
    register_eraser("journeys", erase_journeys)
