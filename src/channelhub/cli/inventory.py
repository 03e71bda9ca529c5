"""Inventory and order commands: locations, stock, counts by CSV, transfers, orders."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from channelhub.cli.common import console, count_progress, database, errors, handle_errors
from channelhub.core.errors import InvalidInput
from channelhub.inventory import service
from channelhub.inventory.model import Address, LocationKind
from channelhub.inventory.service import ChangeKind, ShortagePolicy
from channelhub.orders import fulfilment
from channelhub.orders import service as orders
from channelhub.orders.model import OrderInput, OrderStatus, ReturnCondition

location_app = typer.Typer(help="Locations: warehouses, stores, 3PLs.", no_args_is_help=True)
stock_app = typer.Typer(
    help="Stock: levels, receipts, counts, transfers, ledger.", no_args_is_help=True
)
order_app = typer.Typer(
    help="Orders: import, list, show, ship, cancel, return.", no_args_is_help=True
)


# --- locations ----------------------------------------------------------------------------


@location_app.command("add")
@handle_errors
def location_add(
    code: str,
    name: str = typer.Option(..., help="display name"),
    kind: LocationKind = typer.Option(LocationKind.WAREHOUSE),
    city: str = typer.Option(""),
    country: str = typer.Option(""),
    latitude: float | None = typer.Option(None),
    longitude: float | None = typer.Option(None),
    ships: bool = typer.Option(True, "--ships/--no-ships"),
    pickup: bool = typer.Option(False, "--pickup/--no-pickup"),
    returns: bool = typer.Option(True, "--returns/--no-returns", help="accepts returns"),
    priority: int = typer.Option(100, help="lower is preferred by routing"),
    safety_stock: int = typer.Option(0, help="units per SKU never promised"),
) -> None:
    """Create or update a location."""
    spec = service.LocationInput(
        code,
        name,
        kind,
        Address(city=city, country=country, latitude=latitude, longitude=longitude),
        ships,
        pickup,
        returns,
        priority,
        safety_stock,
    )
    saved = service.save_location(database(), spec)
    console.print(f"location {saved.code} ({saved.kind.value}) saved")


@location_app.command("list")
def location_list() -> None:
    table = Table("code", "name", "kind", "ships", "pickup", "returns", "priority", "safety")
    for loc in service.list_locations(database()):
        table.add_row(
            loc.code, loc.name, loc.kind.value, str(loc.ships), str(loc.pickup),
            str(loc.accepts_returns), str(loc.priority), str(loc.safety_stock),
        )  # fmt: skip
    console.print(table)


@location_app.command("link")
@handle_errors
def location_link(
    channel: str,
    locations: list[str] = typer.Argument(..., help="CODE or CODE:SHARE, in order of preference"),
) -> None:
    """Set the locations that serve a channel (shares only for independent channels)."""
    links = []
    for item in locations:
        code, _, share = item.partition(":")
        try:
            links.append(service.ChannelLink(code, float(share) if share else None))
        except ValueError:
            raise InvalidInput(f"{item!r}: a share is a number between 0 and 1") from None
    service.link_channel(database(), channel, links)
    console.print(f"channel {channel} is served by {', '.join(locations)}")


# --- stock --------------------------------------------------------------------------------


def _change(
    kind: ChangeKind, sku: str, location: str, quantity: int, pool: str | None, reason: str
) -> None:
    result = service.change_stock(
        database(), kind, [service.StockChange(sku, location, quantity, pool, reason)], "cli"
    )
    console.print(f"{kind.value}: {sku} at {location} ({result.movements} movement)")
    if result.flagged:
        errors.print("[yellow]stock went negative; an alert was raised[/yellow]")


@stock_app.command("receive")
@handle_errors
def stock_receive(
    sku: str, location: str, quantity: int, pool: str | None = typer.Option(None), reason: str = ""
) -> None:
    """Add received units."""
    _change(ChangeKind.RECEIPT, sku, location, quantity, pool, reason)


@stock_app.command("adjust")
@handle_errors
def stock_adjust(
    sku: str, location: str, delta: int, pool: str | None = typer.Option(None), reason: str = ""
) -> None:
    """Add or remove units (a negative delta removes)."""
    _change(ChangeKind.ADJUSTMENT, sku, location, delta, pool, reason)


@stock_app.command("count")
@handle_errors
def stock_count(
    sku: str, location: str, counted: int, pool: str | None = typer.Option(None), reason: str = ""
) -> None:
    """Set on-hand to what was counted."""
    _change(ChangeKind.COUNT, sku, location, counted, pool, reason)


@stock_app.command("import")
@handle_errors
def stock_import(
    kind: ChangeKind,
    file: Path,
    key: str | None = typer.Option(None, help="idempotency key (default: kind + file content)"),
) -> None:
    """Apply a CSV (sku,location,quantity[,pool][,reason]) of receipts, adjustments or counts.

    The same file applied twice is applied once."""
    text = file.read_text(encoding="utf-8-sig")
    if key is None:
        import hashlib

        key = f"{kind.value}:{hashlib.sha256(text.encode()).hexdigest()}"
    changes = service.parse_stock_csv(text)
    result = service.change_stock(database(), kind, changes, f"cli:{file.name}", key)
    state = "already applied" if result.replayed else "applied"
    console.print(
        f"{result.rows} rows {state}: {result.movements} movements, {result.flagged} flagged"
    )
    if result.unknown_skus:
        errors.print(f"[yellow]not in the catalog:[/yellow] {', '.join(result.unknown_skus[:20])}")


@stock_app.command("transfer")
@handle_errors
def stock_transfer(sku: str, from_location: str, to_location: str, quantity: int) -> None:
    """Move sellable units between locations."""
    service.transfer_stock(database(), sku, from_location, to_location, quantity, "cli")
    console.print(f"moved {quantity} x {sku} from {from_location} to {to_location}")


@stock_app.command("allocate")
@handle_errors
def stock_allocate(channel: str, location: str, sku: str, quantity: int) -> None:
    """Move units into (or, negative, out of) an independent channel's own pool."""
    service.allocate_to_channel(database(), channel, location, sku, quantity, "cli")
    console.print(f"{channel}'s pool at {location} changed by {quantity} x {sku}")


