"""The pure rules: points, their reversal, cart merging, favourites and ranking."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from channelhub.customers.journeys.model import (
    MAX_CART_QUANTITY,
    LoyaltyRule,
    code_part,
    favourite,
    merged_lines,
    points_for,
    points_to_reverse,
    rank,
    rule_for,
)


def test_points_follow_the_channels_rule_and_round_down() -> None:
    rules = {"*": LoyaltyRule("*", Decimal(1)), "pos": LoyaltyRule("pos", Decimal(1), Decimal(2))}
    assert points_for(Decimal("24.99"), rule_for("web", rules)) == 24
    assert points_for(Decimal("24.99"), rule_for("pos", rules)) == 49
    assert points_for(Decimal("10"), rule_for("app", {})) == 10  # one point per unit
    assert points_for(Decimal("0"), rule_for("web", rules)) == 0


def test_reversals_are_proportional_and_a_full_refund_takes_everything() -> None:
    assert points_to_reverse(50, 0, 2500, 5000) == 25
    assert points_to_reverse(50, 25, 5000, 5000) == 25
    assert points_to_reverse(50, 25, 2500, 5000) == 0  # already done
    assert points_to_reverse(7, 0, 1, 3) == 2


@given(
    st.integers(1, 10_000),
    st.integers(1, 10**7),
    st.lists(st.integers(1, 10**6), min_size=1, max_size=6),
)
def test_reversals_never_take_back_more_than_was_earned(
    earned: int, total: int, refunds: list[int]
) -> None:
    taken, refunded = 0, 0
    for refund in refunds:
        refunded += refund
        taken += points_to_reverse(earned, taken, refunded, total)
        assert 0 <= taken <= earned
    if refunded >= total:
        assert taken == earned


def test_merging_cart_lines_sums_quantities_and_caps_them() -> None:
    assert merged_lines({"A": 1, "B": 2}, {"A": 2, "C": 1}) == {"A": 3, "B": 2, "C": 1}
    assert merged_lines({"A": MAX_CART_QUANTITY}, {"A": 5}) == {"A": MAX_CART_QUANTITY}


def test_favourites_ranking_and_codes() -> None:
    assert favourite([("b", 2), ("a", 2), ("c", 1)]) == "a"
    assert favourite([]) is None
    assert rank({"x": 3, "y": 5, "z": 3, "w": 0}, exclude=["y"]) == ["x", "z"]
    assert code_part("Home & Garden-2") == "home_garden_2"
