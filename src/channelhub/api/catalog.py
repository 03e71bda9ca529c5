"""Catalog routes: locales, channels and their requirements, attributes, families,
categories, products (search, upsert, workflow, history), imports and exports."""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, JsonValue

from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.inputs import JsonData, Text, refuse_unread_file
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.api.reports import RejectionOut
from channelhub.apikeys.service import ApiKey
from channelhub.catalog import browse, exporting, importing, products, service
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    IdentifierKind,
    ProductKind,
    Requirement,
    RuleKind,
    Status,
)
from channelhub.catalog.presets import PRESETS
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, Problem

router = APIRouter(responses=AUTHENTICATED)
NOT_FOUND = errors(404)
CONFLICT = errors(409)
BOTH = errors(404, 409)


Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
LocaleCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
Labels = dict[LocaleCode, Annotated[Text, Field(max_length=500)]]
SkuPath = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
CodePath = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,99}$")]


# --- locales ------------------------------------------------------------------------------


class LocaleOut(BaseModel):
    code: str
    label: str


class LocaleIn(BaseModel):
    label: Annotated[Text, Field(max_length=100)] = ""


@router.get("/locales", response_model=list[LocaleOut], tags=["catalog"])
def list_locales(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[LocaleOut]:
    return [LocaleOut(code=c, label=lbl) for c, lbl in service.list_locales(db)]


@router.put("/locales/{code}", response_model=LocaleOut, tags=["catalog"])
def put_locale(
    code: Annotated[str, PathParam(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")],
    body: LocaleIn,
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> LocaleOut:
    service.add_locale(db, code, body.label)
    return LocaleOut(code=code, label=dict(service.list_locales(db))[code])


# --- channels -----------------------------------------------------------------------------


class ChannelIn(BaseModel):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    kind: ChannelKind
    mode: ChannelMode = ChannelMode.INTEGRATED
    locales: list[LocaleCode] = Field(min_length=1, max_length=50)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class ChannelOut(ChannelIn):
    code: str


def _channel_out(channel: Any) -> ChannelOut:
    return ChannelOut(
        code=channel.code,
        name=channel.name,
        kind=channel.kind,
        mode=channel.mode,
        locales=list(channel.locales),
        currency=channel.currency,
    )


@router.get("/channels", response_model=list[ChannelOut], tags=["channels"])
def list_channels(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[ChannelOut]:
    return [_channel_out(c) for c in service.list_channels(db)]


@router.get("/channels/{code}", response_model=ChannelOut, tags=["channels"], responses=NOT_FOUND)
def get_channel(code: CodePath, _: ApiKey = Reader, db: Database = Depends(get_db)) -> ChannelOut:
    return _channel_out(service.get_channel(db, code))


@router.put("/channels/{code}", response_model=ChannelOut, tags=["channels"])
def put_channel(
    code: CodePath, body: ChannelIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> ChannelOut:
    """Create or update a channel; a change of locales recomputes its completeness."""
    spec = service.ChannelInput(
        code, body.name, body.kind, body.mode, tuple(body.locales), body.currency
    )
    return _channel_out(service.save_channel(db, spec))


class RequirementIn(BaseModel):
    attribute: Code
    rule: RuleKind
    param: JsonData = None
    locales: list[LocaleCode] | None = None
    family: Code | None = None


class RequirementOut(RequirementIn):
    id: int


class PresetIn(BaseModel):
    preset: str = Field(description=f"one of {', '.join(sorted(PRESETS))}")
    attribute_map: dict[Code, Code] = Field(
        default_factory=dict, description="preset attribute code -> this catalog's code"
    )


def _requirement_out(stored: service.StoredRequirement) -> RequirementOut:
    r = stored.requirement
    return RequirementOut(
        id=stored.id,
        attribute=r.attribute,
        rule=r.rule,
        param=r.param,
        locales=sorted(r.locales) if r.locales is not None else None,
        family=r.family,
    )


@router.get(
    "/channels/{code}/requirements",
    response_model=list[RequirementOut],
    tags=["channels"],
    responses=NOT_FOUND,
)
def list_requirements(
    code: CodePath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[RequirementOut]:
    return [_requirement_out(r) for r in service.list_requirements(db, code)]


@router.post(
    "/channels/{code}/requirements",
    response_model=list[RequirementOut],
    status_code=status.HTTP_201_CREATED,
    tags=["channels"],
    responses=NOT_FOUND,
)
def add_requirements(
    code: CodePath,
    body: Annotated[list[RequirementIn], Field(min_length=1, max_length=500)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> list[RequirementOut]:
    """Add rules; the channel's products are re-judged in the same transaction."""
    rules = [
        Requirement(
            r.attribute,
            r.rule,
            r.param,
            frozenset(r.locales) if r.locales is not None else None,
            r.family,
        )
        for r in body
    ]
    return [_requirement_out(r) for r in service.add_requirements(db, code, rules)]


@router.post(
    "/channels/{code}/requirements/preset",
    response_model=list[RequirementOut],
    tags=["channels"],
    responses=NOT_FOUND,
)
def apply_preset(
    code: CodePath, body: PresetIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> list[RequirementOut]:
    """Replace the channel's rules by a marketplace preset (google_merchant, bol, amazon)."""
    return [
        _requirement_out(r)
        for r in service.apply_preset(db, code, body.preset, dict(body.attribute_map))
    ]


@router.delete(
    "/channels/{code}/requirements/{requirement_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["channels"],
    responses=NOT_FOUND,
)
def remove_requirement(
    code: CodePath,
    requirement_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> None:
    service.remove_requirement(db, code, requirement_id)


# --- attributes and families --------------------------------------------------------------


class AttributeIn(BaseModel):
    type: AttributeType
    localizable: bool = False
    scopable: bool = False
    labels: Labels = Field(default_factory=dict)
    options: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=5000
    )
    max_length: int | None = Field(default=None, ge=1, le=65535)
    units: list[Annotated[Text, Field(min_length=1, max_length=30)]] = Field(
        default_factory=list, max_length=100
    )
    identifier_kind: IdentifierKind | None = None


class AttributeOut(AttributeIn):
    code: str


def _attribute_out(a: Attribute) -> AttributeOut:
    return AttributeOut(
        code=a.code,
        type=a.type,
        localizable=a.localizable,
        scopable=a.scopable,
        labels=dict(a.labels),
        options=list(a.options),
        max_length=a.max_length,
        units=list(a.units),
        identifier_kind=a.identifier_kind,
    )


@router.get("/attributes", response_model=list[AttributeOut], tags=["catalog"])
def list_attributes(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[AttributeOut]:
    return [_attribute_out(a) for a in service.list_attributes(db)]


@router.get(
    "/attributes/{code}", response_model=AttributeOut, tags=["catalog"], responses=NOT_FOUND
)
def get_attribute(
    code: CodePath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> AttributeOut:
    return _attribute_out(service.get_attribute(db, code))


@router.put("/attributes/{code}", response_model=AttributeOut, tags=["catalog"], responses=CONFLICT)
def put_attribute(
    code: CodePath, body: AttributeIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> AttributeOut:
    attribute = Attribute(
        code=code,
        type=body.type,
        localizable=body.localizable,
        scopable=body.scopable,
        labels=dict(body.labels),
        options=tuple(body.options),
        max_length=body.max_length,
        units=tuple(body.units),
        identifier_kind=body.identifier_kind,
    )
    return _attribute_out(service.save_attribute(db, attribute))


class FamilyIn(BaseModel):
    labels: Labels = Field(default_factory=dict)
    attributes: list[Code] = Field(default_factory=list, max_length=1000)
    required: list[Code] = Field(default_factory=list, max_length=1000)
    variant_axes: list[Code] = Field(default_factory=list, max_length=5)


class FamilyOut(FamilyIn):
    code: str


def _family_out(f: Family) -> FamilyOut:
    return FamilyOut(
        code=f.code,
        labels=dict(f.labels),
        attributes=list(f.attributes),
        required=list(f.required),
        variant_axes=list(f.variant_axes),
    )


@router.get("/families", response_model=list[FamilyOut], tags=["catalog"])
def list_families(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[FamilyOut]:
    return [_family_out(f) for f in service.list_families(db)]


@router.get("/families/{code}", response_model=FamilyOut, tags=["catalog"], responses=NOT_FOUND)
def get_family(code: CodePath, _: ApiKey = Reader, db: Database = Depends(get_db)) -> FamilyOut:
    return _family_out(service.get_family(db, code))


@router.put("/families/{code}", response_model=FamilyOut, tags=["catalog"], responses=CONFLICT)
def put_family(
    code: CodePath, body: FamilyIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> FamilyOut:
    """Create or update a family; a change of required attributes recomputes its products."""
    family = Family(
        code=code,
        attributes=tuple(body.attributes),
        required=tuple(body.required),
        variant_axes=tuple(body.variant_axes),
        labels=dict(body.labels),
    )
    return _family_out(service.save_family(db, family))


class CategoryIn(BaseModel):
    parent: Code | None = None
    labels: Labels = Field(default_factory=dict)


class CategoryOut(CategoryIn):
    code: str
    path: str


@router.get("/categories", response_model=list[CategoryOut], tags=["catalog"])
def list_categories(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[CategoryOut]:
    return [
        CategoryOut(code=c.code, parent=c.parent, path=c.path, labels=c.labels)
        for c in service.list_categories(db)
    ]


@router.put("/categories/{code}", response_model=CategoryOut, tags=["catalog"], responses=BOTH)
def put_category(
    code: CodePath, body: CategoryIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> CategoryOut:
    c = service.save_category(db, code, body.parent, dict(body.labels))
    return CategoryOut(code=c.code, parent=c.parent, path=c.path, labels=c.labels)


# --- products -----------------------------------------------------------------------------


class ValueIn(BaseModel):
    locale: LocaleCode | None = None
    channel: Code | None = None
    data: JsonData = Field(description="the value; null removes it")


class ProductIn(BaseModel):
    family: Code | None = None
    parent: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    kind: Literal["simple", "model"] | None = None
    categories: list[Code] | None = Field(default=None, max_length=500)
    status: Status | None = None
    values: dict[Code, list[ValueIn]] = Field(default_factory=dict)


class BatchItemIn(ProductIn):
    sku: Annotated[Text, Field(min_length=1, max_length=100)]


class ScopedValueOut(BaseModel):
    locale: str | None
    channel: str | None
    data: JsonValue


class CompletenessOut(BaseModel):
    channel: str
    locale: str
    required: int
    satisfied: int
    ratio: int
    is_complete: bool
    missing: list[dict[str, str]]


class ProductOut(BaseModel):
    sku: str
    kind: ProductKind
    parent: str | None
    family: str | None
    status: Status
    categories: list[str]
    values: dict[str, list[ScopedValueOut]]
    inherited: dict[str, list[ScopedValueOut]] = Field(
        description="values a variant takes from its model"
    )
    completeness: list[CompletenessOut]
    publishable_on: list[str]
    variants: list[str]
    version: int
    created_at: datetime
    updated_at: datetime


class ProductPageOut(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class SaveReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: list[RejectionOut]


def _product_out(view: browse.ProductView) -> ProductOut:
    def scoped(values: dict[str, list[browse.ScopedValue]]) -> dict[str, list[ScopedValueOut]]:
        return {
            code: [ScopedValueOut(locale=v.locale, channel=v.channel, data=v.data) for v in items]
            for code, items in values.items()
        }

    return ProductOut(
        sku=view.sku,
        kind=ProductKind(view.kind),
        parent=view.parent,
        family=view.family,
        status=Status(view.status),
        categories=view.categories,
        values=scoped(view.values),
        inherited=scoped(view.inherited),
        completeness=[CompletenessOut(**c.__dict__) for c in view.completeness],
        publishable_on=view.publishable_on,
        variants=view.variants,
        version=view.version,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def _input(sku: str, body: ProductIn) -> products.ProductInput:
    return products.ProductInput(
        sku=sku,
        family=body.family,
        parent=body.parent,
        kind=ProductKind(body.kind) if body.kind else None,
        categories=body.categories,
        status=body.status,
        values=[
            products.ValueInput(code, v.data, v.locale, v.channel, source=f"values.{code}[{i}]")
            for code, items in body.values.items()
            for i, v in enumerate(items)
        ],
    )


@router.get("/products", response_model=ProductPageOut, tags=["products"], responses=NOT_FOUND)
def list_products(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    family: Code | None = None,
    category: Code | None = Query(default=None, description="includes the category's subtree"),
    status_: Status | None = Query(default=None, alias="status"),
    kind: ProductKind | None = None,
    channel: Code | None = Query(default=None, description="completeness filters need one"),
    locale: LocaleCode | None = None,
    complete: bool | None = None,
    publishable: bool | None = None,
    q: Annotated[Text, Field(max_length=200)] | None = Query(default=None, description="free text"),
    cursor: Annotated[str, Field(max_length=200)] | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> ProductPageOut:
    """Search products; every filter narrows the result. Pages follow ``next_cursor``."""
    if channel is not None and locale is not None:
        used = service.get_channel(db, channel).locales
        if locale not in used:
            raise InvalidInput(
                f"channel {channel} does not use locale {locale} ({', '.join(used)})",
                [Problem("query.locale", f"one of {', '.join(used)}")],
            )
    filters = browse.ProductFilter(
        family=family,
        category=category,
        status=status_,
        kind=kind,
        channel=channel,
        locale=locale,
        complete=complete,
        publishable=publishable,
        q=q,
    )
    page = browse.list_products(db, filters, cursor, limit)
    return ProductPageOut(items=[_product_out(v) for v in page.items], next_cursor=page.next_cursor)


@router.get("/products/{sku}", response_model=ProductOut, tags=["products"], responses=NOT_FOUND)
def get_product(sku: SkuPath, _: ApiKey = Reader, db: Database = Depends(get_db)) -> ProductOut:
    return _product_out(browse.get_product(db, sku))


@router.patch("/products/{sku}", response_model=ProductOut, tags=["products"], responses=CONFLICT)
def upsert_product(
    sku: SkuPath, body: ProductIn, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> ProductOut:
    """Create the product or change what the body names; everything else stays."""
    result = products.save_products(db, [_input(sku, body)], actor=f"api:{key.name}")
    if result.rejected:
        r = result.rejected[0]
        raise InvalidInput(
            f"product {sku} was not saved: {r.reason}",
            [_problem(r)],
        )
    return _product_out(browse.get_product(db, sku))


def _problem(r: products.Rejection) -> Problem:
    return Problem(r.column or "product", r.reason)


@router.post("/products/batch", response_model=SaveReportOut, tags=["products"], responses=CONFLICT)
def upsert_products(
    body: Annotated[list[BatchItemIn], Field(min_length=1, max_length=1000)],
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> SaveReportOut:
    """Upsert up to 1,000 products; each is saved whole or rejected with its reason."""
    inputs = []
    for i, item in enumerate(body):
        one = _input(item.sku, item)
        one.line = i
        inputs.append(one)
    result = products.save_products(db, inputs, actor=f"api:{key.name}")
    return SaveReportOut(
        created=len(result.created),
        updated=len(result.updated),
        unchanged=len(result.unchanged),
        rejected=[RejectionOut(**r.as_dict()) for r in result.rejected],
    )


class StatusIn(BaseModel):
    status: Status


@router.post("/products/{sku}/status", response_model=ProductOut, tags=["products"], responses=BOTH)
def change_status(
    sku: SkuPath, body: StatusIn, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> ProductOut:
    """Move the product through the workflow: draft, in_review, approved, archived."""
    products.change_status(db, sku, body.status, actor=f"api:{key.name}")
    return _product_out(browse.get_product(db, sku))


class ChangeOut(BaseModel):
    changed_at: datetime
    actor: str
    source: str
    changes: dict[str, list[JsonValue]] = Field(description="field -> [old, new]")


@router.get(
    "/products/{sku}/history",
    response_model=list[ChangeOut],
    tags=["products"],
    responses=NOT_FOUND,
)
def product_history(
    sku: SkuPath, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[ChangeOut]:
    return [ChangeOut(**c.__dict__) for c in browse.product_history(db, sku)]


# --- imports and exports ------------------------------------------------------------------

ImportKind = Literal["products", "attributes", "families", "categories"]
FileFormat = Literal["csv", "jsonl", "xlsx"]


class ImportReportOut(BaseModel):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: list[RejectionOut]
    file_errors: list[str]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FILE_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file itself; its format is given by the `format` parameter",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/imports/{kind}",
    response_model=ImportReportOut,
    tags=["imports"],
    openapi_extra=_FILE_BODY,
)
async def import_file(
    kind: ImportKind,
    request: Request,
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
    format: FileFormat = Query(default="csv", description="csv, jsonl or xlsx"),
    encoding: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,29}$")] = Query(
        default="utf-8", description="the text encoding of a CSV or JSON Lines file"
    ),
) -> ImportReportOut:
    """Import a file sent as the request body; the report lists each rejected row."""
    _check_encoding(encoding)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload.{format}"
        with path.open("wb") as sink:
            async for chunk in request.stream():
                sink.write(chunk)
        try:
            report = await run_in_threadpool(
                importing.import_file, db, kind, path, format, f"api:{key.name}", encoding
            )
        except UnicodeError as error:  # a codec that fails other than by UnicodeDecodeError
            raise InvalidInput(f"the file cannot be read as {encoding}: {error}") from None
    refuse_unread_file(report.file_errors, report.created + report.updated + report.unchanged)
    return ImportReportOut(
        kind=report.kind,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=[RejectionOut(**r.as_dict()) for r in report.rejected],
        file_errors=report.file_errors,
    )


def _check_encoding(encoding: str) -> None:
    """A text codec that can decode with the importer's error handler, else a 422."""
    try:
        info = codecs.lookup(encoding)
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(encoding)
        codecs.getincrementaldecoder(encoding)(errors="surrogateescape").decode(b"", final=True)
    except (LookupError, UnicodeError, ValueError):
        raise InvalidInput(
            f"{encoding!r} is not a text encoding the importer can use",
            [Problem("query.encoding", "use utf-8, latin-1, cp1252 or another text encoding")],
        ) from None


@router.get(
    "/exports/products",
    tags=["imports"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the products, in the shape the importer reads back",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
def export_products(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    format: Literal["csv", "jsonl"] = Query(default="jsonl"),
) -> StreamingResponse:
    """Every product as CSV or JSON Lines, streamed."""
    media = "text/csv" if format == "csv" else "application/x-ndjson"

    def chunks() -> Iterator[bytes]:
        for text in exporting.export_products(db, format):
            yield text.encode()

    return StreamingResponse(chunks(), media_type=media)
