"""POS routes: what a store's till calls. Look a product up by SKU or GTIN with its stock at
every location; record a sale or a return (of any channel's order) once per key.

Customer and cart lookup at the till belong to the customers router (``/api/v1/customers``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, Field

from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.orders.model import Customer, ReturnCondition
from channelhub.pos import lookup, service
from channelhub.pos.idempotency import Recorded
from channelhub.pos.model import ReturnLine, Sale, SaleLine, TillReturn

router = APIRouter(prefix="/pos", responses=AUTHENTICATED | errors(404, 409), tags=["pos"])


def _no_control(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_control)]
Short = Annotated[Text, Field(max_length=200)]
Key = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]
StoreCode = Annotated[
    str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,99}$", description="the store's channel code")
]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), max_digits=18, decimal_places=6)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")
]


# --- lookup -------------------------------------------------------------------------------


class LocationStockOut(BaseModel):
    location: str
    name: str
    kind: str
    on_hand: int
    reserved: int
    available: int = Field(description="on hand minus reserved minus safety stock, at least 0")
    is_this_store: bool


class ProductLookupOut(BaseModel):
    sku: str
    title: str
    gtin: str | None
    image: str | None
    price: Decimal | None = Field(description="the effective price on the store's channel")
    currency: str
    stock: list[LocationStockOut] = Field(description="this store first, then most available")


@router.get("/stores/{store}/products/{code}", response_model=ProductLookupOut)
def lookup_product(
    store: StoreCode,
    code: Annotated[str, PathParam(min_length=1, max_length=100, description="SKU or GTIN")],
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> ProductLookupOut:
    """A product by SKU or GTIN, its title and price on the store's channel, an image, and its
    stock at every location: "we have 2 in store X"."""
    found = lookup.lookup_product(db, store, code)
    return ProductLookupOut(
        sku=found.sku,
        title=found.title,
        gtin=found.gtin,
        image=found.image,
        price=found.price,
        currency=found.currency,
        stock=[LocationStockOut(**vars(s)) for s in found.stock],
    )


# --- sales --------------------------------------------------------------------------------


class CustomerIn(BaseModel):
    email: Short = ""
    name: Short = ""
    phone: Annotated[Text, Field(max_length=40)] = ""


class SaleLineIn(BaseModel):
    sku: Annotated[Text, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price: Money | None = Field(
        default=None, description="what was charged per unit; omitted: the channel's price"
    )
    discount: Money = Decimal(0)
    tax: Money = Decimal(0)


class SaleIn(BaseModel):
    transaction_id: Key | None = Field(
        default=None, description="the till's transaction id; becomes the order number"
    )
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=1000)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    customer: CustomerIn = Field(default_factory=CustomerIn)
    placed_at: datetime | None = None
    accept_short: bool = Field(
        default=False,
        description="record the sale even if the shelf lacks unreserved units (the goods "
        "already left, e.g. an offline till catching up); it is flagged",
    )

    def to_sale(self) -> Sale:
        placed = self.placed_at if self.placed_at and self.placed_at.tzinfo else None
        return Sale(
            lines=tuple(
                SaleLine(line.sku, line.quantity, line.unit_price, line.discount, line.tax)
                for line in self.lines
            ),
            transaction_id=self.transaction_id,
            currency=self.currency,
            customer=Customer(**self.customer.model_dump()),
            placed_at=placed,
            accept_short=self.accept_short,
        )


class SaleLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax: Decimal


class SaleOut(BaseModel):
    store: str
    location: str
    transaction_id: str
    order_id: int
    status: str
    currency: str
    total: Decimal
    lines: list[SaleLineOut]
    warnings: list[str]


def _answer(recorded: Recorded, response: Response) -> None:
    response.status_code = recorded.status_code
    if recorded.replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.post(
    "/stores/{store}/sales", response_model=SaleOut, status_code=201, responses=errors(422)
)
def record_sale(
    store: StoreCode,
    body: SaleIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> SaleOut:
    """Record a till sale: an order of the store's channel, collected at once, its units taken
    from the store's shelf. Send the till's transaction id and/or an Idempotency-Key: a replay
    returns the same answer (with `Idempotent-Replayed: true`); another body under the same
    key is a 409. The last unit goes to one of the till and an online order: 409 when an
    order holds it, unless `accept_short`."""
    recorded = service.record_sale(
        db, store, body.to_sale(), idempotency_key, actor=f"pos:{key.name}"
    )
    _answer(recorded, response)
    return SaleOut.model_validate(recorded.body)


# --- returns ------------------------------------------------------------------------------


class ReturnLineIn(BaseModel):
    sku: Annotated[Text, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    condition: ReturnCondition = ReturnCondition.RESELLABLE


class ReturnIn(BaseModel):
    order_number: Annotated[Text, Field(min_length=1, max_length=200)] = Field(
        description="the number the selling channel gave the order"
    )
    channel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")] | None = Field(
        default=None, description="the selling channel, when the number alone is ambiguous"
    )
    return_id: Key | None = Field(default=None, description="the till's id of this return")
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=1000)]
    reason: Annotated[Text, Field(max_length=400)] = ""
    refund: Money | None = Field(
        default=None, description="the amount refunded; omitted: what the units were paid"
    )

    def to_return(self) -> TillReturn:
        return TillReturn(
            order_number=self.order_number,
            lines=tuple(ReturnLine(line.sku, line.quantity, line.condition) for line in self.lines),
            channel=self.channel,
            return_id=self.return_id,
            reason=self.reason,
            refund=self.refund,
        )


class ReturnedOrderOut(BaseModel):
    id: int
    channel: str
    number: str
    status: str
    payment_status: str


class ReturnedLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    condition: str
    restocked_at: str


class ReturnOut(BaseModel):
    store: str
    location: str
    return_id: str
    order: ReturnedOrderOut
    lines: list[ReturnedLineOut]
    refund: Decimal
    currency: str


@router.post(
    "/stores/{store}/returns", response_model=ReturnOut, status_code=201, responses=errors(422)
)
def record_return(
    store: StoreCode,
    body: ReturnIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    key: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> ReturnOut:
    """Take goods back at the store, from an order of any channel (webshop, marketplace, this
    or another store) found by its number: the units go onto this store's shelf and the order
    records its return and refund. Idempotent like sales (`return_id` and/or Idempotency-Key)."""
    recorded = service.record_return(
        db, store, body.to_return(), idempotency_key, actor=f"pos:{key.name}"
    )
    _answer(recorded, response)
    return ReturnOut.model_validate(recorded.body)
