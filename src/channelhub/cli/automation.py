"""``channelhub automation``: rules (``rule save|list|show|versions|enable|disable|restore|
dry-run``), the rule ``log``, outbound ``webhook add|list``, ``deliveries``, ``holds``, the
file inboxes (``files``) and the automation loop (``run``)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from channelhub.automation import events, file_inbox, service, webhooks, worker
from channelhub.cli.common import console, database, handle_errors
from channelhub.core.errors import InvalidInput

automation_app = typer.Typer(
    help="Workflow rules, outbound webhooks and file exchanges.", no_args_is_help=True
)
rule_app = typer.Typer(help="Rules: when EVENT (conditions) then ACTIONS.", no_args_is_help=True)
webhook_app = typer.Typer(help="Outbound webhooks to any URL, signed.", no_args_is_help=True)
automation_app.add_typer(rule_app, name="rule")
automation_app.add_typer(webhook_app, name="webhook")


def _load(file: Path) -> Any:
    """A JSON or YAML document (by the file's suffix; YAML is a superset of JSON)."""
    text = file.read_text()
    try:
        return json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise InvalidInput(f"{file} cannot be read: {error}") from None


def _show(version: service.RuleVersion) -> None:
    state = "enabled" if version.enabled else "disabled"
    console.print(f"rule [bold]{version.code}[/bold] version {version.version} ({state})")


@rule_app.command("save")
@handle_errors
def rule_save(file: Path, actor: str = typer.Option("cli", help="who made the change")) -> None:
    """Save the rule in FILE (YAML or JSON) as a new version."""
    _show(service.save_rule(database(), _load(file), actor))


@rule_app.command("list")
@handle_errors
def rule_list() -> None:
    table = Table("code", "version", "enabled", "event", "actions")
    for r in service.list_rules(database()):
        actions = ", ".join(a["type"] for a in r.definition["actions"])
        table.add_row(r.code, str(r.version), str(r.enabled), r.definition["event"], actions)
    console.print(table)


@rule_app.command("show")
@handle_errors
def rule_show(code: str, version: int | None = typer.Option(None)) -> None:
    """Print a rule's definition as YAML (the current version, or --version)."""
    found = service.rule_versions(database(), code)
    chosen = next((v for v in found if version in (None, v.version)), None)
    if chosen is None:
        raise InvalidInput(f"rule {code} has no version {version}")
    console.print(yaml.safe_dump(chosen.definition, sort_keys=False), end="")


@rule_app.command("versions")
@handle_errors
def rule_versions(code: str) -> None:
    table = Table("version", "current", "enabled", "actor", "created")
    for v in service.rule_versions(database(), code):
        table.add_row(
            str(v.version), str(v.is_current), str(v.enabled), v.actor, v.created_at.isoformat()
        )
    console.print(table)


@rule_app.command("enable")
@handle_errors
def rule_enable(code: str) -> None:
    _show(service.set_rule_enabled(database(), code, True, "cli"))


@rule_app.command("disable")
@handle_errors
def rule_disable(code: str) -> None:
    _show(service.set_rule_enabled(database(), code, False, "cli"))


@rule_app.command("restore")
@handle_errors
def rule_restore(code: str, version: int) -> None:
    """Make VERSION current again (as a new version)."""
    _show(service.restore_rule(database(), code, version, "cli"))


@rule_app.command("dry-run")
@handle_errors
def rule_dry_run(
    code_or_file: str = typer.Argument(..., help="a stored rule's code, or a rule file"),
    events_file: Path | None = typer.Option(
        None, "--events", help="YAML/JSON list of {event, data}"
    ),
    last: int = typer.Option(10, help="else try the last N real events of the rule's kind"),
) -> None:
    """Show what a rule would do, without doing it."""
    path = Path(code_or_file)
    document = _load(path) if path.suffix in (".yaml", ".yml", ".json") else None
    given = _load(events_file) if events_file else None
    if given is not None and not isinstance(given, list):
        raise InvalidInput("--events holds a list of {event, data}")
    outcomes = service.dry_run(
        database(), document, None if document else code_or_file, given, last
    )
    table = Table("event", "id", "matched", "would do")
    for o in outcomes:
        todo = "; ".join(a.detail + ("" if a.changes else " (nothing to do)") for a in o.actions)
        table.add_row(o.event, str(o.event_id), "yes" if o.matched else "no", todo or "-")
    console.print(table)


@automation_app.command("log")
@handle_errors
def rule_log(rule: str | None = typer.Option(None), limit: int = typer.Option(50)) -> None:
    """What rules did with events, newest first."""
    table = Table("at", "rule", "v", "event", "id", "outcome", "detail")
    for e in service.rule_log(database(), rule, limit):
        table.add_row(
            e.created_at.isoformat(timespec="seconds"),
            e.rule,
            str(e.version),
            e.event,
            str(e.event_id),
            e.outcome,
            e.detail,
        )
    console.print(table)


@webhook_app.command("add")
@handle_errors
def webhook_add(
    code: str,
    url: str = typer.Option(...),
    event: list[str] = typer.Option(..., "--event", help="repeatable; '*' for every event"),
    secret: str = typer.Option(
        ..., envvar="CHANNELHUB_WEBHOOK_SECRET", prompt=True, hide_input=True
    ),
    disabled: bool = typer.Option(False, "--disabled"),
) -> None:
    """Subscribe URL to hub events (the secret signs each delivery; it is stored encrypted)."""
    view = webhooks.save_webhook(
        database(), webhooks.WebhookInput(code, url, secret, tuple(event), not disabled)
    )
    console.print(f"webhook [bold]{view.code}[/bold] -> {view.url}: {', '.join(view.events)}")


@webhook_app.command("list")
@handle_errors
def webhook_list() -> None:
    table = Table("code", "url", "events", "enabled")
    for w in webhooks.list_webhooks(database()):
        table.add_row(w.code, w.url, ", ".join(w.events), str(w.enabled))
    console.print(table)


@automation_app.command("deliveries")
@handle_errors
def deliveries(
    target: str | None = typer.Option(None, help="a webhook code or connection:<code>"),
    state: str | None = typer.Option(None, help="new, failed, done or dead"),
    limit: int = typer.Option(50),
) -> None:
    """The outbound delivery log, newest first."""
    table = Table("id", "target", "event", "state", "attempts", "status", "error")
    for d in webhooks.list_deliveries(database(), target, state, limit):
        table.add_row(
            str(d.id),
            d.target,
            d.event,
            d.state,
            str(d.attempts),
            str(d.last_status or ""),
            d.last_error or "",
        )
    console.print(table)


@automation_app.command("holds")
@handle_errors
def holds() -> None:
    """Offers held on marketplace channels by rules."""
    table = Table("channel", "sku", "reason")
    for channel, sku, reason in service.held_offers(database()):
        table.add_row(channel, sku, reason)
    console.print(table)


@automation_app.command("files")
@handle_errors
def files() -> None:
    """Pick up the files waiting in every files connection's incoming folder now."""
    results = asyncio.run(file_inbox.process_all(database()))
    for r in results:
        colour = {"processed": "green", "failed": "red"}.get(r.outcome, "yellow")
        console.print(f"{r.connection} {r.name}: [{colour}]{r.outcome}[/{colour}] {r.error or ''}")
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)


@automation_app.command("run")
@handle_errors
def run(
    once: bool = typer.Option(False, "--once", help="work until idle, then stop"),
    from_now: bool = typer.Option(
        False, "--from-now", help="skip the events already in the outbox (first start)"
    ),
    tick: float = typer.Option(1.0, help="seconds between passes"),
) -> None:
    """Run rules and webhooks from hub events, deliver them, pick up files."""
    db = database()
    if from_now:
        events.start_at_now(db, service.READER)
    if once:
        report = asyncio.run(worker.run_until_idle(db, timeout=600))
        console.print(
            f"{report.events} event(s), {report.deliveries} delivery(ies), {report.files} file(s)"
        )
        return

    async def forever() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker.run(db, stop, tick)

    asyncio.run(forever())


def register(app: typer.Typer) -> None:
    app.add_typer(automation_app, name="automation")
