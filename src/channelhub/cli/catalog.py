"""Catalog commands: import, export, locales, channels, requirements, products."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.status import Status as Spinner
from rich.table import Table

from channelhub.catalog import browse, exporting, importing, products, service
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    IdentifierKind,
    ProductKind,
    Requirement,
    RuleKind,
    Status,
)
from channelhub.cli.common import (
    EXIT_INVALID,
    EXIT_REJECTED,
    byte_progress,
    console,
    database,
    errors,
    handle_errors,
)

IMPORT_KINDS = ("products", "attributes", "families", "categories")


def import_command(
    kind: str = typer.Argument(..., help="products, attributes, families or categories"),
    file: Path = typer.Argument(..., exists=False),
    format: str | None = typer.Option(
        None, "--format", help="csv, jsonl or xlsx (default: by extension)"
    ),
    encoding: str = typer.Option("utf-8", help="the file's text encoding"),
    report: Path | None = typer.Option(None, help="write the full report as JSON here"),
    workers: int = typer.Option(
        min(2, os.cpu_count() or 1), help="processes for product imports (parsing in parallel)"
    ),
) -> None:
    """Import a catalog file; exits 1 when rows were rejected, 2 when the file was refused."""
    if kind not in IMPORT_KINDS:
        errors.print(f"[red]error:[/red] cannot import {kind!r}: use {', '.join(IMPORT_KINDS)}")
        raise typer.Exit(EXIT_INVALID)
    size = file.stat().st_size if file.exists() else 0
    with byte_progress() as bar:
        task = bar.add_task(f"importing {kind}", total=size or None, rows=0)

        def advance(rows: int, position: int) -> None:
            bar.update(task, completed=position, rows=rows)

        result = importing.import_file(
            database(),
            kind,
            file,
            format,
            actor="cli",
            encoding=encoding,
            progress=advance,
            workers=workers,
        )
        bar.update(task, completed=size)
    for problem in result.file_errors:
        errors.print(f"[red]file refused:[/red] {problem}")
    console.print(
        f"{result.rows} rows: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {len(result.rejected)} rejected"
    )
    if result.rejected:
        table = Table("line", "sku/code", "column", "reason", title="rejected rows")
        for rejection in result.rejected[:50]:
            table.add_row(
                str(rejection.line), rejection.sku or "", rejection.column or "", rejection.reason
            )
        errors.print(table)
        if len(result.rejected) > 50:
            errors.print(f"... and {len(result.rejected) - 50} more (see --report)")
    if report is not None:
        report.write_text(
            json.dumps(
                {
                    "kind": result.kind,
                    "rows": result.rows,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "file_errors": result.file_errors,
                    "rejected": [r.as_dict() for r in result.rejected],
                },
                indent=2,
            )
        )
    if result.file_errors:
        raise typer.Exit(EXIT_INVALID)
    if result.rejected:
        raise typer.Exit(EXIT_REJECTED)


def export_command(
    kind: str = typer.Argument("products"),
    format: str = typer.Option("jsonl", "--format", help="csv or jsonl"),
    output: Path | None = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
) -> None:
    """Export every product, streamed, in the shape the importer reads back."""
    if kind != "products" or format not in ("csv", "jsonl"):
        errors.print("[red]error:[/red] export products --format csv|jsonl")
        raise typer.Exit(EXIT_INVALID)
    chunks = exporting.export_products(database(), format)
    if output is None:
        for chunk in chunks:
            typer.echo(chunk, nl=False)
        return
    with output.open("w", encoding="utf-8", newline="") as sink, byte_progress() as bar:
        task = bar.add_task("exporting products", total=None, rows=0)
        rows = 0
        for chunk in chunks:
            sink.write(chunk)
            rows += chunk.count("\n")
            bar.update(task, advance=len(chunk), rows=rows)
    console.print(f"wrote {output}")


locale_app = typer.Typer(help="Locales.", no_args_is_help=True)
channel_app = typer.Typer(help="Channels and their content requirements.", no_args_is_help=True)
product_app = typer.Typer(help="Products: search, show, workflow, history.", no_args_is_help=True)


@locale_app.command("add")
@handle_errors
def locale_add(code: str, label: str = "") -> None:
    service.add_locale(database(), code, label)
    console.print(f"locale {code} enabled")


@locale_app.command("list")
def locale_list() -> None:
    for code, label in service.list_locales(database()):
        console.print(f"{code}  {label}")


@channel_app.command("add")
@handle_errors
def channel_add(
    code: str,
    name: str = typer.Option(...),
    kind: ChannelKind = typer.Option(...),
    mode: ChannelMode = typer.Option(ChannelMode.INTEGRATED),
    locale: list[str] = typer.Option(..., "--locale", help="repeatable"),
    currency: str = typer.Option(...),
) -> None:
    """Create or update a channel."""
    with recomputing():
        channel = service.save_channel(
            database(), service.ChannelInput(code, name, kind, mode, tuple(locale), currency)
        )
    console.print(
        f"channel {channel.code}: {channel.kind.value}, {channel.mode.value}, "
        f"{', '.join(channel.locales)}"
    )


@channel_app.command("list")
def channel_list() -> None:
    table = Table("code", "name", "kind", "mode", "locales", "currency")
    for c in service.list_channels(database()):
        table.add_row(c.code, c.name, c.kind.value, c.mode.value, ", ".join(c.locales), c.currency)
    console.print(table)


@channel_app.command("preset")
@handle_errors
def channel_preset(
    code: str,
    preset: str,
    map_: list[str] = typer.Option([], "--map", help="preset_code=catalog_code, repeatable"),
) -> None:
    """Replace a channel's requirements by a preset: google_merchant, bol or amazon."""
    mapping: dict[str, str] = {}
    mapping.update(_pairs(map_, "--map"))
    with recomputing():
        rules = service.apply_preset(database(), code, preset, mapping)
    console.print(f"channel {code} now has {len(rules)} requirements from preset {preset}")


