"""``channelhub customers``: identity resolution from the command line."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from channelhub.cli.common import console, database, handle_errors
from channelhub.core.errors import InvalidInput
from channelhub.customers import batch, erasure, order_hook, service
from channelhub.customers.model import Address, CustomerRecord

app = typer.Typer(
    help="Customer profiles: identity resolution, merges, privacy.", no_args_is_help=True
)

RECORD_FIELDS = (
    "channel",
    "source_ref",
    "email",
    "email_verified",
    "phone",
    "country",
    "loyalty_card",
    "customer_id",
    "device_id",
    "marketplace_buyer_id",
    "first_name",
    "last_name",
    "name",
    "birth_date",
    "line1",
    "line2",
    "postal_code",
    "city",
    "observed_at",
)


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


def record_from_row(row: dict[str, Any], where: str) -> CustomerRecord:
    """A record from a CSV row or JSON object (address fields flat or under ``address``)."""
    unknown = set(row) - set(RECORD_FIELDS) - {"address"}
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    address = dict(row.get("address") or {})
    for name in ("line1", "line2", "postal_code", "city"):
        if row.get(name):
            address[name] = row[name]
    observed = None
    if row.get("observed_at"):
        try:
            observed = datetime.fromisoformat(str(row["observed_at"]))
        except ValueError as error:
            raise InvalidInput(f"{where}: observed_at is not an ISO 8601 time") from error
        if observed.tzinfo is None:
            raise InvalidInput(f"{where}: observed_at needs a time zone")
    plain = {
        k: str(row.get(k) or "")
        for k in RECORD_FIELDS
        if k not in ("line1", "line2", "postal_code", "city", "observed_at", "email_verified")
    }
    verified = str(row.get("email_verified") or "").lower() in ("1", "true", "yes")
    return CustomerRecord(
        **plain,
        email_verified=verified,
        address=Address(
            line1=str(address.get("line1") or ""),
            line2=str(address.get("line2") or ""),
            postal_code=str(address.get("postal_code") or ""),
            city=str(address.get("city") or ""),
            country=str(address.get("country") or row.get("country") or ""),
        ),
        observed_at=observed,
    )


def _read(path: Path) -> Iterator[CustomerRecord]:
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield record_from_row(json.loads(line), f"{path.name} line {number}")
        else:
            for number, row in enumerate(csv.DictReader(handle), 2):
                yield record_from_row(dict(row), f"{path.name} line {number}")


@app.command("import")
@handle_errors
def import_records(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSON lines"),
    workers: int = typer.Option(2, help="processes normalizing records (batch path)"),
) -> None:
    """Load customer records: batch resolution on an empty store, incremental otherwise."""
    result = batch.import_records(database(), _read(path), workers=workers)
    _print_json(result.as_dict())


@app.command("add")
@handle_errors
def add(
    channel: str = typer.Option(...),
    source_ref: str = typer.Option(..., help="the channel's key of this record"),
    email: str = "",
    phone: str = "",
    loyalty_card: str = "",
    customer_id: str = "",
    device_id: str = "",
    first_name: str = "",
    last_name: str = "",
    birth_date: str = "",
    country: str = "",
) -> None:
    """Resolve one record (a sign-up, a card, an app install) and print the outcome."""
    record = CustomerRecord(
        channel=channel,
        source_ref=source_ref,
        email=email,
        phone=phone,
        loyalty_card=loyalty_card,
        customer_id=customer_id,
        device_id=device_id,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        country=country,
    )
    _print_json(service.ingest(database(), record).as_dict())


@app.command("show")
@handle_errors
def show(profile_id: int) -> None:
    """A profile with its golden record (and sources), identifiers and records."""
    _print_json(service.get_profile(database(), profile_id).as_dict())


@app.command("search")
@handle_errors
def search(query: str, kind: str | None = typer.Option(None), limit: int = 50) -> None:
    """Profiles by identifier or name."""
    for profile in service.search_profiles(database(), query, kind, 0, limit):
        golden = profile["golden"]
        name = f"{golden.get('first_name', '')} {golden.get('last_name', '')}".strip()
        console.print(f"{profile['id']}\t{name}\t{golden.get('email', '')}")


@app.command("log")
@handle_errors
def log(profile_id: int) -> None:
    """The merge log of a profile: every link and unlink with its reason."""
    for entry in service.merge_log(database(), profile_id):
        console.print(
            f"#{entry['id']} {entry['action']} {entry['method']} record {entry['record_id']}"
            f"~{entry['other_record_id']} into {entry['profile_id']}: {entry['reason']}"
        )


@app.command("unmerge")
@handle_errors
def unmerge(link_id: int, actor: str = typer.Option("cli")) -> None:
    """Undo one merge (a link of the log); prints the profiles it leaves."""
    profiles = service.unmerge(database(), link_id, actor)
    console.print("profiles: " + ", ".join(str(p) for p in profiles))


@app.command("merge")
@handle_errors
def merge(profile_a: int, profile_b: int, actor: str = typer.Option("cli")) -> None:
    """Merge two profiles by hand (the older id survives)."""
    console.print(f"merged into {service.merge(database(), profile_a, profile_b, actor)}")


@app.command("suggestions")
@handle_errors
def suggestions(status: str = "pending", limit: int = 50) -> None:
    """Possible same customers waiting for a decision (or of another status)."""
    for s in service.suggestions(database(), status, 0, limit):
        console.print(
            f"#{s.id} score {s.score:.3f} profiles {s.profile_a} ~ {s.profile_b} "
            f"({s.status}) {json.dumps(s.details)}"
        )


@app.command("confirm")
@handle_errors
def confirm(suggestion_id: int, actor: str = typer.Option("cli")) -> None:
    """Confirm a suggestion: the two profiles merge."""
    s = service.decide_suggestion(database(), suggestion_id, True, actor)
    console.print(f"suggestion {s.id} confirmed (link {s.link_id})")


@app.command("reject")
@handle_errors
def reject(suggestion_id: int, actor: str = typer.Option("cli")) -> None:
    """Reject a suggestion: the profiles stay apart."""
    s = service.decide_suggestion(database(), suggestion_id, False, actor)
    console.print(f"suggestion {s.id} rejected")


@app.command("rules")
@handle_errors
def rules(
    set_from: Path | None = typer.Option(None, "--set", exists=True, help="a JSON file"),
) -> None:
    """Show the merge rules, or replace them from a JSON file."""
    db = database()
    if set_from is not None:
        try:
            data = json.loads(set_from.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InvalidInput(f"{set_from.name}: not JSON ({error})") from error
        if not isinstance(data, dict):
            raise InvalidInput(f"{set_from.name}: the rules are a JSON object")
        service.set_rules(db, data)
    _print_json(service.get_rules(db).as_dict())


@app.command("refusals")
@handle_errors
def refusals(profile_id: int | None = typer.Option(None), limit: int = 100) -> None:
    """What the blob guards refused to merge on, and why."""
    for r in service.refusals(database(), profile_id, limit):
        console.print(f"{r['rule']}\t{r['kind']} {r['value']}\t{r['detail']}")


quarantine_app = typer.Typer(
    help="Values many different people share (fillers, a store's number, a family's address):"
    " they never merge profiles on their own.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
@handle_errors
def quarantine_list(
    status: str | None = typer.Option(None, help="quarantined, released or blocked"),
    limit: int = 100,
) -> None:
    """Shared values with how many different names and records hold each."""
    for v in service.shared_values(database(), status, limit):
        console.print(
            f"{v.status}\t{v.kind} {v.value}\t{v.names} names, {v.records} records"
            f"\t{v.source}: {v.reason}"
        )


@quarantine_app.command("detect")
@handle_errors
def quarantine_detect() -> None:
    """Quarantine the store's fillers, values too many names share and the locations' own
    numbers (then run ``channelhub customers repair``)."""
    found = service.detect_shared_values(database())
    for v in found:
        console.print(f"quarantined\t{v.kind} {v.value}\t{v.names} names, {v.records} records")
    console.print(f"{len(found)} values newly quarantined")


def _decide_value(kind: str, value: str, status: str, actor: str) -> None:
    v = service.decide_shared_value(database(), kind, value, status, actor)
    console.print(f"{v.kind} {v.value} is now {v.status}")


@quarantine_app.command("release")
@handle_errors
def quarantine_release(kind: str, value: str, actor: str = typer.Option("cli")) -> None:
    """A person's release: the value merges under the usual rules again, and the merges a
    repair undid for it are put back."""
    _decide_value(kind, value, "released", actor)


@quarantine_app.command("block")
@handle_errors
def quarantine_block(kind: str, value: str, actor: str = typer.Option("cli")) -> None:
    """A person's block: the value never merges, and the merges it made are undone."""
    _decide_value(kind, value, "blocked", actor)


