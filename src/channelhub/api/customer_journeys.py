"""Customer journey routes: the 360° view and timeline, loyalty, consent, interactions,
preferences, carts across devices (and the till's pick-up), recommendations and segments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from channelhub.api.deps import Admin, Reader, Writer, get_db
from channelhub.api.inputs import JsonData, Text
from channelhub.api.pricing import ResolutionOut, resolution_out
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput, NotFound
from channelhub.customers.journeys import (
    carts,
    checkout,
    consent,
    feed,
    holds,
    interactions,
    loyalty,
    preferences,
    profiles,
    recommendations,
    segments,
    timeline,
)
from channelhub.customers.journeys.model import MAX_CART_QUANTITY, LoyaltyRule
from channelhub.orders.model import Customer, DeliveryMethod, PaymentStatus, PostalAddress

router = APIRouter(responses=AUTHENTICATED | errors(404, 409), tags=["customer journeys"])

MAX_ID = 2**53
ProfileId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a customer profile id")]
ChannelCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
LocationCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
Sku = Annotated[Text, Field(min_length=1, max_length=100)]
Token = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="the cart's token")]
SkuPath = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
Short = Annotated[Text, Field(max_length=200)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- 360° view ------------------------------------------------------------------------------


class TimelineEntryOut(Out):
    at: datetime
    kind: str
    channel: str | None
    summary: str
    reference: str
    details: dict[str, Any]


class ConsentStateOut(Out):
    purpose: consent.Purpose
    granted: bool
    source: str | None
    at: datetime | None


class PreferenceOut(Out):
    name: str
    value: Any
    source: str
    at: datetime


class SegmentsOut(Out):
    profile_id: int
    recency_days: int
    frequency: int
    monetary_minor: int
    currency: str
    recency_score: int
    frequency_score: int
    monetary_score: int
    rfm_segment: str
    channels: list[str]
    channel_mix: str
    favourite_category: str | None
    segments: list[str]
    computed_at: datetime


class CartLineOut(Out):
    sku: str
    quantity: int
    held: int
    hold_expires_at: datetime | None
    channel: str


class CartOut(Out):
    token: str
    profile_id: int | None
    channel: str
    last_channel: str
    location: str | None
    status: str
    currency: str
    order_id: int | None
    created_at: datetime
    updated_at: datetime
    lines: list[CartLineOut]


class CustomerViewOut(Out):
    profile_id: int
    profile_ids: list[int]
    golden: dict[str, Any]
    loyalty_balance: int
    consents: list[ConsentStateOut]
    preferences: dict[str, PreferenceOut]
    segments: SegmentsOut | None
    active_cart: CartOut | None
    orders: int
    timeline: list[TimelineEntryOut]


@router.get("/customers/{profile_id}/360", response_model=CustomerViewOut)
def customer_view(
    profile_id: ProfileId,
    limit: int = Query(default=200, ge=1, le=5000, description="timeline entries"),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> CustomerViewOut:
    """Everything about one customer from every channel, newest timeline entry first."""
    view = timeline.customer_view(db, profile_id)
    out = CustomerViewOut.model_validate(view)
    out.timeline = out.timeline[:limit]
    return out


@router.get("/customers/{profile_id}/timeline", response_model=list[TimelineEntryOut])
def customer_timeline(
    profile_id: ProfileId,
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,20}$")] | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[TimelineEntryOut]:
    """The customer's timeline (orders, returns, carts, loyalty, consents, preferences,
    notes, tickets, chats), newest first, optionally of one kind."""
    entries = timeline.customer_view(db, profile_id).timeline
    if kind is not None:
        entries = [e for e in entries if e.kind == kind]
    return [TimelineEntryOut.model_validate(e) for e in entries[:limit]]


# --- loyalty --------------------------------------------------------------------------------


class LedgerEntryOut(Out):
    id: int
    profile_id: int
    points: int
    kind: str
    channel: str | None
    source: str
    order_id: int | None
    note: str
    at: datetime


class LoyaltyOut(Out):
    profile_id: int
    balance: int
    earned: int
    spent: int
    entries: list[LedgerEntryOut]


@router.get("/customers/{profile_id}/loyalty", response_model=LoyaltyOut)
def loyalty_account(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> LoyaltyOut:
    """The points balance (the same in every channel) and the ledger."""
    return LoyaltyOut.model_validate(loyalty.account(db, profile_id))


class BurnIn(BaseModel):
    points: Annotated[int, Field(ge=1, le=loyalty.MAX_POINTS)]
    channel: ChannelCode
    reference: Annotated[Text, Field(min_length=1, max_length=150)] = Field(
        description="the receipt or request id: the same reference again is the same burn"
    )
    note: Annotated[Text, Field(max_length=500)] = ""


@router.post(
    "/customers/{profile_id}/loyalty/burn",
    response_model=LedgerEntryOut,
    status_code=status.HTTP_201_CREATED,
)
def burn_points(
    profile_id: ProfileId, body: BurnIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> LedgerEntryOut:
    """Spend points in any channel; 409 when the balance is lower than asked."""
    entry = loyalty.burn(db, profile_id, body.points, body.channel, body.reference, body.note)
    return LedgerEntryOut.model_validate(entry)


class AdjustIn(BaseModel):
    points: Annotated[int, Field(ge=-loyalty.MAX_POINTS, le=loyalty.MAX_POINTS)]
    reference: Annotated[Text, Field(min_length=1, max_length=150)]
    note: Annotated[Text, Field(min_length=1, max_length=500)]


@router.post(
    "/customers/{profile_id}/loyalty/adjustments",
    response_model=LedgerEntryOut,
    status_code=status.HTTP_201_CREATED,
)
def adjust_points(
    profile_id: ProfileId, body: AdjustIn, _: ApiKey = Admin, db: Database = Depends(get_db)
) -> LedgerEntryOut:
    """A person's correction of the balance, with the reason."""
    entry = loyalty.adjust(db, profile_id, body.points, body.reference, body.note)
    return LedgerEntryOut.model_validate(entry)


