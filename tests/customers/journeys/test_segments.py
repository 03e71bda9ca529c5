"""RFM, channel mix and favourite category against a hand-computed fixture, and a promotion
that targets a segment.

Five customers, scored on 2026-06-30 (quintiles of five distinct values give 1..5 by rank):

| customer | orders (days ago, each)     | R days | F | M      | R F M | segment     |
| c1       | 10d: 10.00                  | 10     | 1 | 10.00  | 3 1 1 | promising   |
| c2       | 20d, 5d: 20.00 (web + app)  | 5      | 2 | 40.00  | 4 2 2 | promising   |
| c3       | 100d, 50d, 30d: 30.00       | 30     | 3 | 90.00  | 2 3 3 | at_risk     |
| c4       | 400..200d: 4 x 100.00       | 200    | 4 | 400.00 | 1 4 5 | loyal       |
| c5       | 9..1d: 5 x 25.00 (shirts)   | 1      | 5 | 125.00 | 5 5 4 | champions   |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from channelhub.core.database import Database
from channelhub.customers.journeys import carts, checkout, segments
from channelhub.customers.journeys.model import quintile_scores, rfm_segment
from channelhub.orders.fulfilment import ReturnItem, return_items, ship
from channelhub.pricing import promotions
from channelhub.pricing.model import Promotion, PromotionKind
from tests.customers.journeys.conftest import buy, customer

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n, hours=1)


def test_quintile_scores_rank_five_values_one_to_five_and_ties_share() -> None:
    assert quintile_scores([10, 40, 90, 400, 125]) == [1, 2, 3, 5, 4]
    assert quintile_scores([10, 5, 30, 200, 1], higher_is_better=False) == [3, 4, 2, 1, 5]
    assert quintile_scores([7, 7, 7]) == [1, 1, 1]
    assert quintile_scores([1, 2, 2, 3]) == [1, 2, 2, 4]
    assert rfm_segment(5, 5, 4, 5) == "champions"
    assert rfm_segment(5, 1, 1, 1) == "new_customers"


def test_rfm_segments_match_the_hand_computed_fixture_and_drive_a_promotion(
    shop: Database, api: TestClient
) -> None:
    c = {n: customer(shop, f"c{n}@example.com") for n in range(1, 6)}
    buy(shop, "c1-1", ("MUG-1", 1), profile_id=c[1], placed_at=days_ago(10))
    buy(shop, "c2-1", ("MUG-1", 2), profile_id=c[2], placed_at=days_ago(20))
    buy(shop, "c2-2", ("MUG-1", 2), channel="app", profile_id=c[2], placed_at=days_ago(5))
    for n, ago in enumerate((100, 50, 30)):
        buy(shop, f"c3-{n}", ("MUG-2", 2), profile_id=c[3], placed_at=days_ago(ago), price="15.00")
    for n, ago in enumerate((400, 300, 250, 200)):
        buy(shop, f"c4-{n}", ("MUG-1", 10), profile_id=c[4], placed_at=days_ago(ago))
    for n in range(5):
        buy(shop, f"c5-{n}", ("SHIRT-1", 1), profile_id=c[5], placed_at=days_ago(9 - 2 * n))

    assert segments.compute_segments(shop, NOW) == 5
    found = {n: segments.segments_of(shop, c[n]) for n in c}
    assert {n: (s.recency_days, s.frequency, s.monetary_minor) for n, s in found.items()} == {
        1: (10, 1, 1000),
        2: (5, 2, 4000),
        3: (30, 3, 9000),
        4: (200, 4, 40000),
        5: (1, 5, 12500),
    }
    scores = {n: (s.recency_score, s.frequency_score, s.monetary_score) for n, s in found.items()}
    assert scores == {1: (3, 1, 1), 2: (4, 2, 2), 3: (2, 3, 3), 4: (1, 4, 5), 5: (5, 5, 4)}
    assert {n: s.rfm_segment for n, s in found.items()} == {
        1: "promising",
        2: "promising",
        3: "at_risk",
        4: "loyal",
        5: "champions",
    }
    assert found[2].channel_mix == "multichannel" and found[2].channels == ["app", "web"]
    assert found[5].favourite_category == "apparel" and found[1].favourite_category == "kitchen"
    assert found[5].segments == ["rfm_champions", "single_channel", "category_apparel"]
    assert api.get("/api/v1/segments/rfm_champions/customers").json() == [c[5]]
    assert api.get(f"/api/v1/customers/{c[2]}/segments").json()["channel_mix"] == "multichannel"

    # A promotion for champions: c5 pays 20% less, c1 the public price.
    promotions.create_promotion(
        shop,
        Promotion(
            "champions20",
            PromotionKind.PERCENTAGE,
            Decimal(20),
            segments=frozenset({"rfm_champions"}),
            channels=frozenset({"web"}),
        ),
    )
    champion = api.get(f"/api/v1/customers/{c[5]}/prices/MUG-1", params={"channel": "web"})
    assert champion.status_code == 200, champion.text
    assert champion.json()["effective_price"] == "8.00"
    assert champion.json()["segment"] == "rfm_champions"
    other = api.get(f"/api/v1/customers/{c[1]}/prices/MUG-1", params={"channel": "web"}).json()
    assert other["effective_price"] == "10.00"
    # Checkout prices the cart at the customer's price.
    cart = carts.open_cart(shop, "web", c[5])
    carts.add_line(shop, cart.token, "MUG-1", 2, "web")
    done = checkout.checkout(shop, cart.token, checkout.CheckoutRequest("web"))
    assert done.total == Decimal("16.00")


def test_what_was_returned_is_not_counted_as_bought(shop: Database) -> None:
    """A refund comes off the order's value; an order returned in full is no purchase."""
    ann = customer(shop, "ann@example.com")
    kept = buy(shop, "A-1", ("MUG-1", 2), profile_id=ann, placed_at=days_ago(3))
    gone = buy(shop, "A-2", ("SHIRT-1", 1), profile_id=ann, placed_at=days_ago(2))
    for order_id, line_no, units in ((kept, 1, 1), (gone, 1, 1)):
        ship(shop, order_id, "test", location="wh")
        return_items(shop, order_id, "wh", [ReturnItem(line_no, units)], actor="test")
    segments.compute_segments(shop, NOW)
    ann_now = segments.segments_of(shop, ann)
    # 2 x 10.00, one mug back (10.00 refunded); A-2: the shirt back in full.
    assert (ann_now.frequency, ann_now.monetary_minor, ann_now.recency_days) == (1, 1000, 3)
