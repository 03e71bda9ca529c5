"""Feed commands: define a feed, publish it (full or delta) to a file, validate it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer

from channelhub.cli.common import EXIT_REJECTED, console, database, errors, handle_errors
from channelhub.core.errors import InvalidInput
from channelhub.feeds import service
from channelhub.feeds.model import FeedFormat, FeedKind, VersionKind

feed_app = typer.Typer(
    help="Product feeds: Google Merchant Center (XML, TSV), local inventory, Meta catalog.",
    no_args_is_help=True,
)


def _settings(link: str | None, settings_json: str | None) -> dict[str, object]:
    settings: dict[str, object] = {}
    if settings_json:
        try:
            loaded = json.loads(settings_json)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"--settings is not JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise InvalidInput("--settings is a JSON object")
        settings.update(loaded)
    if link:
        settings["link_template"] = link
    return settings


@feed_app.command("create")
@handle_errors
def create(
    code: str,
    channel: str = typer.Option(..., help="the channel whose products, prices and stock"),
    locale: str = typer.Option(..., help="the locale of titles and descriptions"),
    kind: FeedKind = typer.Option(FeedKind.GOOGLE_PRODUCTS),
    feed_format: FeedFormat = typer.Option(FeedFormat.XML, "--format"),
    name: str | None = typer.Option(None),
    link: str | None = typer.Option(
        None, help="product page URL template, e.g. https://shop.example/{language}/p/{sku}"
    ),
    settings_json: str | None = typer.Option(
        None, "--settings", help="more settings as JSON (fields, values, categories...)"
    ),
) -> None:
    """Define a feed and print its access token (shown once)."""
    feed, token = service.create_feed(
        database(),
        service.FeedInput(
            code,
            name or code,
            kind,
            feed_format,
            channel,
            locale,
            _settings(link, settings_json),
        ),
    )
    console.print(f"created feed {feed.code} ({feed.kind.value}, {feed.format.value})")
    console.print(f"served at /feeds/{feed.code}.{feed.format.value}?token=<token>")
    print(token)


@feed_app.command("list")
@handle_errors
def list_feeds() -> None:
    """Every feed with its newest version."""
    db = database()
    for feed in service.list_feeds(db):
        version = service.latest_version(db, feed.code)
        state = (
            f"version {version.number} ({version.kind.value}): {version.items} items, "
            f"{version.rejected} held back"
            if version
            else "not published yet"
        )
        print(
            f"{feed.code}  {feed.kind.value}  {feed.format.value}  "
            f"{feed.channel}/{feed.locale}  {state}"
        )


def _print_report(report: dict[str, object], limit: int) -> None:
    by_rule = report.get("by_rule") or {}
    assert isinstance(by_rule, dict)
    for rule, count in by_rule.items():
        errors.print(f"  {rule}: {count} item(s)")
    violations = report.get("violations") or []
    assert isinstance(violations, list)
    for violation in violations[:limit]:
        errors.print(
            f"  - {violation['item']}: {violation['attribute']} ({violation['rule']}): "
            f"{violation['message']}"
        )


@feed_app.command("generate")
@handle_errors
def generate(
    code: str,
    delta: bool = typer.Option(
        False, "--delta", help="what changed since the newest full version (cumulative)"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="also copy the file here"),
    directory: Path | None = typer.Option(
        None, "--dir", help="where versions are kept (default CHANNELHUB_FEED_DIR or ./feeds)"
    ),
    show: int = typer.Option(20, help="how many held-back items to list"),
) -> None:
    """Publish a new version of the feed to a file (invalid items are held back and listed)."""
    kind = VersionKind.DELTA if delta else VersionKind.FULL
    version = service.publish(database(), code, kind, directory)
    if output is not None:
        shutil.copyfile(version.path, output)
    console.print(
        f"feed {code} version {version.number} ({version.kind.value}): {version.items} items, "
        f"{version.removed} removed, {version.rejected} held back, {version.size} bytes"
    )
    console.print(f"file: {output or version.path}")
    if version.rejected:
        _print_report(version.report, show)


@feed_app.command("validate")
@handle_errors
def validate(code: str, show: int = typer.Option(50, help="how many violations to list")) -> None:
    """Check every item against the specification's rules; exit 1 when any breaks them."""
    report = service.validate_feed(database(), code)
    console.print(f"feed {code}: {report.items} items, {report.rejected} break a rule")
    if report.rejected:
        _print_report(report.as_dict(), show)
        raise typer.Exit(EXIT_REJECTED)


@feed_app.command("token")
@handle_errors
def token(code: str) -> None:
    """Issue a new access token for the feed's URLs (the old one stops working)."""
    print(service.rotate_token(database(), code))


@feed_app.command("delete")
@handle_errors
def delete(code: str) -> None:
    service.delete_feed(database(), code)
    console.print(f"deleted feed {code}")


def register(app: typer.Typer) -> None:
    app.add_typer(feed_app, name="feed")