@app.command("repair")
@handle_errors
def repair(
    apply: bool = typer.Option(False, "--apply", help="undo the merges (default: dry run)"),
    actor: str = typer.Option("cli"),
) -> None:
    """Find profiles glued by a quarantined or blocked value and split them through the link
    log. A dry run first; ``--apply`` writes; ``quarantine release`` puts them back."""
    plan = service.repair_profiles(database(), apply, actor)
    for entry in plan.links:
        console.print(
            f"link #{entry['link_id']} record {entry['record_id']}~{entry['other_record_id']} "
            f"in profile {entry['profile_id']} through {entry['kind']} {entry['value']}"
        )
    verb = "split" if plan.applied else "would split"
    console.print(
        f"{len(plan.links)} links; {len(plan.profiles)} profiles {verb} into "
        f"{sum(plan.profiles.values())} profiles" + ("" if plan.applied else " (dry run)")
    )


@app.command("link-orders")
@handle_errors
def link_orders() -> None:
    """Resolve the customers of orders imported since the last run."""
    console.print(f"{order_hook.link_all_orders(database())} events read")


@app.command("export")
@handle_errors
def export(
    profile_id: int,
    out: Path | None = typer.Option(None, help="write to this file instead of the screen"),
    actor: str = typer.Option("cli"),
) -> None:
    """All data of one person as JSON (data-protection access request); audited."""
    document = erasure.export_profile(database(), profile_id, actor)
    if out is None:
        _print_json(document)
    else:
        out.write_text(json.dumps(document, indent=2), encoding="utf-8")
        console.print(f"wrote {out}")


@app.command("erase")
@handle_errors
def erase(
    profile_id: int,
    yes: bool = typer.Option(False, "--yes", help="confirm: this cannot be undone"),
    actor: str = typer.Option("cli"),
) -> None:
    """Erase one person (orders are kept, anonymised); audited."""
    if not yes:
        raise InvalidInput("erasure cannot be undone: add --yes to confirm")
    _print_json(erasure.erase_profile(database(), profile_id, actor))
