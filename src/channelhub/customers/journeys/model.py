"""Pure rules of the customer journeys: loyalty points, cart merging, RFM scores and the
segment codes promotions can target. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

MAX_CART_QUANTITY = 9_999
THOUSAND = Decimal(1000)
HUNDRED = Decimal(100)


# --- loyalty --------------------------------------------------------------------------------


class LedgerKind(StrEnum):
    EARN = "earn"  # an order
    BURN = "burn"  # points spent, in any channel
    REVERSE = "reverse"  # a return or cancellation takes back what its order earned
    ADJUST = "adjust"  # a person's correction


@dataclass(frozen=True)
class LoyaltyRule:
    """How many points one unit of currency earns on ``channel`` ("*": every other channel)."""

    channel: str
    points_per_unit: Decimal = Decimal(1)
    multiplier: Decimal = Decimal(1)


DEFAULT_RULE = LoyaltyRule("*")


def rule_for(channel: str, rules: Mapping[str, LoyaltyRule]) -> LoyaltyRule:
    """The channel's own rule, else the "*" rule, else one point per currency unit."""
    return rules.get(channel) or rules.get("*") or DEFAULT_RULE


def points_for(amount: Decimal, rule: LoyaltyRule) -> int:
    """Whole points an order of ``amount`` earns (rounded down: a point is never given away)."""
    if amount <= 0:
        return 0
    return int((amount * rule.points_per_unit * rule.multiplier).to_integral_value(ROUND_FLOOR))


def points_to_reverse(earned: int, reversed_before: int, refunded: int, total: int) -> int:
    """Points to take back now so that what is reversed stays proportional to what was
    refunded (both in minor units, ``refunded`` cumulative); a full refund takes back all."""
    if earned <= 0 or total <= 0:
        return 0
    share = min(refunded, total)
    target = earned if share >= total else earned * share // total
    return max(0, min(earned, target) - reversed_before)


# --- carts ----------------------------------------------------------------------------------


def merged_lines(target: Mapping[str, int], incoming: Mapping[str, int]) -> dict[str, int]:
    """The lines of ``target`` with ``incoming`` added: quantities of one SKU are summed
    (capped at the most a line may hold)."""
    result = dict(target)
    for sku, quantity in incoming.items():
        result[sku] = min(MAX_CART_QUANTITY, result.get(sku, 0) + quantity)
    return result


# --- RFM and segments -----------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseSummary:
    """What one customer bought: the input of RFM and channel-mix segmentation."""

    profile_id: int
    recency_days: int  # days since the last order
    frequency: int  # orders
    monetary_minor: int  # spent, in minor units
    channels: frozenset[str]
    favourite_category: str | None = None


@dataclass(frozen=True)
class SegmentScores:
    profile_id: int
    recency_score: int
    frequency_score: int
    monetary_score: int
    rfm_segment: str
    channel_mix: str
    favourite_category: str | None
    codes: tuple[str, ...]


def quintile_scores(values: Sequence[int], higher_is_better: bool = True) -> list[int]:
    """A 1..5 score per value: 1 + 5 x (the share of values strictly worse than it), so
    equal values share a score and the best fifth scores 5."""
    n = len(values)
    if n == 0:
        return []
    ordered = sorted(values)
    scores = []
    for value in values:
        if higher_is_better:
            worse = _count_below(ordered, value)
        else:
            worse = n - _count_below(ordered, value + 1)
        scores.append(min(5, 1 + (5 * worse) // n))
    return scores


def _count_below(ordered: Sequence[int], value: int) -> int:
    """How many of ``ordered`` are strictly below ``value`` (binary search)."""
    low, high = 0, len(ordered)
    while low < high:
        middle = (low + high) // 2
        if ordered[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


def rfm_segment(recency: int, frequency: int, monetary: int, orders: int) -> str:
    """The named RFM segment of three 1..5 scores (checked in this order)."""
    if recency >= 4 and frequency >= 4 and monetary >= 4:
        return "champions"
    if orders == 1 and recency >= 4:
        return "new_customers"
    if frequency >= 4:
        return "loyal"
    if recency <= 2 and frequency >= 3:
        return "at_risk"
    if recency <= 2:
        return "hibernating"
    return "promising"


_NOT_CODE = re.compile(r"[^a-z0-9_]+")


def code_part(text: str) -> str:
    """``text`` as part of a segment code (lower case, a-z 0-9 _)."""
    return _NOT_CODE.sub("_", text.lower()).strip("_")[:80] or "x"


def score_segments(summaries: Sequence[PurchaseSummary]) -> list[SegmentScores]:
    """RFM scores (quintiles over these customers), channel mix and favourite category, with
    the segment codes a promotion can name: ``rfm_<segment>``, ``multichannel`` or
    ``single_channel``, ``category_<code>``."""
    r = quintile_scores([s.recency_days for s in summaries], higher_is_better=False)
    f = quintile_scores([s.frequency for s in summaries])
    m = quintile_scores([s.monetary_minor for s in summaries])
    found = []
    for i, s in enumerate(summaries):
        named = rfm_segment(r[i], f[i], m[i], s.frequency)
        mix = "multichannel" if len(s.channels) > 1 else "single_channel"
        codes = [f"rfm_{named}", mix]
        if s.favourite_category:
            codes.append(f"category_{code_part(s.favourite_category)}")
        found.append(
            SegmentScores(
                s.profile_id, r[i], f[i], m[i], named, mix, s.favourite_category, tuple(codes)
            )
        )
    return found


def favourite(counts: Iterable[tuple[str, int]]) -> str | None:
    """The key with the highest count (ties: the first in alphabetical order)."""
    best: tuple[int, str] | None = None
    for key, count in counts:
        if count > 0 and (best is None or (-count, key) < (-best[0], best[1])):
            best = (count, key)
    return None if best is None else best[1]


# --- recommendations ------------------------------------------------------------------------


def rank(scores: Mapping[str, int], exclude: Iterable[str] = (), limit: int = 10) -> list[str]:
    """SKUs by score (highest first, then alphabetical), without ``exclude``."""
    skip = set(exclude)
    items = sorted((-score, sku) for sku, score in scores.items() if sku not in skip and score)
    return [sku for _, sku in items[:limit]]