@channel_app.command("requirements")
@handle_errors
def channel_requirements(code: str) -> None:
    table = Table("id", "attribute", "rule", "param", "locales", "family")
    for stored in service.list_requirements(database(), code):
        r = stored.requirement
        table.add_row(
            str(stored.id),
            r.attribute,
            r.rule.value,
            "" if r.param is None else json.dumps(r.param),
            ", ".join(sorted(r.locales)) if r.locales else "all",
            r.family or "all",
        )
    console.print(table)


@channel_app.command("require")
@handle_errors
def channel_require(
    code: str,
    attribute: str,
    rule: RuleKind,
    param: str | None = typer.Option(None, help="a number, or a JSON list for allowed_values"),
    locale: list[str] = typer.Option([], "--locale"),
    family: str | None = None,
) -> None:
    """Add one requirement to a channel; its products' completeness is recomputed."""
    value: Any = None
    if param is not None:
        try:
            value = json.loads(param)
        except json.JSONDecodeError:
            value = param
    with recomputing():
        service.add_requirements(
            database(),
            code,
            [Requirement(attribute, rule, value, frozenset(locale) or None, family)],
        )
    console.print(f"channel {code}: {attribute} {rule.value} added")


@channel_app.command("unrequire")
@handle_errors
def channel_unrequire(code: str, requirement_id: int) -> None:
    with recomputing():
        service.remove_requirement(database(), code, requirement_id)
    console.print(f"channel {code}: requirement {requirement_id} removed")


