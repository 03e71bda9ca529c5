"""Pricing fixtures: the factory catalog with two mugs and a shirt, and EUR price lists for
the ``web`` and ``bol`` channels."""

from __future__ import annotations

import pytest

from channelhub.catalog.products import ProductInput
from channelhub.core.database import Database
from channelhub.pricing import service
from tests.factories import make_catalog, mug, save


@pytest.fixture
def priced(db: Database) -> Database:
    make_catalog(db)
    shirt = ProductInput(sku="SHIRT-1", family="shirts", categories=["apparel"])
    save(db, mug("MUG-1"), mug("MUG-2"), shirt)
    service.save_price_list(db, "web_eur", "web")
    service.save_price_list(db, "bol_eur", "bol")
    return db
