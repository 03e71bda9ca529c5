"""Pricing commands: price lists, prices (set, import, resolve), promotions, parity."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from channelhub.cli.common import (
    EXIT_INVALID,
    EXIT_REJECTED,
    byte_progress,
    console,
    database,
    errors,
    handle_errors,
)
from channelhub.core.errors import InvalidInput
from channelhub.pricing import importing, parity, prices, promotions, service
from channelhub.pricing.model import PriceResolution, Promotion, PromotionKind

price_list_app = typer.Typer(
    help="Price lists: one per channel and currency.", no_args_is_help=True
)
price_app = typer.Typer(
    help="Prices: set, import, list, remove, resolve with breakdown.", no_args_is_help=True
)
promotion_app = typer.Typer(help="Promotions: percentage or fixed amount.", no_args_is_help=True)
parity_app = typer.Typer(help="Price parity across integrated channels.", no_args_is_help=True)


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{option} needs a UTC offset, e.g. 2025-01-01T00:00:00Z")
    return moment


def _money(value: Decimal | None) -> str:
    return "" if value is None else str(value)


# --- price lists --------------------------------------------------------------------------


@price_list_app.command("set")
@handle_errors
def price_list_set(
    code: str,
    channel: str = typer.Option(..., help="the channel's code"),
    currency: str | None = typer.Option(None, help="default: the channel's currency"),
    name: str = "",
) -> None:
    """Create a price list (or rename it)."""
    p = service.save_price_list(database(), code, channel, currency, name)
    console.print(f"price list {p.code}: channel {p.channel}, {p.currency}, {p.prices} prices")


@price_list_app.command("list")
@handle_errors
def price_list_list(channel: str | None = None) -> None:
    table = Table("code", "name", "channel", "currency", "prices")
    for p in service.list_price_lists(database(), channel):
        table.add_row(p.code, p.name, p.channel, p.currency, str(p.prices))
    console.print(table)


@price_list_app.command("delete")
@handle_errors
def price_list_delete(code: str) -> None:
    """Delete a price list and its prices (each removal is announced)."""
    count = service.delete_price_list(database(), code)
    console.print(f"price list {code} deleted with {count} prices")


# --- prices -------------------------------------------------------------------------------


@price_app.command("set")
@handle_errors
def price_set(
    price_list: str,
    sku: str,
    base_price: str,
    sale_price: str | None = typer.Option(None, "--sale"),
    sale_starts_at: str | None = typer.Option(None, "--sale-starts", help="ISO 8601 with offset"),
    sale_ends_at: str | None = typer.Option(None, "--sale-ends", help="ISO 8601 with offset"),
) -> None:
    """Set one SKU's price in a price list."""
    item = prices.PriceInput(sku, base_price, sale_price, sale_starts_at, sale_ends_at, price_list)
    report = prices.save_prices(database(), [item], actor="cli")
    if report.rejected:
        r = report.rejected[0]
        raise InvalidInput(f"the price of {sku} was not saved: {r.column or 'row'}: {r.reason}")
    state = "unchanged" if report.unchanged else "saved"
    console.print(f"{sku} in {price_list}: {state} ({report.events} price change(s) announced)")


@price_app.command("remove")
@handle_errors
def price_remove(price_list: str, sku: str) -> None:
    prices.delete_price(database(), price_list, sku)
    console.print(f"{sku} removed from {price_list}")