@product_app.command("list")
@handle_errors
def product_list(
    family: str | None = None,
    category: str | None = None,
    status: Status | None = None,
    kind: ProductKind | None = None,
    channel: str | None = None,
    locale: str | None = None,
    complete: bool | None = typer.Option(None, "--complete/--incomplete"),
    publishable: bool | None = typer.Option(None, "--publishable/--unpublishable"),
    q: str | None = typer.Option(None, "--q", "-q", help="free text"),
    limit: int = 50,
    cursor: str | None = None,
) -> None:
    """Search products; every filter narrows the result."""
    filters = browse.ProductFilter(
        family, category, status, kind, channel, locale, complete, publishable, q
    )
    page = browse.list_products(database(), filters, cursor, limit)
    table = Table("sku", "kind", "family", "status", "completeness", "publishable on")
    for item in page.items:
        summary = ", ".join(f"{c.channel}/{c.locale} {c.ratio}%" for c in item.completeness)
        table.add_row(
            item.sku,
            item.kind,
            item.family or "",
            item.status,
            summary,
            ", ".join(item.publishable_on),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@product_app.command("show")
@handle_errors
def product_show(sku: str) -> None:
    """A product's values, completeness per channel and locale (with what is missing)."""
    view = browse.get_product(database(), sku)
    console.print(
        f"[bold]{view.sku}[/bold] {view.kind} family={view.family} status={view.status} "
        f"parent={view.parent or '-'}"
    )
    console.print(f"categories: {', '.join(view.categories) or '-'}")
    for code, items in {**view.inherited, **view.values}.items():
        for v in items:
            scope = ", ".join(x for x in (v.locale, v.channel) if x)
            console.print(f"  {code}{f' ({scope})' if scope else ''}: {v.data}")
    for c in view.completeness:
        console.print(f"  {c.channel}/{c.locale}: {c.ratio}% ({c.satisfied}/{c.required})")
        for m in c.missing:
            console.print(f"    - {m['message']}")
    console.print(f"publishable on: {', '.join(view.publishable_on) or '-'}")


@product_app.command("status")
@handle_errors
def product_status(sku: str, status: Status) -> None:
    """Move a product through the workflow."""
    products.change_status(database(), sku, status, actor="cli")
    console.print(f"{sku} is {status.value}")


@product_app.command("history")
@handle_errors
def product_history(sku: str) -> None:
    for change in browse.product_history(database(), sku):
        console.print(f"{change.changed_at:%Y-%m-%d %H:%M:%S} {change.actor} ({change.source})")
        for name, (old, new) in change.changes.items():
            console.print(f"    {name}: {old!r} -> {new!r}")


attribute_app = typer.Typer(
    help="Attributes (typed, localizable and/or scopable).", no_args_is_help=True
)
family_app = typer.Typer(
    help="Families: attributes, required ones, variant axes.", no_args_is_help=True
)
category_app = typer.Typer(help="The category tree.", no_args_is_help=True)


@attribute_app.command("add")
@handle_errors
def attribute_add(
    code: str,
    type_: AttributeType = typer.Option(..., "--type"),
    localizable: bool = False,
    scopable: bool = False,
    option: list[str] = typer.Option([], "--option", help="select options, repeatable"),
    max_length: int | None = None,
    unit: list[str] = typer.Option([], "--unit", help="measurement units, repeatable"),
    identifier_kind: IdentifierKind | None = None,
    label: list[str] = typer.Option([], "--label", help="locale=text, repeatable"),
) -> None:
    """Create an attribute, or update its labels, options and limits."""
    saved = service.save_attribute(
        database(),
        Attribute(
            code,
            type_,
            localizable,
            scopable,
            _pairs(label, "--label"),
            tuple(option),
            max_length,
            tuple(unit),
            identifier_kind,
        ),
    )
    console.print(f"attribute {saved.code}: {saved.type.value}")


@attribute_app.command("list")
def attribute_list() -> None:
    table = Table("code", "type", "localizable", "scopable", "options / units")
    for a in service.list_attributes(database()):
        extra = ", ".join(a.options or a.units)
        table.add_row(a.code, a.type.value, str(a.localizable), str(a.scopable), extra)
    console.print(table)


@family_app.command("add")
@handle_errors
def family_add(
    code: str,
    attribute: list[str] = typer.Option(..., "--attribute", help="repeatable"),
    required: list[str] = typer.Option([], "--required", help="required in every channel"),
    axis: list[str] = typer.Option([], "--axis", help="variant axis, repeatable"),
    label: list[str] = typer.Option([], "--label", help="locale=text, repeatable"),
) -> None:
    """Create or update a family; its products' completeness is recomputed."""
    with recomputing():
        saved = service.save_family(
            database(),
            Family(code, tuple(attribute), tuple(required), tuple(axis), _pairs(label, "--label")),
        )
    console.print(f"family {saved.code}: {len(saved.attributes)} attributes")


@family_app.command("list")
def family_list() -> None:
    table = Table("code", "attributes", "required", "variant axes")
    for f in service.list_families(database()):
        table.add_row(
            f.code, ", ".join(f.attributes), ", ".join(f.required), ", ".join(f.variant_axes)
        )
    console.print(table)


@category_app.command("add")
@handle_errors
def category_add(
    code: str,
    parent: str | None = None,
    label: list[str] = typer.Option([], "--label", help="locale=text, repeatable"),
) -> None:
    """Create a category, or move it (with its subtree) under another parent."""
    saved = service.save_category(database(), code, parent, _pairs(label, "--label"))
    console.print(f"category {saved.path}")


@category_app.command("list")
def category_list() -> None:
    for c in service.list_categories(database()):
        depth = c.path.count("/") - 2
        console.print(f"{'  ' * depth}{c.code}")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            errors.print(f"[red]error:[/red] {option} {item!r} must read key=value")
            raise typer.Exit(EXIT_INVALID)
        pairs[key.strip()] = text.strip()
    return pairs


def recomputing() -> Spinner:
    """A spinner while a change re-judges every product it concerns (bulk recompute)."""
    return errors.status("recomputing completeness of the products concerned...")


def register(app: typer.Typer) -> None:
    app.add_typer(attribute_app, name="attribute")
    app.add_typer(family_app, name="family")
    app.add_typer(category_app, name="category")
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.add_typer(locale_app, name="locale")
    app.add_typer(channel_app, name="channel")
    app.add_typer(product_app, name="product")
