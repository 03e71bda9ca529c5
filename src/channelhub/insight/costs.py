"""Unit costs per SKU and currency, the basis of margins."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import delete, insert

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput
from channelhub.insight.store import sku_costs
from channelhub.orders.service import to_minor


def save_costs(db: Database, costs: Sequence[tuple[str, str, Decimal]]) -> int:
    """Upsert unit costs; all or nothing, and the first bad row says what is wrong."""
    rows = []
    seen: set[tuple[str, str]] = set()
    now = utcnow()
    for number, (sku, currency, cost) in enumerate(costs, start=1):
        if not sku or len(sku) > 100:
            raise InvalidInput(f"cost {number}: sku must have 1 to 100 characters")
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise InvalidInput(f"cost {number} ({sku}): currency {currency!r} is not ISO 4217")
        if cost < 0:
            raise InvalidInput(f"cost {number} ({sku}): a unit cost cannot be negative")
        if (sku, currency) in seen:
            raise InvalidInput(f"cost {number} ({sku}): {sku} {currency} appears twice")
        seen.add((sku, currency))
        rows.append(
            {
                "sku": sku,
                "currency": currency,
                "unit_cost_minor": to_minor(cost, currency),
                "updated_at": now,
            }
        )
    with db.transaction() as conn:
        for sku, currency in seen:
            conn.execute(
                delete(sku_costs).where(sku_costs.c.sku == sku, sku_costs.c.currency == currency)
            )
        if rows:
            conn.execute(insert(sku_costs), rows)
    return len(rows)
