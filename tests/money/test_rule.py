"""Issue 21, finding 9: one rounding rule for money. The same amount rounds the same way on the
price list, on the order, on what a channel is sent and in analytics."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channelhub.connectors.square.mapping import to_money
from channelhub.core import money
from channelhub.core.money import Money, MoneyError, parse_money, round_money
from channelhub.insight.analytics import money as analytics_money
from channelhub.orders import service as orders
from channelhub.pricing import model as pricing
from channelhub.pricing.model import PriceContext, PriceEntry, Promotion, PromotionKind

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("22.445", "EUR", "22.45"),
        ("22.435", "EUR", "22.44"),
        ("-22.445", "EUR", "-22.45"),
        ("100.5", "JPY", "101"),
        ("1.2345", "KWD", "1.235"),
        ("22.444", "EUR", "22.44"),
    ],
)
def test_ties_round_half_up_to_the_currency_digits(
    amount: str, currency: str, rounded: str
) -> None:
    assert round_money(Decimal(amount), currency) == Decimal(rounded)
    assert str(Money.of(amount, currency).amount) == rounded


def test_every_context_books_22_445_as_22_45() -> None:
    """Before: pricing rounded half-up (2245), orders and Square half-to-even (2244)."""
    amount = Decimal("22.445")
    assert pricing.to_minor_units(amount, "EUR") == 2245
    assert orders.to_minor(amount, "EUR") == 2245
    assert to_money(amount, "EUR") == {"amount": 2245, "currency": "EUR"}
    assert pricing.round_to_currency(amount, "EUR") == Decimal("22.45")
    assert analytics_money(2245, "EUR") == orders.from_minor(2245, "EUR") == Decimal("22.45")


def test_a_promotions_22_445_is_22_45_on_the_price_list() -> None:
    """50% off 44.89 is 22.445: the price is rounded (to 22.45), not the discount (which
    rounded up to 22.45 left 22.44, a tie rounded down)."""
    entry = PriceEntry("MUG-1", "EUR", Decimal("44.89"))
    half = Promotion("HALF", PromotionKind.PERCENTAGE, Decimal(50))
    resolved = pricing.resolve_price(entry, PriceContext("MUG-1", "web", NOW), [half])
    assert resolved.effective_price == Decimal("22.45")
    assert resolved.applied[0].discount == Decimal("22.44")
    assert orders.to_minor(Decimal("22.445"), "EUR") == pricing.to_minor_units(
        resolved.effective_price, "EUR"
    )


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False),
    st.sampled_from(["EUR", "USD", "JPY", "KWD", "CLF", "GBP"]),
)
def test_all_contexts_agree_on_any_amount(amount: Decimal, currency: str) -> None:
    minor = money.to_minor(amount, currency)
    assert pricing.to_minor_units(amount, currency) == minor
    assert orders.to_minor(amount, currency) == minor
    assert to_money(amount, currency)["amount"] == minor
    assert money.from_minor(minor, currency) == round_money(amount, currency)
    assert (
        abs(round_money(amount, currency) - amount)
        <= Decimal(1).scaleb(-money.currency_digits(currency)) / 2
    )


@pytest.mark.parametrize(
    ("value", "currency", "reason"),
    [
        ("100.125", "JPY", "more decimals than JPY allows (0)"),
        ("100.5", "JPY", "more decimals than JPY allows (0)"),
        ("9.995", "EUR", "more decimals than EUR allows (2)"),
        ("-1", "EUR", "negative"),
        ("NaN", "EUR", "finite"),
        ("1e12", "EUR", "too large"),
        ("ten", "EUR", "not a number"),
        ("1", "XYZ", "not an ISO 4217 currency"),
    ],
)
def test_given_amounts_are_refused_not_rounded(value: str, currency: str, reason: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(reason)) as caught:
        parse_money(value, currency, "lines[0].unit_price")
    if "currency" not in reason:
        assert "lines[0].unit_price" in str(caught.value)


def test_given_amounts_with_the_currency_digits_are_kept() -> None:
    assert parse_money("100", "JPY") == Decimal(100)
    assert parse_money("9.90", "EUR") == Decimal("9.90")
    assert parse_money("1.235", "KWD") == Decimal("1.235")
