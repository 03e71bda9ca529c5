"""Prices, promotions and the one price-resolution function every channel, API and audit uses.

Pure: no I/O. Amounts are ``Decimal`` in one ISO 4217 currency, rounded to that currency's
digits (babel) by the hub's one money rule, ``channelhub.core.money`` (half-up). Times are
aware UTC; a period is half-open ``[starts, ends)``.

Resolution order:
1. the start price is the sale price when a sale is active at that time, else the base price;
2. the promotions that match (active, in period, channel, SKU, category subtree, segment, and
   for a fixed amount the same currency) are considered in priority order (highest first);
3. all stackable promotions are applied one after another (each on the running price), and each
   exclusive promotion is tried alone; the outcome with the lowest price wins, so an exclusive
   promotion never combines with anything;
4. the price never falls below zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import combinations

from channelhub.core import money

#: The largest amount the hub accepts, in major units (a trillion).
MAX_AMOUNT = money.MAX_AMOUNT
PRICE_LIST_CODE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
SEGMENT_CODE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
HUNDRED = Decimal(100)


class PromotionKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"


# --- money --------------------------------------------------------------------------------


def currency_digits(currency: str) -> int:
    """How many decimals ``currency`` has (2 for EUR, 0 for JPY, 3 for KWD)."""
    return money.currency_digits(currency)


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded to the digits of ``currency`` by the hub's one rule (half-up)."""
    return money.round_money(amount, currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The amount as an integer count of the currency's minor units (cents for EUR)."""
    return money.to_minor(amount, currency)


def from_minor_units(minor: int, currency: str) -> Decimal:
    return money.from_minor(minor, currency)


def parse_amount(text: str | Decimal | int, currency: str, what: str = "amount") -> Decimal:
    """A money amount checked for ``currency``: a number, not negative, not too large, and
    with no more decimals than the currency has. Raises ``ValueError`` with the reason."""
    return money.parse_money(text, currency, what)


def parse_percent(text: str | Decimal | int, what: str = "percentage") -> Decimal:
    """A percentage above 0 and at most 100, with at most two decimals (stored as hundredths)."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"{what} {str(text)[:40]!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value > HUNDRED:
        raise ValueError(f"{what} must be above 0 and at most 100")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{what} {value} has more than two decimals")
    return value.quantize(Decimal("0.01"))


def is_in_period(at: datetime, starts_at: datetime | None, ends_at: datetime | None) -> bool:
    """Whether ``at`` falls in the half-open period ``[starts_at, ends_at)``; None is open."""
    return (starts_at is None or starts_at <= at) and (ends_at is None or at < ends_at)


# --- prices and promotions ----------------------------------------------------------------


@dataclass(frozen=True)
class SalePrice:
    """A reduced price, valid in ``[starts_at, ends_at)`` (either end may be open)."""

    amount: Decimal
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def is_active(self, at: datetime) -> bool:
        return is_in_period(at, self.starts_at, self.ends_at)


@dataclass(frozen=True)
class PriceEntry:
    """One SKU's row in one price list (one channel, one currency)."""

    sku: str
    currency: str
    base_price: Decimal
    sale: SalePrice | None = None


@dataclass(frozen=True)
class Promotion:
    """A discount. Empty scopes match everything: a promotion with no SKUs, categories and
    channels applies to every price. ``value`` is a percentage or an amount in ``currency``."""

    code: str
    kind: PromotionKind
    value: Decimal
    name: str = ""
    currency: str | None = None
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    is_stackable: bool = False
    priority: int = 0
    applies_to_sale_items: bool = True
    is_active: bool = True


@dataclass(frozen=True)
class PriceContext:
    """Who asks for which SKU's price, where and when. ``category_paths`` are the materialized
    paths (``/home/kitchen/``) of the SKU's categories, its model's included."""

    sku: str
    channel: str
    at: datetime
    segment: str | None = None
    category_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppliedPromotion:
    code: str
    name: str
    kind: PromotionKind
    value: Decimal
    discount: Decimal
    price_after: Decimal


@dataclass(frozen=True)
class PassedOver:
    """A promotion that matched but was not applied, with the reason a person can read."""

    code: str
    reason: str


@dataclass(frozen=True)
class PriceResolution:
    """The effective price and how it came about: base, sale, promotions applied."""

    sku: str
    channel: str
    currency: str
    at: datetime
    segment: str | None
    base_price: Decimal
    sale_price: Decimal | None
    sale_ends_at: datetime | None
    applied: tuple[AppliedPromotion, ...]
    passed_over: tuple[PassedOver, ...]
    effective_price: Decimal

    @property
    def start_price(self) -> Decimal:
        return self.base_price if self.sale_price is None else self.sale_price

    @property
    def total_discount(self) -> Decimal:
        return self.base_price - self.effective_price


def is_in_category_subtree(paths: Iterable[str], category: str) -> bool:
    """Whether any of ``paths`` lies in the subtree of the category with code ``category``."""
    marker = f"/{category}/"
    return any(marker in path for path in paths)


def promotion_matches(promotion: Promotion, context: PriceContext, currency: str) -> bool:
    """Whether ``promotion`` concerns this SKU, channel, segment, time and currency."""
    if not promotion.is_active or not is_in_period(
        context.at, promotion.starts_at, promotion.ends_at
    ):
        return False
    if promotion.kind is PromotionKind.FIXED_AMOUNT and promotion.currency != currency:
        return False
    if promotion.channels and context.channel not in promotion.channels:
        return False
    if promotion.skus and context.sku not in promotion.skus:
        return False
    if promotion.categories and not any(
        is_in_category_subtree(context.category_paths, c) for c in promotion.categories
    ):
        return False
    return not promotion.segments or context.segment in promotion.segments


def _discount(promotion: Promotion, price: Decimal, currency: str) -> Decimal:
    if promotion.kind is PromotionKind.PERCENTAGE:
        # The price after the promotion is what is rounded (and shown, sent and booked), not
        # the discount: 50% off 44.89 is 22.445, which is 22.45 by the one rule; rounding
        # the discount instead would make it 22.44, a tie rounded down.
        after = round_to_currency(price * (HUNDRED - promotion.value) / HUNDRED, currency)
        amount = price - after
    else:
        amount = promotion.value
    return min(amount, price)


def _apply(
    promotions: Sequence[Promotion], price: Decimal, currency: str
) -> tuple[Decimal, tuple[AppliedPromotion, ...]]:
    applied = []
    for promotion in promotions:
        discount = _discount(promotion, price, currency)
        price -= discount
        applied.append(
            AppliedPromotion(
                promotion.code, promotion.name, promotion.kind, promotion.value, discount, price
            )
        )
    return price, tuple(applied)


def _by_priority(promotion: Promotion) -> tuple[int, str]:
    return (-promotion.priority, promotion.code)


def resolve_price(
    entry: PriceEntry, context: PriceContext, promotions: Iterable[Promotion]
) -> PriceResolution:
    """The effective price of ``entry`` in ``context``, with its breakdown (see module doc)."""
    currency = entry.currency
    base = round_to_currency(entry.base_price, currency)
    sale = entry.sale if entry.sale is not None and entry.sale.is_active(context.at) else None
    start = base if sale is None else min(round_to_currency(sale.amount, currency), base)
    matching = sorted(
        (p for p in promotions if promotion_matches(p, context, currency)), key=_by_priority
    )
    passed: list[PassedOver] = []
    usable: list[Promotion] = []
    for promotion in matching:
        if sale is not None and not promotion.applies_to_sale_items:
            passed.append(PassedOver(promotion.code, "does not apply to items on sale"))
        else:
            usable.append(promotion)

    # Candidate outcomes: every stackable promotion together, or one exclusive alone.
    stackable = [p for p in usable if p.is_stackable]
    outcomes: list[tuple[Decimal, int, tuple[Promotion, ...]]] = []
    if stackable:
        outcomes.append(
            (_apply(stackable, start, currency)[0], stackable[0].priority, tuple(stackable))
        )
    for promotion in usable:
        if not promotion.is_stackable:
            price = _apply([promotion], start, currency)[0]
            outcomes.append((price, promotion.priority, (promotion,)))
    chosen: tuple[Promotion, ...] = ()
    if outcomes:
        # Lowest price wins; on a tie the higher priority, then the first in order.
        best = min(range(len(outcomes)), key=lambda i: (outcomes[i][0], -outcomes[i][1], i))
        chosen = outcomes[best][2]
    final, applied = _apply(chosen, start, currency)
    chosen_codes = {p.code for p in chosen}
    exclusive_winner = chosen[0].code if len(chosen) == 1 and not chosen[0].is_stackable else None
    for promotion in usable:
        if promotion.code in chosen_codes:
            continue
        if exclusive_winner is not None:
            reason = f"exclusive promotion {exclusive_winner} gives the lower price"
        elif promotion.is_stackable:
            reason = "an exclusive promotion gives the lower price"
        else:
            reason = "exclusive; the other promotions give the lower price"
        passed.append(PassedOver(promotion.code, reason))
    return PriceResolution(
        sku=entry.sku,
        channel=context.channel,
        currency=currency,
        at=context.at,
        segment=context.segment,
        base_price=base,
        sale_price=start if sale is not None else None,
        sale_ends_at=sale.ends_at if sale is not None else None,
        applied=applied,
        passed_over=tuple(passed),
        effective_price=max(final, Decimal(0)),
    )


# --- parity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParityRule:
    """How far prices may differ: for one pair of channels, or for one channel against any
    other (``other_channel`` None). The allowance is the greater of ``max_percent`` (of the
    lower price) and ``max_amount`` (only for prices in ``currency``)."""

    channel: str
    other_channel: str | None = None
    max_percent: Decimal | None = None
    max_amount: Decimal | None = None
    currency: str | None = None

    def describe(self) -> str:
        scope = f"{self.channel}~{self.other_channel}" if self.other_channel else self.channel
        parts = []
        if self.max_percent is not None:
            parts.append(f"{self.max_percent}%")
        if self.max_amount is not None:
            parts.append(f"{self.max_amount} {self.currency}")
        return f"{scope}: {' or '.join(parts) or 'exact'}"

    def allowance(self, lower_price: Decimal, currency: str) -> Decimal:
        allowed = Decimal(0)
        if self.max_percent is not None:
            allowed = lower_price * self.max_percent / HUNDRED
        if self.max_amount is not None and self.currency == currency:
            allowed = max(allowed, self.max_amount)
        return round_to_currency(allowed, currency)


def allowed_difference(
    channel: str, other: str, lower_price: Decimal, currency: str, rules: Sequence[ParityRule]
) -> tuple[Decimal, ParityRule | None]:
    """The difference allowed between two channels' prices, and the rule that allows it.

    A rule for the pair wins; otherwise the more generous of the two channels' own rules;
    without any rule, prices must be equal."""
    pair = {channel, other}
    for rule in rules:
        if rule.other_channel is not None and {rule.channel, rule.other_channel} == pair:
            return rule.allowance(lower_price, currency), rule
    best: tuple[Decimal, ParityRule | None] = (Decimal(0), None)
    for rule in rules:
        if rule.other_channel is None and rule.channel in pair:
            allowed = rule.allowance(lower_price, currency)
            if best[1] is None or allowed > best[0]:
                best = (allowed, rule)
    return best


@dataclass(frozen=True)
class ParityBreak:
    """A SKU whose effective prices on two channels of one currency differ beyond the rules;
    ``price`` or ``other_price`` is None when one channel has no price for it."""

    sku: str
    currency: str
    channel: str
    price: Decimal | None
    other_channel: str
    other_price: Decimal | None
    difference: Decimal | None
    allowed: Decimal
    rule: str | None


@dataclass(frozen=True)
class ChannelPrice:
    channel: str
    currency: str
    price: Decimal | None


def find_parity_breaks(
    sku: str, prices: Sequence[ChannelPrice], rules: Sequence[ParityRule]
) -> list[ParityBreak]:
    """Every pair of channels (of the same currency) whose prices for ``sku`` differ beyond
    the rules, or where one channel has a price and the other has none."""
    found = []
    ordered = sorted(prices, key=lambda p: p.channel)
    for a, b in combinations(ordered, 2):
        if a.currency != b.currency or (a.price is None and b.price is None):
            continue
        if a.price is None or b.price is None:
            found.append(
                ParityBreak(
                    sku, a.currency, a.channel, a.price, b.channel, b.price, None, Decimal(0), None
                )
            )
            continue
        difference = abs(a.price - b.price)
        allowed, rule = allowed_difference(
            a.channel, b.channel, min(a.price, b.price), a.currency, rules
        )
        if difference > allowed:
            found.append(
                ParityBreak(
                    sku,
                    a.currency,
                    a.channel,
                    a.price,
                    b.channel,
                    b.price,
                    difference,
                    allowed,
                    rule.describe() if rule else None,
                )
            )
    return found
