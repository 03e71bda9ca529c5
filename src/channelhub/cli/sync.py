"""Sync commands: ``worker``, ``connection add|list|test|preview`` and
``sync jobs|replay|log|reconcile``."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from channelhub.background import run_background
from channelhub.cli.common import EXIT_REJECTED, console, database, errors, handle_errors
from channelhub.core.errors import InvalidInput
from channelhub.sync import connections, messages, monitor, operations
from channelhub.sync.model import JobKind, JobState
from channelhub.sync.registry import platforms
from channelhub.sync.worker import Worker

connection_app = typer.Typer(
    help="Connections: a channel joined to a platform account.", no_args_is_help=True
)
sync_app = typer.Typer(
    help="The sync engine: jobs, dead letters, the message log.", no_args_is_help=True
)


def _config(pairs: list[str], file: Path | None) -> dict[str, Any]:
    """Configuration from a JSON file and/or name=value pairs (values parsed as JSON when
    they are JSON, else kept as text)."""
    found: dict[str, Any] = {}
    if file is not None:
        loaded = json.loads(file.read_text())
        if not isinstance(loaded, dict):
            raise InvalidInput(f"{file} must hold a JSON object")
        found.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"--config takes name=value, not {pair!r}")
        try:
            found[name] = json.loads(value)
        except json.JSONDecodeError:
            found[name] = value
    return found


@connection_app.command("add")
@handle_errors
def connection_add(
    code: str,
    platform: str = typer.Option(..., help=f"one of: {', '.join(platforms())}"),
    channel: str = typer.Option(..., help="the hub's channel code"),
    config: list[str] = typer.Option([], "--config", help="name=value; repeatable"),
    config_file: Path | None = typer.Option(None, help="a JSON object (keeps secrets off argv)"),
    subscribe: list[JobKind] = typer.Option([], "--subscribe", help="repeatable"),
    mapping_file: Path | None = typer.Option(None, help="JSON: templates, value/category maps"),
    poll_seconds: int | None = typer.Option(None, help="poll orders this often"),
    reconcile_seconds: int | None = typer.Option(None, help="read back stock/prices this often"),
    disabled: bool = typer.Option(False, "--disabled", help="store it but do not deliver"),
) -> None:
    """Create or update a connection (secrets are encrypted with CHANNELHUB_SECRET_KEY)."""
    mapping = json.loads(mapping_file.read_text()) if mapping_file else {}
    view = connections.save_connection(
        database(),
        connections.ConnectionInput(
            code=code,
            platform=platform,
            channel=channel,
            config=_config(config, config_file),
            subscriptions=tuple(subscribe),
            enabled=not disabled,
            mapping=mapping,
            poll_seconds=poll_seconds,
            reconcile_seconds=reconcile_seconds,
        ),
    )
    console.print(
        f"connection {view.code}: {view.platform} -> channel {view.channel} "
        f"({', '.join(view.subscriptions) or 'no subscriptions'})"
    )


@connection_app.command("list")
def connection_list() -> None:
    table = Table("code", "platform", "channel", "subscriptions", "enabled", "config")
    for view in connections.list_connections(database()):
        table.add_row(
            view.code,
            view.platform,
            view.channel,
            ",".join(view.subscriptions),
            "yes" if view.enabled else "no",
            json.dumps(view.config),
        )
    console.print(table)


@connection_app.command("test")
@handle_errors
def connection_test(code: str) -> None:
    """Call the platform with the stored credentials."""
    result = asyncio.run(operations.check_connection(database(), code))
    if not result.ok:
        errors.print(f"[red]failed:[/red] {result.detail}")
        raise typer.Exit(EXIT_REJECTED)
    console.print(f"ok: {result.detail}")


@connection_app.command("preview")
@handle_errors
def connection_preview(code: str, sku: str) -> None:
    """Show the listing the connection's mapping makes of one product."""
    print(json.dumps(operations.preview(database(), code, sku), indent=2, default=str))


@sync_app.command("jobs")
@handle_errors
def sync_jobs(
    connection: str | None = typer.Option(None),
    state: JobState | None = typer.Option(None),
    kind: JobKind | None = typer.Option(None),
    key: str | None = typer.Option(None),
    limit: int = typer.Option(50),
) -> None:
    """Jobs, newest first."""
    found = monitor.list_jobs(
        database(), monitor.JobFilter(connection, state, kind, key), None, limit
    )
    table = Table("id", "connection", "kind", "key", "state", "attempts", "updated", "error")
    for job in found:
        table.add_row(
            str(job.id),
            job.connection,
            job.kind,
            job.key,
            job.state,
            str(job.attempts),
            job.updated_at.isoformat(timespec="seconds"),
            (job.last_error or "")[:80],
        )
    console.print(table)


