"""The products list: one compact row per product with a completeness cell per channel, 50 a
page, sorted and filtered by the catalog's ``product_rows``."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from channelhub.admin.web import P, _db, _page, _user
from channelhub.catalog import service as catalog
from channelhub.catalog.browse import ProductFilter
from channelhub.catalog.model import Status
from channelhub.catalog.overview import ProductRows, ProductSort, product_rows
from channelhub.core.errors import ChannelhubError

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/products", response_class=HTMLResponse)
def products(
    request: Request,
    q: str = "",
    family: str = "",
    status: str = "",
    incomplete: str = "",
    sort: str = "sku",
    order: str = "asc",
    page: int = 1,
) -> HTMLResponse:
    user = _user(request, P.PRODUCTS_READ)
    db = _db(request)
    channels = [c.code for c in catalog.list_channels(db)]
    locales = [code for code, _ in catalog.list_locales(db)]
    filters = {
        "q": q.strip()[:200],
        "family": family,
        "status": status,
        "incomplete": incomplete,
        "sort": sort,
        "order": order,
    }
    error = None
    found = ProductRows()
    try:
        found = product_rows(
            db,
            ProductFilter(
                q=filters["q"] or None,
                family=family or None,
                status=Status(status) if status else None,
                channel=incomplete or None,
                complete=False if incomplete else None,
            ),
            sort=ProductSort(sort),
            descending=order == "desc",
            page=max(page, 1),
            locale=locales[0] if locales else None,
        )
    except (ChannelhubError, ValueError) as problem:
        error = str(problem)

    def link(**changes: str | int) -> str:
        query = {k: v for k, v in {**filters, "page": found.page, **changes}.items() if v}
        return "?" + urlencode(query)

    def sort_link(column: str) -> str:
        flip = "desc" if sort == column and order != "desc" else "asc"
        return link(sort=column, order=flip, page=1)

    return _page(
        request,
        "products.html",
        user,
        found=found,
        error=error,
        channels=channels,
        families=[f.code for f in catalog.list_families(db)],
        statuses=list(Status),
        sorts=list(ProductSort),
        filters=filters,
        link=link,
        sort_link=sort_link,
    )