class RuleIn(BaseModel):
    points_per_unit: Annotated[Decimal, Field(ge=0, le=1000, decimal_places=3)] = Decimal(1)
    multiplier: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)] = Decimal(1)


class RuleOut(Out):
    channel: str
    points_per_unit: Decimal
    multiplier: Decimal


@router.get("/loyalty/rules", response_model=list[RuleOut])
def loyalty_rules(_: ApiKey = Reader, db: Database = Depends(get_db)) -> list[RuleOut]:
    """Points rules per channel ("*" for every channel without its own)."""
    return [RuleOut.model_validate(r) for r in loyalty.list_rules(db)]


@router.put("/loyalty/rules/{channel}", response_model=RuleOut)
def save_loyalty_rule(
    channel: Annotated[str, PathParam(pattern=r"^(\*|[a-z][a-z0-9_]{0,99})$")],
    body: RuleIn,
    _: ApiKey = Admin,
    db: Database = Depends(get_db),
) -> RuleOut:
    """Points per currency unit and a multiplier for orders of ``channel``."""
    rule = LoyaltyRule(channel, body.points_per_unit, body.multiplier)
    return RuleOut.model_validate(loyalty.save_rule(db, rule))


# --- consent --------------------------------------------------------------------------------


class ConsentEventOut(Out):
    id: int
    profile_id: int
    purpose: consent.Purpose
    granted: bool
    source: str
    note: str
    at: datetime


class ConsentsOut(BaseModel):
    current: list[ConsentStateOut]
    history: list[ConsentEventOut]


class ConsentIn(BaseModel):
    purpose: consent.Purpose
    granted: bool
    source: Annotated[Text, Field(min_length=1, max_length=100)] = Field(
        description="where it was given: a channel code, a form, a till"
    )
    note: Annotated[Text, Field(max_length=500)] = ""
    at: datetime | None = Field(default=None, description="when it was given (with offset)")


