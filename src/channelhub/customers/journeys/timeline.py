"""The 360° view: everything the hub knows of one customer from every channel, in one
timeline (orders and returns, carts, loyalty, consents, preferences, service interactions),
read over all the profile ids the customer is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database
from channelhub.customers.journeys import (
    carts,
    consent,
    interactions,
    loyalty,
    preferences,
    profiles,
    segments,
)
from channelhub.customers.store import customer_profiles
from channelhub.orders.service import load_order

MAX_ORDERS = 500


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # order, return, cart, loyalty, consent, preference, note, ticket, chat
    channel: str | None
    summary: str
    reference: str  # what to look up for more: "order:12", "cart:<token>", ...
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerView:
    profile_id: int
    profile_ids: list[int]
    golden: dict[str, Any]
    loyalty_balance: int
    consents: list[consent.ConsentState]
    preferences: dict[str, preferences.Preference]
    segments: segments.CustomerSegments | None
    active_cart: carts.Cart | None
    orders: int
    timeline: list[TimelineEntry]


def _order_entries(conn: Connection, ids: list[int]) -> tuple[int, list[TimelineEntry]]:
    order_ids = profiles.order_ids(conn, ids)
    entries: list[TimelineEntry] = []
    for order_id in order_ids[-MAX_ORDERS:]:
        view = load_order(conn, order_id)
        entries.append(
            TimelineEntry(
                view.placed_at, "order", view.channel,
                f"order {view.external_id} on {view.channel}: {view.status.value}, "
                f"{view.total} {view.currency}",
                f"order:{view.id}",
                {"order_id": view.id, "external_id": view.external_id,
                 "status": view.status.value, "total": str(view.total),
                 "currency": view.currency, "delivery_method": view.delivery_method.value,
                 "lines": [{"sku": line.sku, "quantity": line.quantity} for line in view.lines]},
            )
        )  # fmt: skip
        for ret in view.returns:
            entries.append(
                TimelineEntry(
                    datetime.fromisoformat(ret["at"]), "return", view.channel,
                    f"return of order {view.external_id} at {ret['location']}: "
                    f"{ret['refund']} {view.currency} refunded",
                    f"order:{view.id}",
                    {"order_id": view.id, "location": ret["location"], "refund": ret["refund"],
                     "lines": ret["lines"]},
                )
            )  # fmt: skip
    return len(order_ids), entries


def view_in(conn: Connection, profile_id: int) -> CustomerView:
    survivor = profiles.current(conn, profile_id)
    ids = profiles.members(conn, survivor)
    golden = conn.execute(
        select(customer_profiles.c.golden).where(customer_profiles.c.id == survivor)
    ).scalar()
    count, entries = _order_entries(conn, ids)
    cart_list = carts.carts_of(conn, ids)
    for cart in cart_list:
        entries.append(
            TimelineEntry(
                cart.created_at, "cart", cart.channel,
                f"cart started on {cart.channel} ({cart.status}; last used on "
                f"{cart.last_channel}; {cart.units} units)",
                f"cart:{cart.token}",
                {"status": cart.status, "last_channel": cart.last_channel,
                 "lines": [{"sku": line.sku, "quantity": line.quantity} for line in cart.lines],
                 "order_id": cart.order_id},
            )
        )  # fmt: skip
    ledger = loyalty.entries_of(conn, ids)
    for item in ledger:
        entries.append(
            TimelineEntry(
                item.at, "loyalty", item.channel,
                f"{item.points:+d} points ({item.kind}) {item.note}".strip(),
                item.source, {"points": item.points, "kind": item.kind},
            )
        )  # fmt: skip
    history = consent.history_of(conn, ids)
    for event in history:
        verb = "granted" if event.granted else "withdrew"
        entries.append(
            TimelineEntry(
                event.at, "consent", event.source, f"{verb} consent: {event.purpose.value}",
                f"consent:{event.id}", {"purpose": event.purpose.value, "granted": event.granted},
            )
        )  # fmt: skip
    prefs = preferences.preferences_of(conn, ids)
    for pref in prefs.values():
        entries.append(
            TimelineEntry(
                pref.at, "preference", pref.source, f"{pref.name} = {pref.value}",
                f"preference:{pref.name}", {"name": pref.name, "value": pref.value},
            )
        )  # fmt: skip
    for talk in interactions.interactions_of(conn, ids):
        entries.append(
            TimelineEntry(
                talk.created_at, talk.kind.value, talk.channel,
                f"{talk.kind.value} ({talk.status.value}) by {talk.author}: "
                f"{talk.subject or talk.body[:80]}",
                f"interaction:{talk.id}",
                {"id": talk.id, "status": talk.status.value, "subject": talk.subject,
                 "body": talk.body},
            )
        )  # fmt: skip
    entries.sort(key=lambda e: (e.at, e.kind, e.reference), reverse=True)
    active = next((c for c in reversed(cart_list) if c.status == carts.ACTIVE), None)
    return CustomerView(
        profile_id=survivor,
        profile_ids=ids,
        golden=dict(golden or {}),
        loyalty_balance=sum(item.points for item in ledger),
        consents=consent.current_of(history),
        preferences=prefs,
        segments=segments.segments_in(conn, survivor),
        active_cart=active,
        orders=count,
        timeline=entries,
    )


def customer_view(db: Database, profile_id: int) -> CustomerView:
    """The customer's 360° view, newest timeline entry first."""
    with db.read() as conn:
        return view_in(conn, profile_id)
