"""The products list: one compact row per product, 50 a page, sorted and filtered in the
database (``catalog.overview.product_rows``), on both databases, and over HTTP per role."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from channelhub.admin.users import Role, create_user
from channelhub.api.app import create_app
from channelhub.catalog import service as catalog
from channelhub.catalog.browse import ProductFilter
from channelhub.catalog.model import Requirement, RuleKind, Status
from channelhub.catalog.overview import ProductSort, product_rows
from channelhub.catalog.products import ProductInput, change_status
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from tests.admin.test_pages import PASSWORD, sign_in
from tests.factories import gtin, make_catalog, save, value

COUNT = 120


def item(n: int) -> ProductInput:
    """P-000..P-119; names run the other way (P-000 is "Zz 119"); every third has an EAN."""
    values = [
        value("name", f"Zz {COUNT - 1 - n:03d}", "en_US"),
        value("name", f"Nl {n}", "nl_NL"),
        value("brand", "Hearth"),
    ]
    if n % 3 == 0:
        values.append(value("gtin", gtin(n + 1)))
    return ProductInput(sku=f"P-{n:03d}", family="mugs", values=values)


@pytest.fixture
def shop(db: Database) -> Database:
    make_catalog(db)
    catalog.add_requirements(db, "bol", [Requirement("gtin", RuleKind.REQUIRED)])
    save(db, *(item(n) for n in range(COUNT)))
    save(db, ProductInput(sku="TEE-1", family="shirts", values=[value("name", "Tee", "en_US")]))
    change_status(db, "P-001", Status.IN_REVIEW, "test")
    for role in Role:
        create_user(db, f"{role.value}1", PASSWORD, role)
    return db


def skus(db: Database, **options: object) -> list[str]:
    filters = options.pop("filters", ProductFilter())
    assert isinstance(filters, ProductFilter)
    return [r.sku for r in product_rows(db, filters, locale="en_US", **options).rows]  # type: ignore[arg-type]


def test_pages_of_fifty_in_each_order(shop: Database) -> None:
    first = product_rows(shop, ProductFilter(), locale="en_US")
    assert (first.total, first.pages, len(first.rows)) == (COUNT + 1, 3, 50)
    assert skus(shop, page=3) == [f"P-{n:03d}" for n in range(100, COUNT)] + ["TEE-1"]
    assert skus(shop, sort=ProductSort.SKU, descending=True)[:2] == ["TEE-1", "P-119"]
    # Names sort by the name in the locale asked for, not by SKU.
    assert skus(shop, sort=ProductSort.NAME)[:3] == ["TEE-1", "P-119", "P-118"]
    assert skus(shop, sort=ProductSort.NAME, descending=True)[0] == "P-000"
    # Least complete first: the tee (no Dutch name: two gaps), those missing the EAN bol.com
    # asks for (one gap), then the complete ones.
    by_gaps = product_rows(shop, ProductFilter(), ProductSort.COMPLETENESS, page_size=500).rows
    assert [r.gaps for r in by_gaps] == [2] + [1] * 80 + [0] * 40
    assert by_gaps[0].sku == "TEE-1" and by_gaps[-1].sku == "P-117"
    change_status(shop, "P-050", Status.IN_REVIEW, "test")  # a write makes it the newest
    assert skus(shop, sort=ProductSort.UPDATED, descending=True)[0] == "P-050"


def test_filters_and_the_completeness_cells(shop: Database) -> None:
    incomplete = product_rows(shop, ProductFilter(channel="bol", complete=False), page_size=500)
    assert incomplete.total == 81  # 80 mugs without an EAN, and the tee
    assert "P-000" not in {r.sku for r in incomplete.rows}
    assert skus(shop, filters=ProductFilter(family="shirts")) == ["TEE-1"]
    assert skus(shop, filters=ProductFilter(status=Status.IN_REVIEW)) == ["P-001"]
    assert skus(shop, filters=ProductFilter(q="zz 005")) == ["P-114"]
    [row] = product_rows(shop, ProductFilter(q="P-001"), locale="en_US").rows
    assert row.name == "Zz 118" and row.family == "mugs"
    bol, web = row.cells["bol"], row.cells["web"]
    assert not bol.is_complete and bol.ratio == 50 and "gtin" in bol.detail
    assert web.is_complete and web.ratio == 100
    with pytest.raises(InvalidInput, match="page"):
        product_rows(shop, ProductFilter(), page=0)


@pytest.fixture
def client(shop: Database) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as c:
        yield c


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr data-sku="([^"]+)"', html)


def test_the_page_pages_sorts_and_filters(client: TestClient) -> None:
    sign_in(client, "merchandiser1")
    page = client.get("/admin/products")
    assert page.status_code == 200 and len(rows_of(page.text)) == 50
    assert "page 1 of 3" in page.text and 'rel="next"' in page.text
    # One cell per channel, its detail in the title; no stacked bars.
    cell = re.search(r'<td class="cell part" title="([^"]+)" data-cell="P-001@bol">50%', page.text)
    assert cell and "gtin" in cell.group(1), page.text[:3000]
    assert 'class="bar"' not in page.text
    last = client.get("/admin/products?page=3")
    assert rows_of(last.text)[-1] == "TEE-1" and 'rel="next"' not in last.text
    assert rows_of(client.get("/admin/products?sort=name").text)[:2] == ["TEE-1", "P-119"]
    found = client.get("/admin/products?incomplete=bol&family=mugs&q=zz+00&sort=sku&order=desc")
    assert rows_of(found.text) == ["P-119", "P-118", "P-116", "P-115", "P-113", "P-112", "P-110"]
    assert 'data-testid="total">7 found' in found.text
    # A next link keeps the filters and the order.
    assert "sort=sku&amp;order=desc" in client.get("/admin/products?sort=sku&order=desc").text
    bad = client.get("/admin/products?sort=price")
    assert bad.status_code == 200 and 'class="flash error"' in bad.text


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_the_list(client: TestClient, role: Role) -> None:
    sign_in(client, f"{role.value}1")
    assert len(rows_of(client.get("/admin/products?sort=updated").text)) == 50


def test_the_list_needs_a_sign_in(client: TestClient) -> None:
    response = client.get("/admin/products?page=2", follow_redirects=False)
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]
