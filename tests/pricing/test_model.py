"""Price resolution and parity, pure: rounding, sales, promotion stacking, never negative."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channelhub.pricing.model import (
    ChannelPrice,
    ParityRule,
    PriceContext,
    PriceEntry,
    Promotion,
    PromotionKind,
    SalePrice,
    find_parity_breaks,
    parse_amount,
    resolve_price,
    round_to_currency,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
D = Decimal


def context(**kwargs: object) -> PriceContext:
    values: dict[str, object] = {"sku": "MUG-1", "channel": "web", "at": NOW}
    values.update(kwargs)
    return PriceContext(**values)  # type: ignore[arg-type]


def pct(code: str, value: str, **kwargs: object) -> Promotion:
    return Promotion(code, PromotionKind.PERCENTAGE, D(value), **kwargs)  # type: ignore[arg-type]


def fixed(code: str, value: str, currency: str = "EUR", **kwargs: object) -> Promotion:
    return Promotion(code, PromotionKind.FIXED_AMOUNT, D(value), currency=currency, **kwargs)  # type: ignore[arg-type]


ENTRY = PriceEntry("MUG-1", "EUR", D("20.00"))


def test_base_price_without_sale_or_promotion() -> None:
    r = resolve_price(ENTRY, context(), [])
    assert r.effective_price == D("20.00")
    assert r.sale_price is None and r.applied == ()


def test_sale_price_applies_only_inside_its_half_open_period() -> None:
    sale = SalePrice(D("15.00"), NOW, NOW + timedelta(days=1))
    entry = PriceEntry("MUG-1", "EUR", D("20.00"), sale)
    assert resolve_price(entry, context(at=NOW), []).effective_price == D("15.00")
    assert resolve_price(entry, context(at=NOW - timedelta(seconds=1)), []).sale_price is None
    assert resolve_price(entry, context(at=NOW + timedelta(days=1)), []).sale_price is None


def test_promotion_applies_on_top_of_sale_unless_it_excludes_sale_items() -> None:
    entry = PriceEntry("MUG-1", "EUR", D("20.00"), SalePrice(D("16.00")))
    r = resolve_price(entry, context(), [pct("ten", "10")])
    assert r.effective_price == D("14.40")
    assert [(a.code, a.discount) for a in r.applied] == [("ten", D("1.60"))]
    r = resolve_price(entry, context(), [pct("ten", "10", applies_to_sale_items=False)])
    assert r.effective_price == D("16.00")
    assert r.passed_over[0].reason == "does not apply to items on sale"


def test_scope_by_sku_category_subtree_channel_and_segment() -> None:
    paths = ("/home/kitchen/",)
    assert resolve_price(
        ENTRY, context(category_paths=paths), [pct("p", "10", categories=frozenset({"home"}))]
    ).applied
    assert not resolve_price(
        ENTRY, context(category_paths=paths), [pct("p", "10", categories=frozenset({"apparel"}))]
    ).applied
    assert not resolve_price(
        ENTRY, context(), [pct("p", "10", channels=frozenset({"bol"}))]
    ).applied
    assert not resolve_price(ENTRY, context(), [pct("p", "10", skus=frozenset({"OTHER"}))]).applied
    vip = pct("p", "10", segments=frozenset({"vip"}))
    assert not resolve_price(ENTRY, context(), [vip]).applied
    assert resolve_price(ENTRY, context(segment="vip"), [vip]).applied


def test_fixed_amount_only_in_its_currency() -> None:
    assert not resolve_price(ENTRY, context(), [fixed("f", "5", "USD")]).applied
    assert resolve_price(ENTRY, context(), [fixed("f", "5")]).effective_price == D("15.00")


def test_exclusive_promotions_never_combine_the_best_one_wins() -> None:
    r = resolve_price(ENTRY, context(), [pct("a", "10"), pct("b", "25"), fixed("c", "3")])
    assert [a.code for a in r.applied] == ["b"]
    assert r.effective_price == D("15.00")
    assert {p.code for p in r.passed_over} == {"a", "c"}


def test_stackable_promotions_compound_and_compete_with_exclusives() -> None:
    stack = [pct("s1", "10", is_stackable=True), fixed("s2", "2", is_stackable=True)]
    r = resolve_price(ENTRY, context(), [*stack, pct("x", "15")])
    # 20 -10% = 18, -2 = 16 beats 20 -15% = 17
    assert [a.code for a in r.applied] == ["s1", "s2"]
    assert r.effective_price == D("16.00")
    r = resolve_price(ENTRY, context(), [*stack, pct("x", "50")])
    assert [a.code for a in r.applied] == ["x"]


def test_never_below_zero_and_rounded_per_currency() -> None:
    assert resolve_price(ENTRY, context(), [fixed("f", "99")]).effective_price == D("0.00")
    yen = PriceEntry("MUG-1", "JPY", D("999"))
    assert resolve_price(yen, context(), [pct("p", "33.33")]).effective_price == D("666")
    assert round_to_currency(D("1.005"), "EUR") == D("1.01")
    assert round_to_currency(D("1.0005"), "KWD") == D("1.001")


def test_amounts_are_checked_against_the_currency() -> None:
    assert parse_amount("12.50", "EUR") == D("12.50")
    for bad in ("12.505", "-1", "abc", "NaN", "1e13"):
        with pytest.raises(ValueError):
            parse_amount(bad, "EUR")
    with pytest.raises(ValueError):
        parse_amount("10.5", "JPY")


amounts = st.decimals(min_value=0, max_value=100_000, places=2)
percent = st.decimals(min_value=D("0.01"), max_value=100, places=2)
promotion = st.builds(
    lambda code, kind, p, a, stack, prio, sale_ok: (
        pct(code, str(p), is_stackable=stack, priority=prio, applies_to_sale_items=sale_ok)
        if kind
        else fixed(code, str(a), is_stackable=stack, priority=prio, applies_to_sale_items=sale_ok)
    ),
    st.text("abcdefgh", min_size=1, max_size=4),
    st.booleans(),
    percent,
    amounts,
    st.booleans(),
    st.integers(-3, 3),
    st.booleans(),
)


@given(
    base=amounts,
    sale=st.none() | amounts,
    promos=st.lists(promotion, max_size=6, unique_by=lambda p: p.code),
)
def test_resolution_invariants(
    base: Decimal, sale: Decimal | None, promos: list[Promotion]
) -> None:
    entry = PriceEntry("MUG-1", "EUR", base, None if sale is None else SalePrice(sale))
    r = resolve_price(entry, context(), promos)
    # never negative, never above the start price, always in whole cents
    assert D(0) <= r.effective_price <= r.start_price <= r.base_price
    assert r.effective_price == r.effective_price.quantize(D("0.01"))
    # the breakdown adds up
    assert r.start_price - sum((a.discount for a in r.applied), D(0)) == r.effective_price
    # at most one exclusive promotion, never combined with another
    exclusive = [
        a for a in r.applied if not next(p for p in promos if p.code == a.code).is_stackable
    ]
    assert len(exclusive) <= 1 and (not exclusive or len(r.applied) == 1)
    # no promotion can do better alone than the chosen outcome
    for p in promos:
        alone = resolve_price(entry, context(), [p]).effective_price
        assert r.effective_price <= alone
    # every matching promotion is either applied or passed over with a reason
    assert {a.code for a in r.applied} | {p.code for p in r.passed_over} == {p.code for p in promos}


def test_parity_rules_pair_beats_channel_and_greater_allowance_wins() -> None:
    prices = [ChannelPrice("web", "EUR", D("10.00")), ChannelPrice("bol", "EUR", D("10.50"))]
    assert len(find_parity_breaks("S", prices, [])) == 1
    assert not find_parity_breaks("S", prices, [ParityRule("bol", None, max_percent=D("5"))])
    rules = [
        ParityRule("bol", None, max_percent=D("10")),
        ParityRule("bol", "web", max_percent=D("1")),
    ]
    (found,) = find_parity_breaks("S", prices, rules)
    assert found.difference == D("0.50") and found.allowed == D("0.10")
    amount = [ParityRule("web", "bol", max_percent=D("1"), max_amount=D("0.50"), currency="EUR")]
    assert not find_parity_breaks("S", prices, amount)


def test_parity_skips_other_currencies_and_reports_missing_prices() -> None:
    prices = [
        ChannelPrice("web", "EUR", D("10.00")),
        ChannelPrice("uk", "GBP", D("9.00")),
        ChannelPrice("bol", "EUR", None),
    ]
    (found,) = find_parity_breaks("S", prices, [])
    assert (found.channel, found.price, found.other_channel) == ("bol", None, "web")
