"""The replay's figures against a small history computed by hand (see each test's comments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from channelhub.insight.simulation.model import (
    BUFFERED,
    FULL_LISTING,
    INTEGRATED,
    SPLIT,
    ChannelPlan,
    Comparison,
    Outcome,
    Place,
    Receipt,
    Sale,
    SaleLine,
    Scenario,
    replay,
)

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
TEN = Decimal("10.00")


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def sale(ref: str, channel: str, minute: float, *lines: tuple[str, int]) -> Sale:
    return Sale(ref, channel, at(minute), tuple(SaleLine(s, q, TEN) for s, q in lines))


def tee_history() -> tuple[Scenario, list[Sale | Receipt]]:
    """3 tees in the warehouse, 2 in the Amsterdam store; web and bol.com sync every 15
    minutes from the warehouse, the Amsterdam till sells its own shelf."""
    scenario = Scenario(
        channels=(
            ChannelPlan("web", ("WH",), 15),
            ChannelPlan("bol", ("WH",), 15),
            ChannelPlan("pos-ams", ("AMS",), 0),
        ),
        places=(Place("WH", priority=10), Place("AMS", pickup=True, priority=20)),
        opening_stock={("WH", "TEE"): 3, ("AMS", "TEE"): 2},
        start=START,
        buffers=(1, 2),
        sku_groups={"TEE": "shirts"},
    )
    events: list[Sale | Receipt] = [
        sale("W1", "web", 1, ("TEE", 2)),
        sale("B1", "bol", 5, ("TEE", 2)),
        sale("B2", "bol", 20, ("TEE", 1)),
        sale("W2", "web", 25, ("TEE", 1)),
        sale("W3", "web", 40, ("TEE", 1)),
        sale("P1", "pos-ams", 50, ("TEE", 1)),
    ]
    return scenario, events


def figures(comparison: Comparison, setup: str) -> dict[str, tuple[int, int, Decimal]]:
    totals = comparison.setups[setup].totals
    return {
        outcome.value: (totals[outcome].orders, totals[outcome].units, totals[outcome].value)
        for outcome in Outcome
        if totals[outcome].lines
    }


def refs(comparison: Comparison, setup: str, outcome: Outcome) -> list[str]:
    return [a.reference for a in comparison.setups[setup].affected[outcome]]


def test_full_listing_oversells_what_a_stale_channel_still_shows() -> None:
    # W1 takes 2 of 3. B1: bol still shows the 00:00 count (3), the shelf holds 1: oversold.
    # B2 (sync 00:15 shows 1) sells the last one. W2: web's 00:15 count is 1, the shelf is
    # empty: oversold. W3 (00:30 count 0) is refused while Amsterdam holds 2: lost.
    scenario, events = tee_history()
    result = replay(scenario, events)
    assert figures(result, FULL_LISTING) == {
        "sold": (3, 4, Decimal("40.00")),
        "oversold": (2, 3, Decimal("30.00")),
        "lost": (1, 1, Decimal("10.00")),
    }
    assert refs(result, FULL_LISTING, Outcome.OVERSOLD) == ["B1", "W2"]
    assert refs(result, FULL_LISTING, Outcome.LOST) == ["W3"]
    assert result.orders == 6


def test_split_shares_never_oversell_but_lose_sales() -> None:
    # Shares by demand: web 4 units, bol 3, so the warehouse's 3 become web 2, bol 1 (largest
    # remainder to the larger share); the till keeps Amsterdam's 2. B1 (2 > 1), W2 and W3
    # (web's share used up by W1) are lost while stock sat elsewhere.
    scenario, events = tee_history()
    result = replay(scenario, events)
    assert figures(result, SPLIT) == {
        "sold": (3, 4, Decimal("40.00")),
        "lost": (3, 4, Decimal("40.00")),
    }
    assert refs(result, SPLIT, Outcome.LOST) == ["B1", "W2", "W3"]


def test_one_integrated_pool_routes_to_the_store_and_never_oversells() -> None:
    # B1 sees 3 units five seconds late, the warehouse holds 1, Amsterdam ships both. Then the
    # 5 units are gone: W2, W3 and the till's P1 find no stock anywhere, nothing is lost.
    scenario, events = tee_history()
    result = replay(scenario, events)
    assert figures(result, INTEGRATED) == {
        "sold": (3, 5, Decimal("50.00")),
        "no_stock": (3, 3, Decimal("30.00")),
    }
    assert result.setups[INTEGRATED].split_shipments == 0


def test_buffers_are_tuned_and_what_they_hold_back_is_counted() -> None:
    # Buffer 1: B1 still oversold (3-1 >= 2), B2, W2 and W3 held back: 20 + 30 = 50.
    # Buffer 2: W1 and B1 held back, B2 and W2 sold, W3 held back: 50. Equal: the smaller wins.
    scenario, events = tee_history()
    result = replay(scenario, events)
    assert result.buffer == 1
    assert figures(result, BUFFERED) == {
        "sold": (2, 3, Decimal("30.00")),
        "oversold": (1, 2, Decimal("20.00")),
        "held_back": (3, 3, Decimal("30.00")),
    }
    assert result.setups[BUFFERED].cost(Decimal(1)) == Decimal("50.00")


def test_moving_one_channel_ranks_which_to_move_first() -> None:
    # Full listing costs 40. Web integrated: only B1 oversold (20) -> saves 20. bol.com
    # integrated: B1 ships from Amsterdam, only W2 oversold (10) -> saves 30. The till does not
    # sync, so it is not a candidate.
    scenario, events = tee_history()
    result = replay(scenario, events)
    assert result.moves == {"web": Decimal("20.00"), "bol": Decimal("30.00")}


def test_figures_per_channel_week_and_group_add_up() -> None:
    scenario, events = tee_history()
    result = replay(scenario, events).setups[FULL_LISTING]
    assert result.by_channel["web"][Outcome.OVERSOLD].units == 1
    assert result.by_channel["bol"][Outcome.OVERSOLD].units == 2
    assert result.by_channel["web"][Outcome.LOST].value == TEN
    (week,) = result.by_week
    assert week == START.date()
    assert result.by_group["shirts"][Outcome.OVERSOLD].value == Decimal("30.00")


def test_a_split_shipment_and_a_receipt() -> None:
    # One A in the warehouse, one B in Amsterdam. The web order for A and B is split when
    # integrated; independent, the web lists only the warehouse and loses B. Two B arrive at
    # the warehouse at 00:20; the web's 00:30 sync shows them and W2 sells both.
    scenario = Scenario(
        channels=(ChannelPlan("web", ("WH",), 15),),
        places=(Place("WH", priority=10), Place("AMS", priority=20)),
        opening_stock={("WH", "A"): 1, ("AMS", "B"): 1},
        start=START,
        buffers=(0,),
    )
    events: list[Sale | Receipt] = [
        sale("W1", "web", 10, ("A", 1), ("B", 1)),
        Receipt(at(20), "WH", "B", 2),
        sale("W2", "web", 40, ("B", 2)),
    ]
    result = replay(scenario, events)
    integrated = result.setups[INTEGRATED]
    assert (integrated.split_shipments, integrated.split_references) == (1, ["W1"])
    assert figures(result, INTEGRATED) == {"sold": (2, 4, Decimal("40.00"))}
    assert figures(result, FULL_LISTING) == {
        "sold": (2, 3, Decimal("30.00")),
        "lost": (1, 1, Decimal("10.00")),
    }


def test_the_same_history_gives_the_same_answer() -> None:
    scenario, events = tee_history()
    one, two = replay(scenario, events), replay(scenario, list(reversed(events))[::-1])
    for setup in (FULL_LISTING, SPLIT, BUFFERED, INTEGRATED):
        assert figures(one, setup) == figures(two, setup)


def test_two_processes_give_the_same_figures_as_one() -> None:
    scenario, events = tee_history()
    one = replay(scenario, events)
    two = replay(scenario, lambda: iter(events), processes=2)
    assert set(two.setups) == set(one.setups)
    for setup in one.setups:
        assert figures(two, setup) == figures(one, setup)
    assert (two.moves, two.buffer, two.orders) == (one.moves, one.buffer, one.orders)
