"""Order routes: import (idempotent by channel and external id), list, show, transitions,
shipments, cancellation, returns and backorder retries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, Field

from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, Problem
from channelhub.orders import fulfilment, service
from channelhub.orders.model import (
    Customer,
    DeliveryMethod,
    LineInput,
    OrderInput,
    OrderStatus,
    PaymentStatus,
    PostalAddress,
    ReturnCondition,
    amount_precision_problems,
)

# Stock and order routes may name a missing channel, location, SKU or order (404) or
# meet a state that refuses the step (409).
router = APIRouter(responses=AUTHENTICATED | errors(404, 409), tags=["orders"])

MAX_INT = 2**31 - 1


def _no_control(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_control)]
Short = Annotated[Text, Field(max_length=200)]
ChannelCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
LocationCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), max_digits=18, decimal_places=6)]
OrderId = Annotated[int, PathParam(ge=1, le=MAX_INT)]


class CustomerIn(BaseModel):
    email: Short = ""
    name: Short = ""
    phone: Annotated[Text, Field(max_length=40)] = ""


class AddressIn(BaseModel):
    name: Short = ""
    line1: Short = ""
    line2: Short = ""
    postal_code: Annotated[Text, Field(max_length=20)] = ""
    city: Annotated[Text, Field(max_length=100)] = ""
    country: Annotated[Text, Field(max_length=2)] = ""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class LineIn(BaseModel):
    sku: Annotated[Text, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price: Money
    discount: Money = Decimal(0)
    tax: Money = Decimal(0)
    external_line_id: Annotated[Text, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="the channel's own id of the line"
    )


class OrderIn(BaseModel):
    channel: ChannelCode
    external_id: Annotated[Text, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]
    customer: CustomerIn = Field(default_factory=CustomerIn)
    billing_address: AddressIn = Field(default_factory=AddressIn)
    shipping_address: AddressIn = Field(default_factory=AddressIn)
    delivery_method: DeliveryMethod = DeliveryMethod.SHIP
    pickup_location: LocationCode | None = None
    payment_status: PaymentStatus = PaymentStatus.PENDING
    placed_at: datetime | None = None
    cancelled: bool = False

    def to_input(self) -> OrderInput:
        placed = self.placed_at
        if placed is not None and placed.tzinfo is None:
            placed = None  # a time without a zone cannot be placed; the hub stamps its own
        return OrderInput(
            channel=self.channel,
            external_id=self.external_id,
            currency=self.currency,
            lines=tuple(
                LineInput(
                    line.sku,
                    line.quantity,
                    line.unit_price,
                    line.discount,
                    line.tax,
                    line.external_line_id,
                )
                for line in self.lines
            ),
            customer=Customer(**self.customer.model_dump()),
            billing_address=PostalAddress(**self.billing_address.model_dump()),
            shipping_address=PostalAddress(**self.shipping_address.model_dump()),
            delivery_method=self.delivery_method,
            pickup_location=self.pickup_location,
            payment_status=self.payment_status,
            placed_at=placed,
            cancelled=self.cancelled,
        )


def _refuse_rounding(order: OrderInput, prefix: str = "") -> None:
    """A 422 naming each amount with more decimals than the currency has: an amount given
    here is booked as given, never rounded silently (see docs/money.md)."""
    found = amount_precision_problems(order)
    if found:
        raise InvalidInput(
            f"order {order.external_id!r} has amounts {order.currency} cannot hold",
            [Problem(prefix + where, why) for where, why in found],
        )


class ProblemOut(BaseModel):
    location: str
    message: str


class ImportOut(BaseModel):
    external_id: str
    outcome: str
    order_id: int | None
    status: str | None
    problems: list[ProblemOut]


def _import_out(result: service.ImportResult) -> ImportOut:
    return ImportOut(**result.as_dict())


@router.post("/orders", response_model=ImportOut, status_code=status.HTTP_201_CREATED)
def import_order(
    body: OrderIn, response: Response, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> ImportOut:
    """Import one channel order. The same (channel, external id) again updates it or, when
    nothing changed, returns it unchanged (200), so a retried call is harmless. A line whose
    SKU the catalog does not know is a 422 naming it."""
    order = body.to_input()
    _refuse_rounding(order)
    result = service.import_order(db, order, actor="api", refuse_unknown_skus=True)
    if result.outcome != "created":
        response.status_code = status.HTTP_200_OK
    return _import_out(result)


@router.post("/orders/batch", response_model=list[ImportOut])
def import_orders(
    body: Annotated[list[OrderIn], Field(min_length=1, max_length=500)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> list[ImportOut]:
    """Import many orders; each reports its own outcome (created, updated, unchanged, rejected)."""
    orders = [o.to_input() for o in body]
    for i, order in enumerate(orders):
        _refuse_rounding(order, f"[{i}].")
    results = service.import_orders(db, orders, actor="api", refuse_unknown_skus=True)
    return [_import_out(r) for r in results]


class LineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    shipped: int
    returned: int
    cancelled: int
    external_line_id: str | None = None


class ReservationOut(BaseModel):
    line_no: int
    sku: str
    location: str
    quantity: int


class HistoryOut(BaseModel):
    from_status: str | None
    to_status: str
    note: str
    actor: str
    at: datetime


class OrderOut(BaseModel):
    id: int
    channel: str
    external_id: str
    status: OrderStatus
    delivery_method: DeliveryMethod
    pickup_location: str | None
    payment_status: str
    currency: str
    total: Decimal
    refunded: Decimal
    customer: dict[str, Any]
    billing_address: dict[str, Any]
    shipping_address: dict[str, Any]
    flagged: str | None
    placed_at: datetime
    lines: list[LineOut]
    reservations: list[ReservationOut]
    history: list[HistoryOut]
    shipments: list[dict[str, Any]]
    returns: list[dict[str, Any]]


def _order_out(view: service.OrderView) -> OrderOut:
    data = vars(view).copy()
    data["lines"] = [LineOut(**{k: v for k, v in vars(x).items() if k != "id"}) for x in view.lines]
    data["reservations"] = [ReservationOut(**vars(r)) for r in view.reservations]
    data["history"] = [HistoryOut(**vars(h)) for h in view.history]
    return OrderOut(**data)


class OrderSummary(BaseModel):
    id: int
    channel: str
    external_id: str
    status: OrderStatus
    delivery_method: DeliveryMethod
    payment_status: str
    currency: str
    total: Decimal
    flagged: str | None
    placed_at: datetime


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None


@router.get("/orders", response_model=OrderPage)
def list_orders(
    channel: ChannelCode | None = None,
    status_: OrderStatus | None = Query(default=None, alias="status"),
    cursor: Annotated[str, Field(max_length=200)] | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> OrderPage:
    views, next_cursor = service.list_orders(db, channel, status_, cursor, limit)
    return OrderPage(
        items=[
            OrderSummary(**{k: getattr(v, k) for k in OrderSummary.model_fields}) for v in views
        ],
        next_cursor=next_cursor,
    )


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: OrderId, _: ApiKey = Reader, db: Database = Depends(get_db)) -> OrderOut:
    """An order with its lines, reservations, timeline, shipments and returns."""
    return _order_out(service.get_order(db, order_id))


@router.get("/channels/{code}/orders/{external_id}", response_model=OrderOut)
def find_order(
    code: Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,99}$")],
    external_id: Annotated[str, PathParam(min_length=1, max_length=200, pattern=r"^[^\x00]+$")],
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> OrderOut:
    """An order by the id its channel gave it."""
    return _order_out(service.find_order(db, code, external_id))


class TransitionIn(BaseModel):
    status: OrderStatus
    note: Annotated[Text, Field(max_length=500)] = ""


@router.post("/orders/{order_id}/transitions", response_model=OrderOut)
def transition(
    order_id: OrderId, body: TransitionIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> OrderOut:
    """Move to picking, ready_for_pickup, delivered or collected (409 if not allowed now)."""
    return _order_out(fulfilment.transition(db, order_id, body.status, "api", body.note))


class ShipmentIn(BaseModel):
    items: (
        Annotated[dict[int, Annotated[int, Field(ge=1, le=100_000)]], Field(max_length=1000)] | None
    ) = Field(default=None, description="line number -> units; omit to ship everything reserved")
    location: LocationCode | None = None
    tracking: Short = ""


@router.post("/orders/{order_id}/shipments", response_model=OrderOut)
def ship(
    order_id: OrderId, body: ShipmentIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> OrderOut:
    """Ship reserved units (all, or some for a partial shipment); they leave stock."""
    return _order_out(
        fulfilment.ship(db, order_id, "api", body.items, body.location, body.tracking)
    )


class CancelIn(BaseModel):
    reason: Annotated[Text, Field(max_length=500)] = ""


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel(
    order_id: OrderId, body: CancelIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> OrderOut:
    """Cancel what has not left yet; reserved units go back to stock."""
    return _order_out(fulfilment.cancel(db, order_id, "api", body.reason))


class ReturnItemIn(BaseModel):
    line_no: Annotated[int, Field(ge=1, le=100_000)]
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    condition: ReturnCondition = ReturnCondition.RESELLABLE


class ReturnIn(BaseModel):
    location: LocationCode
    items: Annotated[list[ReturnItemIn], Field(min_length=1, max_length=1000)]
    refund: Money | None = None
    reason: Annotated[Text, Field(max_length=500)] = ""
    damaged_location: LocationCode | None = None


@router.post("/orders/{order_id}/returns", response_model=OrderOut)
def return_items(
    order_id: OrderId, body: ReturnIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> OrderOut:
    """Take goods back at any location that accepts returns, whichever channel sold them."""
    items = [fulfilment.ReturnItem(i.line_no, i.quantity, i.condition) for i in body.items]
    view = fulfilment.return_items(
        db, order_id, body.location, items, "api", body.refund, body.reason, body.damaged_location
    )
    return _order_out(view)


@router.post("/orders/backorders/retry", response_model=dict[str, int])
def retry_backorders(
    channel: ChannelCode | None = None, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> dict[str, int]:
    """Try again to reserve backordered orders, oldest first."""
    return {"reserved": service.retry_backorders(db, "api", channel)}
