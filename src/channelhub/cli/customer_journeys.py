"""``channelhub journeys``: the 360° view, loyalty, consent, interactions, carts,
recommendations, segments and the order-event reader that keeps them current."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import typer
from rich.table import Table

from channelhub.cli.common import console, database, handle_errors
from channelhub.customers.journeys import (
    carts,
    consent,
    feed,
    holds,
    interactions,
    loyalty,
    recommendations,
    segments,
    timeline,
)
from channelhub.customers.journeys.model import LoyaltyRule

app = typer.Typer(
    help="Customer journeys: 360° view, loyalty, consent, carts, recommendations, segments.",
    no_args_is_help=True,
)


def _json(value: Any) -> None:
    print(json.dumps(value, default=str, indent=2, ensure_ascii=False))


@app.command("view")
@handle_errors
def view(
    profile_id: int,
    limit: int = typer.Option(50, help="timeline entries to show"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The customer's 360° view: balance, consents, preferences, cart and timeline."""
    found = timeline.customer_view(database(), profile_id)
    if as_json:
        _json(
            {
                "profile_id": found.profile_id,
                "profile_ids": found.profile_ids,
                "loyalty_balance": found.loyalty_balance,
                "orders": found.orders,
                "consents": {s.purpose.value: s.granted for s in found.consents},
                "preferences": {n: p.value for n, p in found.preferences.items()},
                "segments": found.segments.segments if found.segments else [],
                "active_cart": found.active_cart.token if found.active_cart else None,
                "timeline": [
                    {"at": e.at.isoformat(), "kind": e.kind, "channel": e.channel,
                     "summary": e.summary, "reference": e.reference}
                    for e in found.timeline[:limit]
                ],
            }
        )  # fmt: skip
        return
    console.print(
        f"customer {found.profile_id} (ids {', '.join(map(str, found.profile_ids))}): "
        f"{found.orders} orders, {found.loyalty_balance} points"
    )
    console.print(
        "consents: "
        + ", ".join(f"{s.purpose.value}={'yes' if s.granted else 'no'}" for s in found.consents)
    )
    if found.segments:
        console.print(f"segments: {', '.join(found.segments.segments)}")
    table = Table("at", "kind", "channel", "summary")
    for entry in found.timeline[:limit]:
        table.add_row(
            entry.at.strftime("%Y-%m-%d %H:%M"), entry.kind, entry.channel or "", entry.summary
        )
    console.print(table)


@app.command("loyalty")
@handle_errors
def show_loyalty(profile_id: int) -> None:
    """The points balance and ledger."""
    account = loyalty.account(database(), profile_id)
    console.print(f"customer {account.profile_id}: {account.balance} points")
    table = Table("at", "points", "kind", "channel", "source")
    for e in account.entries:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M"), f"{e.points:+d}", e.kind, e.channel or "", e.source
        )
    console.print(table)


@app.command("burn")
@handle_errors
def burn(
    profile_id: int,
    points: int,
    channel: str = typer.Option(..., help="where the points are spent"),
    reference: str = typer.Option(..., help="receipt id: the same reference is the same burn"),
) -> None:
    """Spend points (refused when the balance is lower)."""
    db = database()
    loyalty.burn(db, profile_id, points, channel, reference)
    console.print(f"spent {points}; balance {loyalty.account(db, profile_id).balance}")


@app.command("rule")
@handle_errors
def rule(
    channel: str = typer.Argument(..., help="a channel code, or * for every other channel"),
    points_per_unit: Decimal = typer.Option(Decimal(1), help="points per currency unit"),
    multiplier: Decimal = typer.Option(Decimal(1), help="e.g. 2 for double points"),
) -> None:
    """Set a channel's loyalty rule."""
    loyalty.save_rule(database(), LoyaltyRule(channel, points_per_unit, multiplier))
    console.print(f"{channel}: {points_per_unit} points per unit x {multiplier}")


@app.command("consent")
@handle_errors
def record_consent(
    profile_id: int,
    purpose: consent.Purpose,
    grant: bool = typer.Option(..., "--grant/--withdraw"),
    source: str = typer.Option(..., help="where it was given"),
) -> None:
    """Record a grant or withdrawal of consent."""
    consent.record_consent(database(), profile_id, purpose, grant, source)
    console.print(f"{purpose.value}: {'granted' if grant else 'withdrawn'} ({source})")


@app.command("note")
@handle_errors
def note(
    profile_id: int,
    body: str,
    kind: interactions.InteractionKind = typer.Option(interactions.InteractionKind.NOTE),
    channel: str = typer.Option("cli"),
    author: str = typer.Option(..., help="who logs it"),
    subject: str = typer.Option(""),
) -> None:
    """Log a note, ticket or chat for the customer."""
    found = interactions.log_interaction(
        database(), profile_id, kind, channel, subject, body, author
    )
    console.print(f"{found.kind.value} {found.id} ({found.status.value})")


@app.command("cart")
@handle_errors
def show_cart(token: str) -> None:
    """A cart's lines and holds."""
    cart = carts.get_cart(database(), token)
    console.print(
        f"cart {cart.token} ({cart.status}) of customer {cart.profile_id or '-'}: started on "
        f"{cart.channel}, last used on {cart.last_channel}"
    )
    for line in cart.lines:
        console.print(f"  {line.quantity} x {line.sku} (held {line.held})")


@app.command("recommend")
@handle_errors
def recommend(
    sku: str | None = typer.Option(None, help="for a product"),
    customer: int | None = typer.Option(None, help="for a customer (profile id)"),
    limit: int = typer.Option(10),
) -> None:
    """Recommendations for a product or a customer, as JSON."""
    db = database()
    if (sku is None) == (customer is None):
        raise typer.BadParameter("give --sku or --customer")
    if sku is not None:
        found: Any = recommendations.for_product(db, sku, limit)
    else:
        assert customer is not None
        found = recommendations.for_customer(db, customer, limit)
    _json(json.loads(json.dumps(found, default=lambda o: vars(o))))


@app.command("segments")
@handle_errors
def compute() -> None:
    """Score every customer (RFM, channel mix, favourite category)."""
    console.print(f"scored {segments.compute_segments(database())} customers")


@app.command("process")
@handle_errors
def process() -> None:
    """Read the order events not yet counted: points, recommendation counts."""
    console.print(f"read {feed.catch_up(database())} events")


@app.command("expire-holds")
@handle_errors
def expire_holds() -> None:
    """Release cart holds whose time is up."""
    console.print(f"released {holds.expire_holds(database())} holds")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="journeys")
