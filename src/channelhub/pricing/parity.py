"""Price parity across integrated channels: the rules, and the report of every SKU whose
effective price differs beyond them.

Channels are compared only with channels that sell in the same currency (each channel's own
currency, its price list in that currency); no currency conversion is done. A channel alone in
its currency is listed as not compared, with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from channelhub.catalog.model import ChannelMode
from channelhub.catalog.service import find_channel
from channelhub.catalog.snapshot import Channel, channel_from_row
from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.pricing import store
from channelhub.pricing.model import (
    ChannelPrice,
    ParityBreak,
    ParityRule,
    find_parity_breaks,
    parse_amount,
    parse_percent,
    to_minor_units,
)
from channelhub.pricing.service import resolve_many

#: SKUs compared per round of queries.
BATCH_SIZE = 1000


@dataclass(frozen=True)
class StoredParityRule:
    id: int
    rule: ParityRule


def _pair_key(channel: str, other: str | None) -> str:
    return f"{channel}|*" if other is None else "|".join(sorted((channel, other)))


def save_parity_rule(
    db: Database,
    channel: str,
    other_channel: str | None = None,
    max_percent: Decimal | str | None = None,
    max_amount: Decimal | str | None = None,
    currency: str | None = None,
) -> StoredParityRule:
    """Allow prices to differ by a percentage and/or an amount: between two channels, or
    between one channel and any other. Replaces the rule for the same channels."""
    if other_channel == channel:
        raise InvalidInput("a parity rule compares two different channels")
    percent = amount = None
    try:
        if max_percent is not None:
            percent = parse_percent(max_percent, "max_percent")
        if max_amount is not None:
            if currency is None:
                raise ValueError("an amount allowance needs a currency")
            amount = parse_amount(max_amount, currency, "max_amount")
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    if percent is None and amount is None:
        raise InvalidInput("give max_percent, max_amount (with currency) or both")
    with db.transaction() as conn:
        first = find_channel(conn, channel)
        second = find_channel(conn, other_channel) if other_channel else None
        key = _pair_key(channel, other_channel)
        conn.execute(delete(store.parity_rules).where(store.parity_rules.c.pair_key == key))
        conn.execute(
            insert(store.parity_rules).values(
                channel_id=first.id,
                other_channel_id=second.id if second else None,
                pair_key=key,
                max_percent_hundredths=(
                    None if percent is None else store.percent_to_hundredths(percent)
                ),
                max_amount_minor=(
                    None if amount is None or currency is None else to_minor_units(amount, currency)
                ),
                currency=currency if amount is not None else None,
                created_at=utcnow(),
            )
        )
        row = conn.execute(
            store.parity_rule_rows().where(store.parity_rules.c.pair_key == key)
        ).one()
        return StoredParityRule(row.id, store.parity_rule_from_row(row))


def _rules(conn: Connection) -> list[StoredParityRule]:
    query = store.parity_rule_rows().order_by(store.parity_rules.c.id)
    return [StoredParityRule(r.id, store.parity_rule_from_row(r)) for r in conn.execute(query)]


def list_parity_rules(db: Database) -> list[StoredParityRule]:
    with db.read() as conn:
        return _rules(conn)


def delete_parity_rule(db: Database, rule_id: int) -> None:
    with db.transaction() as conn:
        gone = conn.execute(delete(store.parity_rules).where(store.parity_rules.c.id == rule_id))
        if gone.rowcount == 0:
            raise NotFound(f"parity rule {rule_id} does not exist")


@dataclass
class ParityReport:
    at: datetime
    segment: str | None
    compared: dict[str, list[str]] = field(default_factory=dict)  # currency -> channels
    not_compared: dict[str, str] = field(default_factory=dict)  # channel -> why
    skus_checked: int = 0
    breaks: list[ParityBreak] = field(default_factory=list)
    truncated: bool = False


def _channels(conn: Connection, codes: Sequence[str] | None) -> list[Channel]:
    if codes:
        return [find_channel(conn, code) for code in dict.fromkeys(codes)]
    rows = conn.execute(select(store.channels).order_by(store.channels.c.code))
    return [c for c in map(channel_from_row, rows) if c.mode is ChannelMode.INTEGRATED]


def parity_report(
    db: Database,
    at: datetime | None = None,
    segment: str | None = None,
    channels: Sequence[str] | None = None,
    limit: int = 10_000,
) -> ParityReport:
    """Every SKU whose effective price (for ``segment`` at ``at``) differs between integrated
    channels of one currency beyond the parity rules, or is priced on one and not the other."""
    if at is not None and at.tzinfo is None:
        raise InvalidInput("give the time with a UTC offset, e.g. 2025-01-01T00:00:00Z")
    report = ParityReport(at or utcnow(), segment)
    with db.read() as conn:
        listed = {
            (r.channel_id, r.currency)
            for r in conn.execute(
                select(store.price_lists.c.channel_id, store.price_lists.c.currency)
            )
        }
        chosen = []
        for channel in _channels(conn, channels):
            if (channel.id, channel.currency) in listed:
                chosen.append(channel)
            else:
                report.not_compared[channel.code] = f"has no {channel.currency} price list"
        by_currency: dict[str, list[str]] = defaultdict(list)
        for channel in chosen:
            by_currency[channel.currency].append(channel.code)
        for currency, codes in sorted(by_currency.items()):
            if len(codes) > 1:
                report.compared[currency] = codes
            else:
                report.not_compared[codes[0]] = (
                    f"the only channel selling in {currency}; currency conversion is out of scope"
                )
        if not report.compared:
            return report
        rules = [s.rule for s in _rules(conn)]
        promotions = store.load_promotions(conn)
        compared = [c for codes in report.compared.values() for c in codes]
        currency_of = {c.code: c.currency for c in chosen}
        after = ""
        while not report.truncated:
            skus = store.priced_skus(conn, compared, after, BATCH_SIZE)
            if not skus:
                break
            after = skus[-1]
            report.skus_checked += len(skus)
            resolved = {
                code: resolve_many(
                    conn, code, currency_of[code], skus, report.at, segment, promotions
                )
                for code in compared
            }
            for sku in skus:
                prices = [
                    ChannelPrice(
                        code,
                        currency_of[code],
                        resolved[code][sku].effective_price if sku in resolved[code] else None,
                    )
                    for code in compared
                ]
                report.breaks.extend(find_parity_breaks(sku, prices, rules))
                if len(report.breaks) >= limit:
                    report.breaks = report.breaks[:limit]
                    report.truncated = True
                    break
    return report
