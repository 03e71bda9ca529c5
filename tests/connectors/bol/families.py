"""A product model with variants, saved after a connection exists (so that the model's own
change reaches the connection as a listing job, as in the demo), and what the engine did with
each job. Shared by the bol.com, Amazon and Shopify engine tests."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from channelhub.catalog.model import ProductKind, Status
from channelhub.catalog.products import ProductInput, change_status
from channelhub.core.database import Database
from channelhub.pricing import service as pricing
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sync.store import jobs
from tests.factories import gtin, save, value
from tests.inventory.factories import stock

MODEL = "TEE"
#: variant SKU -> (colour, size, EAN, units in the warehouse, price)
VARIANTS: dict[str, tuple[str, str, str, int, Decimal]] = {
    "TEE-RED-S": ("red", "s", gtin(21), 4, Decimal("24.95")),
    "TEE-RED-M": ("red", "m", gtin(22), 2, Decimal("24.95")),
    "TEE-BLK-M": ("black", "m", gtin(23), 5, Decimal("26.95")),
}
UNITS = {sku: v[3] for sku, v in VARIANTS.items()}


def save_tee_family(db: Database, channel: str) -> None:
    """The model TEE (family ``shirts``: axes colour and size) with three variants, each with
    its own EAN, approved (so publishable), stocked in the warehouse and priced on
    ``channel``."""
    pricing.save_price_list(db, f"{channel}_tees", channel)
    save(
        db,
        ProductInput(
            MODEL,
            family="shirts",
            kind=ProductKind.MODEL,
            categories=["apparel"],
            values=[
                value("name", "Organic tee", "en_US"),
                value("name", "Biologisch shirt", "nl_NL"),
                value("brand", "Hearth"),
            ],
        ),
        *(
            ProductInput(
                sku,
                parent=MODEL,
                values=[value("color", colour), value("size", size), value("gtin", ean)],
            )
            for sku, (colour, size, ean, _units, _price) in VARIANTS.items()
        ),
    )
    for status in (Status.IN_REVIEW, Status.APPROVED):  # the variants follow their model
        change_status(db, MODEL, status, "test")
    stock(db, "wh", **{sku.replace("-", "_"): units for sku, units in UNITS.items()})
    save_prices(
        db,
        [PriceInput(sku, v[4]) for sku, v in VARIANTS.items()],
        price_list=f"{channel}_tees",
        actor="test",
    )


def job_outcomes(db: Database, kind: str) -> dict[str, tuple[str, str | None]]:
    """Each key's newest job of ``kind``: (state, last error or skip reason)."""
    with db.read() as conn:
        rows = conn.execute(
            select(jobs.c.key, jobs.c.state, jobs.c.last_error)
            .where(jobs.c.kind == kind)
            .order_by(jobs.c.id)
        ).all()
    return {row.key: (row.state, row.last_error) for row in rows}