@stock_app.command("show")
@handle_errors
def stock_show(
    sku: str | None = typer.Option(None), location: str | None = typer.Option(None)
) -> None:
    """Stock levels per SKU, location and pool."""
    table = Table("sku", "location", "pool", "on hand", "reserved", "safety", "sellable")
    for r in service.stock_levels(database(), sku, location):
        table.add_row(
            r.sku, r.location, r.pool or "shared", str(r.on_hand), str(r.reserved),
            str(r.safety), str(r.sellable),
        )  # fmt: skip
    console.print(table)


@stock_app.command("available")
@handle_errors
def stock_available(channel: str, skus: list[str]) -> None:
    """Available-to-promise of SKUs on a channel."""
    for sku, units in service.available(database(), channel, skus).items():
        console.print(f"{sku}: {units}")


@stock_app.command("settings")
@handle_errors
def stock_settings(
    channel: str,
    buffer: int = typer.Option(0, help="units never advertised to the channel"),
    shortage: ShortagePolicy = typer.Option(ShortagePolicy.BACKORDER),
    split: bool = typer.Option(True, "--split/--no-split", help="allow split shipments"),
) -> None:
    """Set a channel's buffer, shortage policy and split rule."""
    service.set_channel_settings(
        database(), channel, service.ChannelStockSettings(buffer, shortage, split)
    )
    console.print(f"{channel}: buffer {buffer}, {shortage.value}, split {'on' if split else 'off'}")


@stock_app.command("ledger")
@handle_errors
def stock_ledger(
    sku: str | None = typer.Option(None),
    location: str | None = typer.Option(None),
    limit: int = typer.Option(50, max=1000),
) -> None:
    """The movements ledger, oldest first."""
    entries, _ = service.movements(database(), sku, location, None, limit)
    table = Table("id", "sku", "location", "kind", "on hand", "reserved", "reason", "source")
    for e in entries:
        table.add_row(
            str(e.id), e.sku, e.location, e.kind, f"{e.on_hand_delta:+d}",
            f"{e.reserved_delta:+d}", e.reason, e.source + (" [flagged]" if e.flagged else ""),
        )  # fmt: skip
    console.print(table)


@stock_app.command("alerts")
def stock_alerts() -> None:
    """Open alerts: negative stock, oversold units, unknown SKUs."""
    for a in service.list_alerts(database()):
        console.print(f"#{a.id} {a.kind} {a.sku} at {a.location or '-'}: {a.quantity} ({a.source})")


@stock_app.command("audit")
def stock_audit() -> None:
    """Check that every stock row equals its ledger and live reservations; exits 1 if not."""
    mismatches = service.check_ledger(database())
    for m in mismatches:
        errors.print(f"[red]mismatch[/red] {m}")
    if mismatches:
        raise typer.Exit(1)
    console.print("ledger ok: on hand and reserved equal the sum of their movements")


# --- orders -------------------------------------------------------------------------------


def _parse_order(data: object, line: int) -> OrderInput:
    from channelhub.api.orders import OrderIn

    try:
        return OrderIn.model_validate(data).to_input()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"line {line}: {where}: {first['msg']}") from None


