"""Customer records as channels send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channelhub.customers.model import Address, CustomerRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def home(line1: str = "Kerkstraat 1", postcode: str = "3511 AB") -> Address:
    return Address(line1, "", postcode, "Utrecht", "NL")


def record(channel: str, ref: str, day: int = 0, **fields: object) -> CustomerRecord:
    return CustomerRecord(channel=channel, source_ref=ref, observed_at=at(day), **fields)  # type: ignore[arg-type]