@price_app.command("list")
@handle_errors
def price_list_prices(
    price_list: str | None = typer.Option(None, "--price-list"),
    sku: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> None:
    """Stored prices (as set; `price resolve` gives the effective price)."""
    page = prices.list_prices(database(), price_list, sku, cursor, limit)
    table = Table("price list", "sku", "currency", "base", "sale", "sale from", "sale until")
    for p in page.items:
        table.add_row(
            p.price_list,
            p.sku,
            p.currency,
            str(p.base_price),
            _money(p.sale_price),
            f"{p.sale_starts_at:%Y-%m-%d %H:%M}" if p.sale_starts_at else "",
            f"{p.sale_ends_at:%Y-%m-%d %H:%M}" if p.sale_ends_at else "",
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@price_app.command("import")
def price_import(
    file: Path,
    price_list: str | None = typer.Option(None, "--price-list", help="for rows without one"),
    atomic: bool = typer.Option(False, "--atomic", help="write nothing if any row is rejected"),
    encoding: str = typer.Option("utf-8-sig", help="the file's text encoding"),
    report: Path | None = typer.Option(None, help="write the full report as JSON here"),
) -> None:
    """Import a price CSV; exits 1 when rows were rejected, 2 when the file was refused."""
    size = file.stat().st_size if file.exists() else 0
    with byte_progress() as bar:
        task = bar.add_task("importing prices", total=None, rows=0)
        result = importing.import_prices(
            database(),
            file,
            price_list,
            atomic=atomic,
            encoding=encoding,
            actor="cli",
            progress=lambda rows: bar.update(task, rows=rows),
        )
        bar.update(task, total=size, completed=size)
    saved = result.prices
    for problem in result.file_errors:
        errors.print(f"[red]file refused:[/red] {problem}")
    written = "nothing written (--atomic)" if atomic and saved.rejected else ""
    console.print(
        f"{saved.rows} rows: {saved.created} created, {saved.updated} updated, "
        f"{saved.unchanged} unchanged, {len(saved.rejected)} rejected; "
        f"{saved.events} price change(s) announced {written}".rstrip()
    )
    if saved.rejected:
        table = Table("line", "sku", "column", "reason", title="rejected rows")
        for r in saved.rejected[:50]:
            table.add_row(str(r.line), r.sku or "", r.column or "", r.reason)
        errors.print(table)
        if len(saved.rejected) > 50:
            errors.print(f"... and {len(saved.rejected) - 50} more (see --report)")
    if report is not None:
        report.write_text(
            json.dumps(
                {
                    "rows": saved.rows,
                    "created": saved.created,
                    "updated": saved.updated,
                    "unchanged": saved.unchanged,
                    "events": saved.events,
                    "file_errors": result.file_errors,
                    "rejected": [r.as_dict() for r in saved.rejected],
                },
                indent=2,
            )
        )
    if result.file_errors:
        raise typer.Exit(EXIT_INVALID)
    if saved.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _resolution_json(r: PriceResolution) -> dict[str, Any]:
    return {
        "sku": r.sku,
        "channel": r.channel,
        "currency": r.currency,
        "at": r.at.isoformat(),
        "segment": r.segment,
        "base_price": str(r.base_price),
        "sale_price": None if r.sale_price is None else str(r.sale_price),
        "promotions_applied": [
            {"code": a.code, "discount": str(a.discount), "price_after": str(a.price_after)}
            for a in r.applied
        ],
        "promotions_passed_over": [{"code": p.code, "reason": p.reason} for p in r.passed_over],
        "effective_price": str(r.effective_price),
    }


@price_app.command("resolve")
@handle_errors
def price_resolve(
    sku: str,
    channel: str = typer.Option(...),
    segment: str | None = typer.Option(None, help="customer segment"),
    at: str | None = typer.Option(None, help="ISO 8601 time with offset (default: now)"),
    currency: str | None = typer.Option(None, help="default: the channel's currency"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The effective price of a SKU on a channel, and why."""
    r = service.resolve(database(), sku, channel, segment, _time(at, "--at"), currency)
    if as_json:
        print(json.dumps(_resolution_json(r)))
        return
    who = f" for segment {r.segment}" if r.segment else ""
    console.print(f"[bold]{r.sku}[/bold] on {r.channel}{who} at {r.at:%Y-%m-%d %H:%M:%S}Z")
    console.print(f"  base price      {r.base_price} {r.currency}")
    if r.sale_price is not None:
        until = f" until {r.sale_ends_at:%Y-%m-%d %H:%M}Z" if r.sale_ends_at else ""
        console.print(f"  sale price      {r.sale_price} {r.currency}{until}")
    for a in r.applied:
        unit = "%" if a.kind is PromotionKind.PERCENTAGE else f" {r.currency}"
        console.print(f"  - {a.code} ({a.value}{unit})  -{a.discount} -> {a.price_after}")
    for p in r.passed_over:
        console.print(f"  [dim]not applied: {p.code}: {p.reason}[/dim]")
    console.print(f"  [bold]effective price {r.effective_price} {r.currency}[/bold]")


@price_app.command("announce-scheduled")
@handle_errors
def price_announce_scheduled() -> None:
    """Announce prices changed by sales and promotions that started or ended since the last
    run (run it periodically, e.g. every minute; the first run only sets the clock)."""
    count = promotions.announce_scheduled_changes(database())
    console.print(f"{count} price change(s) announced")


# --- promotions ---------------------------------------------------------------------------


@promotion_app.command("set")
@handle_errors
def promotion_set(
    code: str,
    kind: PromotionKind = typer.Option(...),
    value: str = typer.Option(..., help="percentage, or amount in --currency"),
    currency: str | None = typer.Option(None, help="for fixed_amount"),
    name: str = "",
    sku: list[str] = typer.Option([], "--sku", help="repeatable"),
    category: list[str] = typer.Option([], "--category", help="repeatable; includes subtree"),
    channel: list[str] = typer.Option([], "--channel", help="repeatable"),
    segment: list[str] = typer.Option([], "--segment", help="repeatable"),
    starts_at: str | None = typer.Option(None, "--starts", help="ISO 8601 with offset"),
    ends_at: str | None = typer.Option(None, "--ends", help="ISO 8601 with offset"),
    stackable: bool = typer.Option(False, "--stackable/--exclusive"),
    priority: int = 0,
    sale_items: bool = typer.Option(True, "--sale-items/--no-sale-items"),
    active: bool = typer.Option(True, "--active/--inactive"),
) -> None:
    """Create or replace a promotion; the prices it changes now are announced."""
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise InvalidInput(f"--value {value!r} is not a number") from None
    promotion = Promotion(
        code=code,
        kind=kind,
        value=amount,
        name=name,
        currency=currency,
        skus=frozenset(sku),
        categories=frozenset(category),
        channels=frozenset(channel),
        segments=frozenset(segment),
        starts_at=_time(starts_at, "--starts"),
        ends_at=_time(ends_at, "--ends"),
        is_stackable=stackable,
        priority=priority,
        applies_to_sale_items=sale_items,
        is_active=active,
    )
    saved, created = promotions.save_promotion(database(), promotion)
    console.print(f"promotion {saved.code} {'created' if created else 'saved'}")


def _scope(p: Promotion) -> str:
    parts = [
        f"{label}: {', '.join(sorted(items))}"
        for label, items in (
            ("skus", p.skus),
            ("categories", p.categories),
            ("channels", p.channels),
            ("segments", p.segments),
        )
        if items
    ]
    return "; ".join(parts) or "everything"


@promotion_app.command("list")
@handle_errors
def promotion_list(
    running_at: str | None = typer.Option(None, "--running-at", help="only those running then"),
    channel: str | None = None,
) -> None:
    table = Table("code", "kind", "value", "scope", "period", "stacks", "priority", "active")
    for p in promotions.list_promotions(database(), _time(running_at, "--running-at"), channel):
        period = (
            f"{p.starts_at:%Y-%m-%d %H:%M}" if p.starts_at else "…",
            f"{p.ends_at:%Y-%m-%d %H:%M}" if p.ends_at else "…",
        )
        value = f"{p.value}%" if p.kind is PromotionKind.PERCENTAGE else f"{p.value} {p.currency}"
        table.add_row(
            p.code,
            p.kind.value,
            value,
            _scope(p),
            " – ".join(period),
            "yes" if p.is_stackable else "no",
            str(p.priority),
            "yes" if p.is_active else "no",
        )
    console.print(table)


@promotion_app.command("delete")
@handle_errors
def promotion_delete(code: str) -> None:
    promotions.delete_promotion(database(), code)
    console.print(f"promotion {code} deleted")


# --- parity -------------------------------------------------------------------------------


@parity_app.command("allow")
@handle_errors
def parity_allow(
    channel: str,
    other_channel: str | None = typer.Argument(None, help="omit: against any channel"),
    percent: str | None = typer.Option(None, "--percent", help="of the lower price"),
    amount: str | None = typer.Option(None, "--amount"),
    currency: str | None = typer.Option(None, help="needed with --amount"),
) -> None:
    """Allow prices to differ by the greater of a percentage and an amount."""
    stored = parity.save_parity_rule(database(), channel, other_channel, percent, amount, currency)
    console.print(f"parity rule {stored.id}: {stored.rule.describe()}")


@parity_app.command("rules")
@handle_errors
def parity_rules() -> None:
    for stored in parity.list_parity_rules(database()):
        console.print(f"{stored.id}  {stored.rule.describe()}")


@parity_app.command("remove")
@handle_errors
def parity_remove(rule_id: int) -> None:
    parity.delete_parity_rule(database(), rule_id)
    console.print(f"parity rule {rule_id} removed")


@parity_app.command("report")
@handle_errors
def parity_report(
    at: str | None = typer.Option(None, help="ISO 8601 time with offset (default: now)"),
    segment: str | None = None,
    channel: list[str] = typer.Option([], "--channel", help="default: all integrated"),
    limit: int = 10_000,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """SKUs whose effective price differs between channels of one currency beyond the rules;
    exits 1 when any does."""
    report = parity.parity_report(database(), _time(at, "--at"), segment, channel or None, limit)
    if as_json:
        print(
            json.dumps(
                {
                    "at": report.at.isoformat(),
                    "segment": report.segment,
                    "compared": report.compared,
                    "not_compared": report.not_compared,
                    "skus_checked": report.skus_checked,
                    "truncated": report.truncated,
                    "breaks": [
                        {
                            k: (str(v) if isinstance(v, Decimal) else v)
                            for k, v in b.__dict__.items()
                        }
                        for b in report.breaks
                    ],
                }
            )
        )
    else:
        for currency, codes in report.compared.items():
            console.print(f"compared in {currency}: {', '.join(codes)}")
        for code, why in report.not_compared.items():
            console.print(f"[yellow]not compared[/yellow] {code}: {why}")
        table = Table("sku", "channel", "price", "other", "price", "difference", "allowed", "rule")
        for b in report.breaks:
            table.add_row(
                b.sku,
                b.channel,
                _money(b.price) or "no price",
                b.other_channel,
                _money(b.other_price) or "no price",
                _money(b.difference),
                str(b.allowed),
                b.rule or "equal prices",
            )
        console.print(table)
        more = " (truncated)" if report.truncated else ""
        console.print(
            f"{report.skus_checked} SKUs checked, {len(report.breaks)} parity breaks{more}"
        )
    if report.breaks:
        raise typer.Exit(EXIT_REJECTED)


def register(app: typer.Typer) -> None:
    app.add_typer(price_list_app, name="price-list")
    app.add_typer(price_app, name="price")
    app.add_typer(promotion_app, name="promotion")
    app.add_typer(parity_app, name="parity")
