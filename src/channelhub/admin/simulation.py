"""The replay report as HTML: charts drawn on the server, the figures, and the orders behind
them. The admin shows it inside its pages; ``channelhub simulate --html`` writes it as one
self-contained file (styles inline, nothing fetched)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from channelhub.admin.charts import bars, lines
from channelhub.insight.simulation import Comparison, Outcome, ranked_moves, summary
from channelhub.insight.simulation.model import COSTLY, SetupResult
from channelhub.insight.simulation.report import FIGURES, SETUPS, weeks

_TEMPLATES = Path(__file__).parent / "templates"
_STATIC = Path(__file__).parent / "static"
_env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))

#: Lines shown under each figure on the page; the CSV holds them all.
SHOWN_LINES = 100


def _weekly_cost(result: SetupResult, week: date) -> float:
    table = result.by_week.get(week, {})
    return float(sum((table[o].value for o in COSTLY if o in table), Decimal(0)))


def report_context(
    comparison: Comparison,
    currency: str,
    weight: Decimal = Decimal(1),
    order_link: str | None = "/admin/orders/{id}",
) -> dict[str, Any]:
    """What ``simulation_report.html`` needs to draw the report."""
    names = [n for n in SETUPS if n in comparison.setups]
    buckets = weeks(comparison)
    cost_by_week = {
        name: [_weekly_cost(comparison.setups[name], week) for week in buckets] for name in names
    }
    moves = ranked_moves(comparison)
    behind: list[dict[str, Any]] = []
    for name in names:
        result = comparison.setups[name]
        for outcome in (*COSTLY, Outcome.NO_STOCK):
            affected = result.affected.get(outcome, [])
            if affected:
                behind.append(
                    {
                        "setup": name,
                        "outcome": outcome.value,
                        "count": len(affected),
                        "lines": affected[:SHOWN_LINES],
                    }
                )
    return {
        "summary": summary(comparison, currency, weight),
        "setups": {n: SETUPS[n] for n in names},
        "figures": [o.value for o in FIGURES],
        "currency": currency,
        "cost_chart": lines([w.isoformat() for w in buckets], cost_by_week),
        "moves_chart": bars([c for c, _ in moves], [float(v) for _, v in moves], f" {currency}"),
        "behind": behind,
        "order_link": order_link,
        "shown_lines": SHOWN_LINES,
    }


def standalone_html(comparison: Comparison, currency: str, weight: Decimal = Decimal(1)) -> str:
    """The whole report as one HTML file with its styles inline."""
    context = report_context(comparison, currency, weight, order_link=None)
    body = _env.get_template("simulation_report.html").render(**context)
    css = (_STATIC / "admin.css").read_text(encoding="utf-8")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>channelhub: what omnichannel would have saved</title>"
        f"<style>{css}</style></head><body><main>{body}</main></body></html>"
    )


def report_markup(comparison: Comparison, currency: str, weight: Decimal = Decimal(1)) -> Markup:
    context = report_context(comparison, currency, weight)
    return Markup(_env.get_template("simulation_report.html").render(**context))