@sync_app.command("replay")
@handle_errors
def sync_replay(
    job_id: int | None = typer.Argument(None, help="one dead job; or use the filters"),
    connection: str | None = typer.Option(None),
    kind: JobKind | None = typer.Option(None),
    key: str | None = typer.Option(None),
    all_dead: bool = typer.Option(False, "--all", help="every dead letter"),
) -> None:
    """Send dead letters again; each reads the hub's current value."""
    db = database()
    if job_id is not None:
        count = monitor.replay(db, job_id=job_id)
    elif all_dead or connection or kind or key:
        count = monitor.replay(db, filters=monitor.JobFilter(connection, None, kind, key))
    else:
        raise InvalidInput("name a job id, a filter (--connection, --kind, --key) or --all")
    console.print(f"replayed {count} job(s)")


@sync_app.command("log")
@handle_errors
def sync_log(
    connection: str | None = typer.Option(None),
    key: str | None = typer.Option(None, help="a SKU or order id"),
    status: str | None = typer.Option(None),
    text: str | None = typer.Option(None, "--text", help="found in a body or error"),
    limit: int = typer.Option(20),
    bodies: bool = typer.Option(False, "--bodies", help="print request and response bodies"),
) -> None:
    """The message log, newest first (secrets redacted)."""
    found = messages.search_messages(database(), connection, key, status, None, text, None, limit)
    for entry in found:
        latency = f"{entry.latency_s * 1000:.0f}ms" if entry.latency_s is not None else "-"
        console.print(
            f"{entry.at.isoformat(timespec='milliseconds')} {entry.connection or '-'} "
            f"{entry.direction} {entry.kind or '-'} [{' '.join(entry.keys[:5])}] "
            f"{entry.status} attempt={entry.attempt or '-'} {latency} {entry.method or ''} "
            f"{entry.url or ''} {entry.error or ''}",
            markup=False,
            highlight=False,
        )
        if bodies:
            console.print(f"  > {entry.request_body}\n  < {entry.response_body}", markup=False)


@sync_app.command("reconcile")
@handle_errors
def sync_reconcile(code: str) -> None:
    """Read the channel's stock and prices back, report drift, queue corrections."""
    report = asyncio.run(operations.reconcile_now(database(), code))
    for drift in report.drift:
        console.print(f"{drift.kind} {drift.sku}: hub {drift.hub} channel {drift.channel}")
    console.print(
        f"{report.connection}: checked {report.checked}, drift {len(report.drift)}, "
        f"corrections queued {report.corrections}"
    )


@sync_app.command("push")
@handle_errors
def sync_push(
    code: str,
    kind: list[JobKind] = typer.Option([], "--kind", help="listings, stock or prices; repeatable"),
) -> None:
    """Queue every product's listing, stock and price for a connection (its first sync)."""
    with errors.status("queueing every product for the connection..."):
        queued = operations.push_everything(database(), code, kind or None)
    console.print(f"{code}: {queued} jobs queued; the worker sends them")


def worker(
    batch: int = typer.Option(1000, help="jobs claimed per step"),
    concurrency: int = typer.Option(4, help="calls in flight per connection"),
    metrics_port: int | None = typer.Option(None, help="serve /metrics on this port"),
    grace_seconds: float = typer.Option(
        15.0, help="on SIGTERM, how long calls in flight may take to finish"
    ),
    background: bool = typer.Option(
        True,
        "--background/--no-background",
        help="also run the periodic work: customers, rules, holds, analytics, segments",
    ),
) -> None:
    """Run the dispatcher and worker loop until interrupted, and beside it the hub's periodic
    work (see channelhub.background). SIGINT or SIGTERM stops claiming, lets the calls in
    flight finish (up to --grace-seconds), records them and releases what is left to the
    other workers at once."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # every call is in the message log
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        db = database()
        engine = Worker(db, batch=batch, concurrency=concurrency, grace=grace_seconds).run(stop)
        if background:
            await asyncio.gather(engine, run_background(db, stop))
        else:
            await engine

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    app.add_typer(connection_app, name="connection")
    app.add_typer(sync_app, name="sync")
    app.command("worker")(worker)
