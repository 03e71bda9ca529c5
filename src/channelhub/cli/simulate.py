"""``channelhub simulate``: replay the retailer's own history under multichannel and
omnichannel set-ups, and say what each cost and which channel to move first."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.table import Table

from channelhub.cli.common import console, database, handle_errors
from channelhub.core.errors import InvalidInput
from channelhub.insight import simulation
from channelhub.insight.analytics import Period
from channelhub.insight.simulation.history import parse_buffers, parse_sync
from channelhub.insight.simulation.report import SETUPS


@handle_errors
def simulate(
    start: str | None = typer.Option(None, "--from", help="first day (default: 90 days ago)"),
    end: str | None = typer.Option(None, "--to", help="last day (default: today)"),
    orders_csv: Path | None = typer.Option(
        None, "--orders", help="an orders CSV instead of the hub's orders (docs/simulate.md)"
    ),
    stock_csv: Path | None = typer.Option(None, "--stock", help="opening stock CSV"),
    channels_csv: Path | None = typer.Option(None, "--channels", help="channels CSV"),
    receipts_csv: Path | None = typer.Option(None, "--receipts", help="stock receipts CSV"),
    locations_csv: Path | None = typer.Option(None, "--locations", help="locations CSV"),
    currency: str = typer.Option("EUR", help="currency of the CSV prices"),
    sync: list[str] = typer.Option(
        [], "--sync", help="CHANNEL=MINUTES: a channel's sync interval; repeatable"
    ),
    propagation_seconds: float = typer.Option(
        5.0, help="how late an integrated channel learns of a sale elsewhere"
    ),
    buffers: str = typer.Option("0,1,2,3,5", help="buffers to try for set-up (c)"),
    oversell_weight: str = typer.Option(
        "1", help="what a cancelled oversold sale costs, against a lost one"
    ),
    html: Path | None = typer.Option(None, "--html", help="write the report as one HTML file"),
    csv_out: Path | None = typer.Option(None, "--csv", help="write the figures as CSV"),
    lines_out: Path | None = typer.Option(
        None, "--lines-csv", help="write the order lines behind the figures as CSV"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Replay a period under (a) full listing, (b) split stock, (c) buffers and (d) one
    integrated pool: oversold and lost sales, their value, and which channel to move first."""
    try:
        weight = Decimal(oversell_weight)
    except InvalidOperation:
        raise InvalidInput(f"--oversell-weight {oversell_weight!r}: not a number") from None
    if orders_csv is not None:
        if stock_csv is None or channels_csv is None:
            raise InvalidInput("--orders needs --stock and --channels too (docs/simulate.md)")
        history = simulation.from_csv(
            orders_csv, stock_csv, channels_csv, receipts_csv, locations_csv, currency.upper()
        )
    else:
        first, last = Period.parse(start, end, default_days=90).bounds()
        history = simulation.from_hub(database(), first, last, parse_sync(sync))
    history = simulation.with_settings(history, propagation_seconds, parse_buffers(buffers), weight)
    comparison = simulation.run(history, keep_lines=None if lines_out else 100)
    data = simulation.summary(comparison, history.currency, weight)
    if html is not None:
        from channelhub.admin.simulation import standalone_html

        html.write_text(standalone_html(comparison, history.currency, weight), encoding="utf-8")
        console.print(f"wrote the report to {html}")
    if csv_out is not None:
        csv_out.write_text(simulation.figures_csv(comparison), encoding="utf-8")
        console.print(f"wrote the figures to {csv_out}")
    if lines_out is not None:
        lines_out.write_text(simulation.affected_csv(comparison), encoding="utf-8")
        console.print(f"wrote the order lines behind them to {lines_out}")
    if json_out:
        typer.echo(json.dumps(data))
        return
    table = Table(title=f"{data['orders']} orders replayed ({history.currency})")
    for column in ("set-up", "oversold", "lost", "held back", "no stock", "split", "cost"):
        table.add_column(column)
    for name, what in SETUPS.items():
        r = data["setups"][name]
        f = r["figures"]
        table.add_row(
            what,
            f"{f['oversold']['orders']} orders, {f['oversold']['value']}",
            f"{f['lost']['orders']} orders, {f['lost']['value']}",
            f"{f['held_back']['units']} units, {f['held_back']['value']}",
            f"{f['no_stock']['units']} units",
            str(r["split_shipments"]),
            r["cost"],
        )
    console.print(table)
    for move in data["move_first"]:
        console.print(f"move {move['channel']} to integrated: saves {move['saves']}")
