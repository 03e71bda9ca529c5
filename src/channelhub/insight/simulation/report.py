"""A replay's figures as plain data: one summary for JSON, CSV rows for a spreadsheet, and the
lines behind each figure (which order, which channel, what it was worth)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from channelhub.insight.simulation.model import (
    BUFFERED,
    FULL_LISTING,
    INTEGRATED,
    MOVE_PREFIX,
    SPLIT,
    Comparison,
    Outcome,
    SetupResult,
    Tally,
)

#: The set-ups in the order a report shows them, with a line that says what each is.
SETUPS: Mapping[str, str] = {
    FULL_LISTING: "(a) every channel lists all its stock and syncs on its own schedule",
    SPLIT: "(b) the stock is split into a share per channel",
    BUFFERED: "(c) as (a), with a buffer held back on each synced channel",
    INTEGRATED: "(d) one integrated pool, real-time, with the hub's routing",
}
FIGURES = (Outcome.OVERSOLD, Outcome.LOST, Outcome.HELD_BACK, Outcome.NO_STOCK, Outcome.SOLD)


def _tally(tally: Tally) -> dict[str, Any]:
    return {
        "orders": tally.orders,
        "lines": tally.lines,
        "units": tally.units,
        "value": str(tally.value),
    }


def _figures(by_outcome: Mapping[Outcome, Tally]) -> dict[str, Any]:
    return {outcome.value: _tally(by_outcome.get(outcome, Tally())) for outcome in FIGURES}


def setup_summary(result: SetupResult, weight: Decimal) -> dict[str, Any]:
    return {
        "setup": result.setup,
        "figures": _figures(result.totals),
        "cost": str(result.cost(weight)),
        "split_shipments": result.split_shipments,
        "buffer": result.buffer,
        "by_channel": {c: _figures(t) for c, t in sorted(result.by_channel.items())},
        "by_week": {w.isoformat(): _figures(t) for w, t in sorted(result.by_week.items())},
        "by_group": {g: _figures(t) for g, t in sorted(result.by_group.items())},
    }


def summary(comparison: Comparison, currency: str, weight: Decimal) -> dict[str, Any]:
    """Everything a report shows, as JSON-able data."""
    return {
        "orders": comparison.orders,
        "currency": currency,
        "from": comparison.start.isoformat() if comparison.start else None,
        "to": comparison.end.isoformat() if comparison.end else None,
        "buffer": comparison.buffer,
        "setups": {
            name: setup_summary(comparison.setups[name], weight)
            for name in SETUPS
            if name in comparison.setups
        },
        "move_first": [
            {"channel": channel, "saves": str(saved)} for channel, saved in ranked_moves(comparison)
        ],
    }


def ranked_moves(comparison: Comparison) -> list[tuple[str, Decimal]]:
    """Channels by what moving each alone to ``integrated`` would have saved, most first."""
    return sorted(comparison.moves.items(), key=lambda item: (-item[1], item[0]))


def weeks(comparison: Comparison) -> list[date]:
    return sorted({w for r in comparison.setups.values() for w in r.by_week})


def figures_csv(comparison: Comparison) -> str:
    """One row per set-up, breakdown (total, channel, week, group), key and outcome."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["setup", "breakdown", "key", "outcome", "orders", "lines", "units", "value"])
    names = [n for n in SETUPS if n in comparison.setups] + sorted(
        n for n in comparison.setups if n.startswith(MOVE_PREFIX)
    )
    for name in names:
        result = comparison.setups[name]
        breakdowns: list[tuple[str, Mapping[Any, Mapping[Outcome, Tally]]]] = [
            ("total", {"": result.totals}),
            ("channel", result.by_channel),
            ("week", result.by_week),
            ("group", result.by_group),
        ]
        for breakdown, table in breakdowns:
            for key in sorted(table, key=str):
                for outcome in FIGURES:
                    tally = table[key].get(outcome)
                    if tally is None or not tally.lines:
                        continue
                    writer.writerow(
                        [
                            name,
                            breakdown,
                            key.isoformat() if isinstance(key, date) else key,
                            outcome.value,
                            tally.orders,
                            tally.lines,
                            tally.units,
                            tally.value,
                        ]
                    )
    return out.getvalue()


def affected_rows(
    comparison: Comparison, setup: str | None = None, outcome: Outcome | None = None
) -> Iterator[dict[str, str | int]]:
    """The order lines behind the figures, optionally of one set-up and one outcome."""
    for name, result in comparison.setups.items():
        if setup is not None and name != setup:
            continue
        for kind, affected in result.affected.items():
            if outcome is not None and kind != outcome:
                continue
            for line in affected:
                yield {
                    "setup": name,
                    "outcome": kind.value,
                    "order": line.reference,
                    "channel": line.channel,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "value": str(line.value),
                    "placed_at": line.at.isoformat(),
                }


def affected_csv(comparison: Comparison) -> str:
    out = io.StringIO()
    columns = ["setup", "outcome", "order", "channel", "sku", "quantity", "value", "placed_at"]
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(affected_rows(comparison))
    return out.getvalue()
