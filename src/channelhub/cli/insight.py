"""Analytics commands: sales per channel and over time, inventory and sync health, as tables
or CSV, and the rollup refresh."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.table import Table

from channelhub.cli.common import console, database, handle_errors
from channelhub.insight import analytics, crosschannel, rollup
from channelhub.insight.analytics import Interval, Period
from channelhub.insight.audit import run_audit

analytics_app = typer.Typer(
    help="Analytics: sales per channel and over time, customers and journeys across channels,"
    " inventory and sync health.",
    no_args_is_help=True,
)

START = typer.Option(None, "--from", help="first day, YYYY-MM-DD (default: 30 days ago)")
END = typer.Option(None, "--to", help="last day, YYYY-MM-DD (default: today)")
CSV = typer.Option(None, "--csv", help="write CSV to this file instead of a table")


def _show(rows: list[Any], title: str, csv_path: Path | None) -> None:
    if csv_path is not None:
        csv_path.write_text(analytics.to_csv(rows), encoding="utf-8")
        console.print(f"wrote {len(rows)} rows to {csv_path}")
        return
    if not rows:
        console.print(f"{title}: nothing yet")
        return
    table = Table(title=title)
    names = [f.name for f in fields(rows[0])]
    for name in names:
        table.add_column(name.replace("_", " "))
    for row in rows:
        table.add_row(*("" if getattr(row, n) is None else str(getattr(row, n)) for n in names))
    console.print(table)


@analytics_app.command("sales")
@handle_errors
def sales(start: str | None = START, end: str | None = END, csv: Path | None = CSV) -> None:
    """Revenue, orders, units, average order value, return rate and margin per channel."""
    db = database()
    rollup.refresh(db)
    period = Period.parse(start, end)
    with db.read() as conn:
        rows = analytics.sales_by_channel(conn, period)
    _show(rows, f"sales {period.start} .. {period.end}", csv)


@analytics_app.command("series")
@handle_errors
def series(
    start: str | None = START,
    end: str | None = END,
    interval: Interval = typer.Option(Interval.DAY, help="day, week or month"),
    channel: str | None = typer.Option(None, help="one channel only"),
    csv: Path | None = CSV,
) -> None:
    """Orders, units and revenue per day, week or month and channel."""
    db = database()
    rollup.refresh(db)
    period = Period.parse(start, end)
    with db.read() as conn:
        rows = analytics.sales_over_time(conn, period, interval, channel)
    _show(rows, f"sales per {interval.value}", csv)


@analytics_app.command("inventory")
@handle_errors
def inventory(
    window_days: int = typer.Option(28, help="days of sales to measure against"),
    limit: int = typer.Option(20, help="rows per list"),
) -> None:
    """Days of cover, stockouts and sell-through per channel, slow movers, stock vs sales."""
    db = database()
    rollup.refresh(db)
    with db.read() as conn:
        health = analytics.inventory_health(conn, window_days=window_days, limit=limit)
    _show(health.channels, f"channels, last {window_days} days", None)
    _show(health.low_cover, "lowest days of cover", None)
    _show(health.slow_movers, "slow movers", None)
    _show(health.locations, "where stock sits and where it sells", None)


@analytics_app.command("customers")
@handle_errors
def customers(start: str | None = START, end: str | None = END, csv: Path | None = CSV) -> None:
    """Multichannel against single-channel customers, online against store against both."""
    period = Period.parse(start, end)
    rows = crosschannel.compute(database(), "customers", period).rows
    _show(rows, f"customers {period.start} .. {period.end}", csv)


@analytics_app.command("journeys")
@handle_errors
def journeys(start: str | None = START, end: str | None = END, csv: Path | None = CSV) -> None:
    """Journeys across channels: researched online and bought in store, and the others."""
    period = Period.parse(start, end)
    rows = crosschannel.compute(database(), "journeys", period).rows
    _show(rows, f"journeys {period.start} .. {period.end}", csv)


@analytics_app.command("segments")
@handle_errors
def segments(start: str | None = START, end: str | None = END, csv: Path | None = CSV) -> None:
    """Channel mix per RFM segment: where each segment's customers buy."""
    period = Period.parse(start, end)
    rows = crosschannel.compute(database(), "segment_channels", period).rows
    _show(rows, f"channel mix per segment {period.start} .. {period.end}", csv)


@analytics_app.command("sync")
@handle_errors
def sync(csv: Path | None = CSV) -> None:
    """Per connection: backlog, lag, failures, dead letters, deliveries in the last hour."""
    with database().read() as conn:
        rows = analytics.sync_health(conn)
    _show(rows, "sync health", csv)


@analytics_app.command("refresh")
@handle_errors
def refresh(rebuild: bool = typer.Option(False, help="recompute every day")) -> None:
    """Bring the sales rollups up to date (the API and the worker do this by themselves)."""
    result = rollup.refresh(database(), rebuild=rebuild)
    console.print(f"{result.days} day(s) recomputed in {result.seconds:.2f} s")


@handle_errors
def audit(
    channel: list[str] = typer.Option([], "--channel", help="only these channels; repeatable"),
    read_back: bool = typer.Option(
        False, "--read-back", help="also read stock and prices back from each platform"
    ),
    limit: int = typer.Option(20, help="findings shown per check and channel"),
    json_out: Path | None = typer.Option(None, "--json", help="write the whole report as JSON"),
) -> None:
    """The channel-consistency audit: where channels disagree, what to do, a score each."""
    report = run_audit(database(), read_back=read_back, channel_codes=channel or None)
    if json_out is not None:
        json_out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        console.print(f"wrote the report to {json_out}")
    shown: dict[tuple[str, str], int] = {}
    table = Table(title=f"findings ({sum(report.counts.values())})")
    for name in ("severity", "check", "channel", "item", "detail", "action"):
        table.add_column(name)
    for f in report.findings:
        key = (f.check, f.channel)
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= limit:
            table.add_row(f.severity.value, f.check, f.channel, f.item, f.detail, f.action)
    console.print(table)
    _show(report.scores, "score per channel (100 = integrated, nothing to fix)", None)
    for why in report.skipped:
        console.print(f"not checked: {why}")