@order_app.command("import")
@handle_errors
def order_import(file: Path) -> None:
    """Import orders from a JSON Lines file (one order per line, as POST /orders takes)."""
    parsed: list[OrderInput] = []
    with file.open(encoding="utf-8") as source:
        for number, text in enumerate(source, start=1):
            if text.strip():
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as error:
                    raise InvalidInput(f"line {number}: not JSON: {error.msg}") from None
                parsed.append(_parse_order(data, number))
    with count_progress() as bar:
        task = bar.add_task("importing orders", total=len(parsed))
        results = orders.import_orders(
            database(), parsed, "cli", progress=lambda n: bar.update(task, advance=n)
        )
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        if r.outcome == "rejected":
            errors.print(f"[red]rejected[/red] {r.external_id}: {r.problems[0].message}")
    console.print(", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    if outcomes.get("rejected"):
        raise typer.Exit(1)


@order_app.command("list")
@handle_errors
def order_list(
    channel: str | None = typer.Option(None),
    status: OrderStatus | None = typer.Option(None),
    limit: int = typer.Option(50, max=500),
) -> None:
    views, _ = orders.list_orders(database(), channel, status, None, limit)
    table = Table("id", "channel", "external id", "status", "method", "total", "flag")
    for v in views:
        table.add_row(
            str(v.id), v.channel, v.external_id, v.status.value, v.delivery_method.value,
            f"{v.total} {v.currency}", v.flagged or "",
        )  # fmt: skip
    console.print(table)


@order_app.command("show")
@handle_errors
def order_show(order_id: int) -> None:
    """An order with its lines, reservations and timeline."""
    v = orders.get_order(database(), order_id)
    console.print(
        f"[bold]order {v.id}[/bold] {v.channel}:{v.external_id} [bold]{v.status.value}[/bold] "
        f"{v.delivery_method.value} {v.total} {v.currency} payment {v.payment_status}"
    )
    for line in v.lines:
        console.print(
            f"  line {line.line_no}: {line.quantity} x {line.sku} @ {line.unit_price} "
            f"(shipped {line.shipped}, returned {line.returned}, cancelled {line.cancelled})"
        )
    for r in v.reservations:
        console.print(f"  reserved: line {r.line_no} {r.quantity} x {r.sku} at {r.location}")
    for h in v.history:
        console.print(
            f"  {h.at:%Y-%m-%d %H:%M:%S} {h.from_status or '-'} -> {h.to_status} {h.note}"
        )


@order_app.command("transition")
@handle_errors
def order_transition(order_id: int, status: OrderStatus, note: str = "") -> None:
    """Move to picking, ready_for_pickup, delivered or collected."""
    view = fulfilment.transition(database(), order_id, status, "cli", note)
    console.print(f"order {order_id} is {view.status.value}")


def _items(items: list[str]) -> dict[int, int]:
    parsed: dict[int, int] = {}
    for item in items:
        line, _, units = item.partition("=")
        try:
            parsed[int(line)] = int(units)
        except ValueError:
            raise InvalidInput(f"{item!r}: write LINE=UNITS, e.g. 1=2") from None
    return parsed


@order_app.command("ship")
@handle_errors
def order_ship(
    order_id: int,
    item: list[str] = typer.Option([], help="LINE=UNITS for a partial shipment; repeatable"),
    location: str | None = typer.Option(None, help="only units reserved at this location"),
    tracking: str = "",
) -> None:
    """Ship reserved units (everything by default)."""
    view = fulfilment.ship(database(), order_id, "cli", _items(item) or None, location, tracking)
    console.print(f"order {order_id} is {view.status.value}")


@order_app.command("cancel")
@handle_errors
def order_cancel(order_id: int, reason: str = "") -> None:
    view = fulfilment.cancel(database(), order_id, "cli", reason)
    console.print(f"order {order_id} is {view.status.value}")


@order_app.command("return")
@handle_errors
def order_return(
    order_id: int,
    location: str = typer.Option(..., help="where the goods are handed back"),
    item: list[str] = typer.Option(..., help="LINE=UNITS[:damaged]; repeatable"),
    refund: str | None = typer.Option(None, help="amount refunded (default: what was paid)"),
    reason: str = "",
) -> None:
    """Take goods back at any location that accepts returns."""
    returned = []
    for entry in item:
        spec, _, condition = entry.partition(":")
        for line, units in _items([spec]).items():
            try:
                state = ReturnCondition(condition or "resellable")
            except ValueError:
                raise InvalidInput(f"{entry!r}: the condition is resellable or damaged") from None
            returned.append(fulfilment.ReturnItem(line, units, state))
    try:
        amount = Decimal(refund) if refund is not None else None
    except InvalidOperation:
        raise InvalidInput(f"refund {refund!r} is not an amount") from None
    view = fulfilment.return_items(database(), order_id, location, returned, "cli", amount, reason)
    console.print(
        f"order {order_id} is {view.status.value}; refunded {view.refunded} {view.currency}"
    )


@order_app.command("retry-backorders")
@handle_errors
def order_retry(channel: str | None = typer.Option(None)) -> None:
    """Try again to reserve backordered orders."""
    done = orders.retry_backorders(database(), "cli", channel)
    console.print(f"{done} backordered order(s) reserved")


def register(app: typer.Typer) -> None:
    app.add_typer(location_app, name="location")
    app.add_typer(stock_app, name="stock")
    app.add_typer(order_app, name="order")


__all__ = ["register"]
