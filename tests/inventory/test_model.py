"""Available-to-promise: never negative, never more than exists, buffer and safety respected."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channelhub.inventory.model import StockPosition, available_to_promise, share_of

positions = st.lists(
    st.builds(
        StockPosition,
        sku=st.just("SKU"),
        location_id=st.integers(1, 5),
        on_hand=st.integers(-50, 500),
        reserved=st.integers(0, 500),
        safety=st.integers(0, 20),
    ),
    max_size=6,
)


@given(positions, st.integers(-5, 100))
def test_atp_is_between_zero_and_what_exists(rows: list[StockPosition], buffer: int) -> None:
    atp = available_to_promise(rows, buffer)
    assert atp >= 0
    assert atp <= sum(max(0, r.on_hand) for r in rows)
    assert atp <= sum(max(0, r.on_hand - r.reserved - r.safety) for r in rows)


@given(positions, st.integers(0, 100))
def test_a_buffer_only_ever_lowers_atp(rows: list[StockPosition], buffer: int) -> None:
    assert available_to_promise(rows, buffer) <= available_to_promise(rows, 0)
    assert available_to_promise(rows, 0) - available_to_promise(rows, buffer) <= buffer


@given(positions)
def test_reserving_a_sellable_unit_lowers_atp_by_one(rows: list[StockPosition]) -> None:
    sellable = [i for i, r in enumerate(rows) if r.sellable > 0]
    if not sellable:
        return
    i = sellable[0]
    r = rows[i]
    after = [*rows[:i], StockPosition(r.sku, r.location_id, r.on_hand, r.reserved + 1, r.safety)]
    after += rows[i + 1 :]
    assert available_to_promise(after) == available_to_promise(rows) - 1


@given(st.integers(-10, 10_000), st.floats(0, 1.5, allow_nan=False))
def test_a_share_never_exceeds_the_stock(on_hand: int, share: float) -> None:
    units = share_of(on_hand, share)
    assert 0 <= units <= max(0, on_hand)
