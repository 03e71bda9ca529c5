"""Recommendations against a hand-computed fixture, refreshed order by order.

Orders (customer, channel): A (ann, web) MUG-1 + MUG-2; B (ann, till at ams) SHIRT-1 +
3 x MUG-2; C (bo, app) MUG-1 + SHIRT-1; D (anonymous, bol) MUG-1 + MUG-2.

Bought together (orders holding both): MUG-1/MUG-2 2 (A, D), SHIRT-1/MUG-2 1 (B),
MUG-1/SHIRT-1 1 (C). Also bought (customers who bought both): ann bought all three, bo
MUG-1 and SHIRT-1: MUG-1/MUG-2 1, MUG-1/SHIRT-1 2, MUG-2/SHIRT-1 1.
For bo (bought MUG-1, SHIRT-1) the only candidate is MUG-2: also 1 + 1, together 2 + 1 = 5.
Store ams sold 3 x MUG-2 and 1 x SHIRT-1.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from channelhub.core.database import Database
from channelhub.customers.journeys import consent, feed, preferences, recommendations
from channelhub.customers.journeys.recommendations import Suggestion
from tests.customers.journeys.conftest import buy, customer

S = Suggestion


def test_recommendations_match_the_hand_computed_counts(shop: Database, api: TestClient) -> None:
    ann = customer(shop, "ann@example.com")
    bo = customer(shop, "bo@example.com", "app")
    buy(shop, "A", ("MUG-1", 1), ("MUG-2", 1), profile_id=ann)
    buy(shop, "B", ("SHIRT-1", 1), ("MUG-2", 3), channel="pos", store="ams", profile_id=ann)
    buy(shop, "C", ("MUG-1", 1), ("SHIRT-1", 1), channel="app", profile_id=bo)
    buy(shop, "D", ("MUG-1", 1), ("MUG-2", 1), channel="bol")

    mug = recommendations.for_product(shop, "MUG-1")
    assert mug.bought_together == [S("MUG-2", 2), S("SHIRT-1", 1)]
    assert mug.also_bought == [S("SHIRT-1", 2), S("MUG-2", 1)]
    shirt = api.get("/api/v1/recommendations/products/SHIRT-1").json()
    assert shirt["bought_together"] == [{"sku": "MUG-1", "score": 1}, {"sku": "MUG-2", "score": 1}]
    assert shirt["also_bought"] == [{"sku": "MUG-1", "score": 2}, {"sku": "MUG-2", "score": 1}]

    preferences.set_preference(shop, bo, "favourite_store", "ams", "app")
    for_bo = recommendations.for_customer(shop, bo)
    assert for_bo.for_you == [S("MUG-2", 5)]
    assert (for_bo.favourite_store, for_bo.popular_in_store) == ("ams", [S("MUG-2", 3)])
    # Ann bought everything there is; her favourite store is where she bought at the till.
    for_ann = api.get(f"/api/v1/recommendations/customers/{ann}").json()
    assert for_ann["for_you"] == [] and for_ann["favourite_store"] == "ams"

    # Incremental: another order adds its own pairs; reading the events again adds nothing.
    buy(shop, "E", ("MUG-2", 1), ("SHIRT-1", 1), channel="web")
    feed.catch_up(shop)
    shirt_after = recommendations.for_product(shop, "SHIRT-1")
    assert shirt_after.bought_together == [S("MUG-2", 2), S("MUG-1", 1)]
    assert shirt_after.also_bought == [S("MUG-1", 2), S("MUG-2", 1)]  # no customer: unchanged

    # A customer who withdrew consent to personalisation gets the store's list only.
    consent.record_consent(shop, bo, consent.Purpose.PERSONALISATION, False, "app")
    private = recommendations.for_customer(shop, bo)
    assert (private.personalised, private.for_you) == (False, [])
    assert private.popular_in_store == [S("MUG-2", 3)]
