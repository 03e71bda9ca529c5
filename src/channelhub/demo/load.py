"""Load the sample retailer: locales, four channels with presets, and a small catalog."""

from __future__ import annotations

from pathlib import Path

from channelhub.catalog import importing, service
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError

HERE = Path(__file__).resolve().parent

CHANNELS = (
    service.ChannelInput(
        "webshop",
        "Nordwear webshop (Shopify)",
        ChannelKind.WEBSHOP,
        ChannelMode.INTEGRATED,
        ("en_US", "nl_NL"),
        "EUR",
    ),
    service.ChannelInput(
        "bol", "bol.com", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"
    ),
    service.ChannelInput(
        "google", "Google Shopping", ChannelKind.FEED, ChannelMode.INTEGRATED, ("en_US",), "EUR"
    ),
    service.ChannelInput(
        "store_amsterdam",
        "Store Amsterdam (POS)",
        ChannelKind.STORE,
        ChannelMode.INDEPENDENT,
        ("nl_NL",),
        "EUR",
    ),
)


def load_sample_catalog(db: Database) -> str:
    """Idempotent: loading twice leaves the same catalog. Returns a one-line summary."""
    service.add_locale(db, "en_US", "English (United States)")
    service.add_locale(db, "nl_NL", "Nederlands")
    for channel in CHANNELS:
        service.save_channel(db, channel)
    counts = []
    for kind in ("attributes", "families", "categories", "products"):
        report = importing.import_file(db, kind, HERE / f"{kind}.csv", "csv", actor="demo")
        if report.file_errors or report.rejected:
            detail = report.file_errors or [r.reason for r in report.rejected[:3]]
            raise ChannelhubError(f"the sample {kind} did not load: {detail}")
        counts.append(f"{report.rows} {kind}")
    service.apply_preset(db, "bol", "bol")
    service.apply_preset(db, "google", "google_merchant")
    return "sample catalog loaded: " + ", ".join(counts)
