"""Recommendations from order history across every channel: "bought together" (in one
order), "also bought" (by the same customers) and "popular in your favourite store".

They read the co-occurrence counts ``purchases`` keeps up to date order by order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from channelhub.customers.journeys import consent, preferences, profiles, purchases, store
from channelhub.customers.journeys.model import favourite, rank

MAX_LIMIT = 100


@dataclass(frozen=True)
class Suggestion:
    sku: str
    score: int


@dataclass(frozen=True)
class ProductRecommendations:
    sku: str
    bought_together: list[Suggestion]
    also_bought: list[Suggestion]


@dataclass(frozen=True)
class CustomerRecommendations:
    profile_id: int
    personalised: bool  # False when the customer withdrew consent to personalisation
    for_you: list[Suggestion]
    favourite_store: str | None
    popular_in_store: list[Suggestion]


def _check_limit(limit: int) -> None:
    if not 0 < limit <= MAX_LIMIT:
        raise InvalidInput(f"a limit is 1 to {MAX_LIMIT}")


def _pairs(conn: Connection, kind: str, skus: Sequence[str]) -> dict[str, int]:
    p = store.product_pairs.c
    return {
        other: int(count)
        for other, count in conn.execute(
            select(p.other_sku, func.sum(p.count))
            .where(p.kind == kind, p.sku.in_(list(skus)))
            .group_by(p.other_sku)
        )
    }


def _top(scores: dict[str, int], limit: int, exclude: Sequence[str] = ()) -> list[Suggestion]:
    return [Suggestion(sku, scores[sku]) for sku in rank(scores, exclude, limit)]


def for_product(db: Database, sku: str, limit: int = 10) -> ProductRecommendations:
    """What is bought with ``sku`` in one order, and what its buyers also bought."""
    _check_limit(limit)
    with db.read() as conn:
        together = _pairs(conn, purchases.TOGETHER, [sku])
        also = _pairs(conn, purchases.ALSO, [sku])
    return ProductRecommendations(sku, _top(together, limit), _top(also, limit))


def favourite_store_of(conn: Connection, profile_ids: list[int]) -> str | None:
    """The store the customer chose as favourite, else the one they bought in most often."""
    chosen = preferences.preferences_of(conn, profile_ids).get(preferences.FAVOURITE_STORE)
    if chosen is not None and isinstance(chosen.value, str):
        return chosen.value
    jo = store.journey_orders.c
    counts = conn.execute(
        select(jo.location, func.count())
        .where(jo.profile_id.in_(profile_ids), jo.location.is_not(None))
        .group_by(jo.location)
    ).all()
    return favourite((str(loc), int(n)) for loc, n in counts)


def popular_in(
    conn: Connection, location: str, limit: int, exclude: Sequence[str]
) -> list[Suggestion]:
    s = store.store_popularity.c
    scores = {
        sku: int(units)
        for sku, units in conn.execute(select(s.sku, s.units).where(s.location == location))
    }
    return _top(scores, limit, exclude)


def for_customer(db: Database, profile_id: int, limit: int = 10) -> CustomerRecommendations:
    """Products for one customer: scored by "also bought" and "bought together" counts of
    everything they bought (not what they have), and the best sellers of their favourite
    store. A customer who withdrew consent to personalisation gets the store's list only."""
    _check_limit(limit)
    with db.read() as conn:
        survivor = profiles.current(conn, profile_id)
        ids = profiles.members(conn, survivor)
        history = consent.history_of(conn, ids)
        states = {s.purpose: s for s in consent.current_of(history)}
        withdrawn = (
            states[consent.Purpose.PERSONALISATION].at is not None
            and not states[consent.Purpose.PERSONALISATION].granted
        )
        bought = sorted(purchases.bought_by(conn, ids))
        for_you: list[Suggestion] = []
        if bought and not withdrawn:
            scores = _pairs(conn, purchases.ALSO, bought)
            for sku, count in _pairs(conn, purchases.TOGETHER, bought).items():
                scores[sku] = scores.get(sku, 0) + count
            for_you = _top(scores, limit, bought)
        place = favourite_store_of(conn, ids)
        popular = popular_in(conn, place, limit, bought) if place else []
    return CustomerRecommendations(survivor, not withdrawn, for_you, place, popular)