@router.get("/customers/{profile_id}/consents", response_model=ConsentsOut)
def get_consents(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> ConsentsOut:
    """The current answer per purpose, and every grant and withdrawal."""
    current, history = consent.consents(db, profile_id)
    return ConsentsOut(
        current=[ConsentStateOut.model_validate(s) for s in current],
        history=[ConsentEventOut.model_validate(e) for e in history],
    )


@router.post(
    "/customers/{profile_id}/consents",
    response_model=ConsentEventOut,
    status_code=status.HTTP_201_CREATED,
)
def record_consent(
    profile_id: ProfileId, body: ConsentIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> ConsentEventOut:
    """Record a grant or a withdrawal; the history keeps both."""
    event = consent.record_consent(
        db, profile_id, body.purpose, body.granted, body.source, body.note, body.at
    )
    return ConsentEventOut.model_validate(event)


# --- interactions and preferences -----------------------------------------------------------


class InteractionIn(BaseModel):
    kind: interactions.InteractionKind
    channel: Annotated[Text, Field(min_length=1, max_length=100)]
    subject: Short = ""
    body: Annotated[Text, Field(min_length=1, max_length=interactions.MAX_BODY)]
    author: Annotated[Text, Field(min_length=1, max_length=200)]


class InteractionOut(Out):
    id: int
    profile_id: int
    kind: interactions.InteractionKind
    channel: str
    subject: str
    body: str
    status: interactions.InteractionStatus
    author: str
    created_at: datetime
    updated_at: datetime


@router.get("/customers/{profile_id}/interactions", response_model=list[InteractionOut])
def list_interactions(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[InteractionOut]:
    return [
        InteractionOut.model_validate(i) for i in interactions.list_interactions(db, profile_id)
    ]


@router.post(
    "/customers/{profile_id}/interactions",
    response_model=InteractionOut,
    status_code=status.HTTP_201_CREATED,
)
def log_interaction(
    profile_id: ProfileId, body: InteractionIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> InteractionOut:
    """Log a note, or open a ticket or a chat, from any channel or desk."""
    found = interactions.log_interaction(
        db, profile_id, body.kind, body.channel, body.subject, body.body, body.author
    )
    return InteractionOut.model_validate(found)


@router.post(
    "/customers/{profile_id}/interactions/{interaction_id}/close", response_model=InteractionOut
)
def close_interaction(
    profile_id: ProfileId,
    interaction_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> InteractionOut:
    found = interactions.close_interaction(db, profile_id, interaction_id)
    return InteractionOut.model_validate(found)


class PreferenceIn(BaseModel):
    value: JsonData
    source: Annotated[Text, Field(min_length=1, max_length=100)]


PreferenceName = Annotated[str, PathParam(pattern=preferences.NAME.pattern)]


@router.get("/customers/{profile_id}/preferences", response_model=dict[str, PreferenceOut])
def get_preferences(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> dict[str, PreferenceOut]:
    found = preferences.list_preferences(db, profile_id)
    return {name: PreferenceOut.model_validate(p) for name, p in found.items()}


@router.put("/customers/{profile_id}/preferences/{name}", response_model=PreferenceOut)
def set_preference(
    profile_id: ProfileId,
    name: PreferenceName,
    body: PreferenceIn,
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> PreferenceOut:
    """Sizes (``size.shirt``), ``favourite_store``, ``favourite_channel``, or others."""
    found = preferences.set_preference(db, profile_id, name, body.value, body.source)
    return PreferenceOut.model_validate(found)


@router.delete("/customers/{profile_id}/preferences/{name}", status_code=204)
def delete_preference(
    profile_id: ProfileId, name: PreferenceName, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> None:
    preferences.delete_preference(db, profile_id, name)


# --- carts ----------------------------------------------------------------------------------


class OpenCartIn(BaseModel):
    channel: ChannelCode
    profile_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="the signed-in customer; omit for an anonymous cart"
    )


@router.post("/carts", response_model=CartOut)
def open_cart(body: OpenCartIn, _: ApiKey = Writer, db: Database = Depends(get_db)) -> CartOut:
    """The customer's active cart, whichever device or channel started it, or a new one
    (always new when anonymous)."""
    return CartOut.model_validate(carts.open_cart(db, body.channel, body.profile_id))


@router.get("/carts/{token}", response_model=CartOut)
def get_cart(token: Token, _: ApiKey = Reader, db: Database = Depends(get_db)) -> CartOut:
    return CartOut.model_validate(carts.get_cart(db, token))


@router.get("/customers/{profile_id}/cart", response_model=CartOut)
def customer_cart(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> CartOut:
    """The customer's active cart (404 when they have none)."""
    found = carts.active_cart(db, profile_id)
    if found is None:
        raise NotFound(f"customer {profile_id} has no active cart")
    return CartOut.model_validate(found)


class LineIn(BaseModel):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_CART_QUANTITY)]
    channel: ChannelCode
    hold: bool = Field(default=True, description="hold the units in stock (they expire)")


class QuantityIn(BaseModel):
    quantity: Annotated[int, Field(ge=0, le=MAX_CART_QUANTITY)]
    channel: ChannelCode
    hold: bool = True


@router.post("/carts/{token}/lines", response_model=CartOut)
def add_line(
    token: Token, body: LineIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> CartOut:
    """Add units to the cart; 409 when they cannot be held."""
    cart = carts.add_line(db, token, body.sku, body.quantity, body.channel, body.hold)
    return CartOut.model_validate(cart)


@router.put("/carts/{token}/lines/{sku}", response_model=CartOut)
def set_line(
    token: Token, sku: SkuPath, body: QuantityIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> CartOut:
    """Set a line's quantity (0 removes it)."""
    cart = carts.set_line(db, token, sku, body.quantity, body.channel, body.hold)
    return CartOut.model_validate(cart)


@router.delete("/carts/{token}/lines/{sku}", response_model=CartOut)
def remove_line(
    token: Token,
    sku: SkuPath,
    channel: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,99}$")],
    _: ApiKey = Writer,
    db: Database = Depends(get_db),
) -> CartOut:
    return CartOut.model_validate(carts.remove_line(db, token, sku, channel))


class SignInIn(BaseModel):
    profile_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    channel: ChannelCode


@router.post("/carts/{token}/sign-in", response_model=CartOut)
def sign_in(
    token: Token, body: SignInIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> CartOut:
    """The anonymous shopper signed in: the cart becomes theirs, or merges into their active
    cart (quantities summed). The answer is the cart to use from now on."""
    return CartOut.model_validate(carts.sign_in(db, token, body.profile_id, body.channel))


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


class CheckoutIn(BaseModel):
    channel: ChannelCode
    delivery_method: DeliveryMethod = DeliveryMethod.SHIP
    pickup_location: LocationCode | None = None
    customer: CustomerIn | None = None
    shipping_address: AddressIn = Field(default_factory=AddressIn)
    payment_status: PaymentStatus = PaymentStatus.PENDING


class CheckoutOut(BaseModel):
    order_id: int
    order_status: str
    total: Decimal
    cart: CartOut


@router.post("/carts/{token}/checkout", response_model=CheckoutOut, responses=errors(422))
def checkout_cart(
    token: Token, body: CheckoutIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> CheckoutOut:
    """Turn the cart into an order through the order pipeline, at the customer's price."""
    request = checkout.CheckoutRequest(
        channel=body.channel,
        delivery_method=body.delivery_method,
        pickup_location=body.pickup_location,
        customer=Customer(**body.customer.model_dump()) if body.customer else None,
        shipping_address=PostalAddress(**body.shipping_address.model_dump()),
        payment_status=body.payment_status,
    )
    result = checkout.checkout(db, token, request)
    return CheckoutOut(
        order_id=result.order_id,
        order_status=result.order_status,
        total=result.total,
        cart=CartOut.model_validate(result.cart),
    )


@router.post("/carts/holds/expire", response_model=dict[str, int])
def expire_holds(_: ApiKey = Admin, db: Database = Depends(get_db)) -> dict[str, int]:
    """Release every cart hold whose time is up."""
    return {"released": holds.expire_holds(db)}


# --- the till -------------------------------------------------------------------------------


class PosCustomerOut(BaseModel):
    profile_id: int
    name: str
    loyalty_balance: int
    cart: CartOut | None


@router.get("/pos/customers", response_model=PosCustomerOut)
def pos_find_customer(
    email: Annotated[Text, Query(max_length=320)] | None = None,
    phone: Annotated[Text, Query(max_length=40)] | None = None,
    loyalty_card: Annotated[Text, Query(max_length=100)] | None = None,
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> PosCustomerOut:
    """The till looks a customer up by e-mail, phone or loyalty card: their points and the
    cart they started in the app or on the web."""
    given = [(k, v) for k, v in (("email", email), ("phone", phone),
                                 ("loyalty_card", loyalty_card)) if v]  # fmt: skip
    if len(given) != 1:
        raise InvalidInput("look up by exactly one of email, phone, loyalty_card")
    kind, value = given[0]
    with db.read() as conn:
        found = profiles.find(conn, kind, value)
    if found is None:
        raise NotFound(f"no customer has {kind} {value}")
    view = timeline.customer_view(db, found)

    def golden(name: str) -> str:
        entry = view.golden.get(name) or {}
        return str(entry.get("value") or "") if isinstance(entry, dict) else ""

    name = " ".join(v for v in (golden("first_name"), golden("last_name")) if v)
    cart = CartOut.model_validate(view.active_cart) if view.active_cart else None
    return PosCustomerOut(
        profile_id=view.profile_id, name=name, loyalty_balance=view.loyalty_balance, cart=cart
    )


class PickUpIn(BaseModel):
    store: LocationCode
    channel: ChannelCode = Field(description="the till's channel")


@router.post("/pos/carts/{token}/pick-up", response_model=CartOut)
def pos_pick_up(
    token: Token, body: PickUpIn, _: ApiKey = Writer, db: Database = Depends(get_db)
) -> CartOut:
    """A store's till takes over the customer's cart; check it out with delivery_method
    in_store to sell it at the counter."""
    return CartOut.model_validate(carts.pick_up(db, token, body.store, body.channel))


# --- recommendations and segments -----------------------------------------------------------


class SuggestionOut(Out):
    sku: str
    score: int


class ProductRecommendationsOut(Out):
    sku: str
    bought_together: list[SuggestionOut]
    also_bought: list[SuggestionOut]


class CustomerRecommendationsOut(Out):
    profile_id: int
    personalised: bool
    for_you: list[SuggestionOut]
    favourite_store: str | None
    popular_in_store: list[SuggestionOut]


Limit = Annotated[int, Query(ge=1, le=recommendations.MAX_LIMIT)]


@router.get("/recommendations/products/{sku}", response_model=ProductRecommendationsOut)
def recommend_for_product(
    sku: SkuPath, limit: Limit = 10, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> ProductRecommendationsOut:
    """Bought together (same order) and also bought (same customers), from every channel."""
    found = recommendations.for_product(db, sku, limit)
    return ProductRecommendationsOut.model_validate(found)


@router.get("/recommendations/customers/{profile_id}", response_model=CustomerRecommendationsOut)
def recommend_for_customer(
    profile_id: ProfileId, limit: Limit = 10, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> CustomerRecommendationsOut:
    """Products for the customer from what they bought, and best sellers of their favourite
    store."""
    found = recommendations.for_customer(db, profile_id, limit)
    return CustomerRecommendationsOut.model_validate(found)


@router.post("/recommendations/refresh", response_model=dict[str, int])
def refresh(_: ApiKey = Admin, db: Database = Depends(get_db)) -> dict[str, int]:
    """Read the order events not yet counted (the worker does this continuously)."""
    return {"events": feed.catch_up(db)}


@router.post("/segments/compute", response_model=dict[str, int])
def compute_segments(_: ApiKey = Admin, db: Database = Depends(get_db)) -> dict[str, int]:
    """Score every customer (RFM, channel mix, favourite category) and store the segments."""
    return {"customers": segments.compute_segments(db)}


@router.get("/segments/{code}/customers", response_model=list[int])
def segment_members(
    code: Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,99}$")],
    limit: int = Query(default=1000, ge=1, le=10_000),
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> list[int]:
    """The profile ids in a segment."""
    return segments.members_of(db, code, limit)


@router.get("/customers/{profile_id}/segments", response_model=SegmentsOut)
def customer_segments(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> SegmentsOut:
    return SegmentsOut.model_validate(segments.segments_of(db, profile_id))


@router.get("/customers/{profile_id}/prices/{sku}", response_model=ResolutionOut)
def customer_price(
    profile_id: ProfileId,
    sku: SkuPath,
    channel: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,99}$")],
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
) -> ResolutionOut:
    """The customer's price of ``sku`` on ``channel``: the best of the public price and the
    prices of the segments they are in (segment promotions)."""
    return resolution_out(segments.price_for_customer(db, profile_id, sku, channel))
