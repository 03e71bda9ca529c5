"""The pure customer model: normalization, rules, the union-find graph, survivorship."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channelhub.customers.model import (
    CustomerError,
    MergeRules,
    RecordSnapshot,
    UnionFind,
    cap_violation,
    components,
    golden_record,
    normalize_identifier,
    normalize_record,
    split_name,
)
from tests.customers.factories import at, home, record


def test_identifiers_are_normalized_per_kind() -> None:
    assert normalize_identifier("email", "  Ann.Smit@Example.NL ") == "ann.smit@example.nl"
    assert normalize_identifier("phone", "06-13572468", region="NL") == "+31613572468"
    assert normalize_identifier("phone", "+32 470 12 34 56", region="NL") == "+32470123456"
    assert normalize_identifier("loyalty_card", "1234 5678-9x") == "123456789X"
    assert normalize_identifier("channel_customer", " 42 ", channel="shopify") == "shopify:42"
    with pytest.raises(CustomerError, match="e-mail"):
        normalize_identifier("email", "not-an-address")
    with pytest.raises(CustomerError, match="phone"):
        normalize_identifier("phone", "12", region="NL")
    with pytest.raises(CustomerError, match="needs its channel"):
        normalize_identifier("marketplace_buyer", "abc")


def test_a_record_keeps_its_valid_identifiers_and_reports_the_invalid_ones() -> None:
    normalized = normalize_record(
        record("web", "c1", email="ann@shop.nl", phone="xx", name="Ann de Vries", country="NL"),
        MergeRules(),
    )
    assert normalized.identifiers == (("email", "ann@shop.nl"),)
    assert [kind for kind, _, _ in normalized.invalid] == ["phone"]
    assert (normalized.attributes["first_name"], normalized.attributes["last_name"]) == (
        "Ann",
        "de Vries",
    )


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Sanne de Vries", "Sanne", "de Vries"),
        ("Jan van der Berg", "Jan", "van der Berg"),
        ("Anna Maria Smit", "Anna Maria", "Smit"),
        ("Ludwig von Mises", "Ludwig", "von Mises"),
        ("Madonna", "", "Madonna"),
        ("De Vries", "De", "Vries"),  # a particle as the first word is a first name here
    ],
)
def test_a_full_name_splits_before_the_surname_particle(name: str, first: str, last: str) -> None:
    assert split_name(name) == (first, last)


def test_phone_region_comes_from_country_then_channel_then_default() -> None:
    rules = MergeRules(channel_regions={"be-shop": "BE"})
    be = normalize_record(record("be-shop", "1", phone="0470 12 34 56"), rules)
    nl = normalize_record(record("web", "1", phone="0613572468"), rules)
    assert be.identifiers == (("phone", "+32470123456"),)
    assert nl.identifiers == (("phone", "+31613572468"),)


def test_rules_refuse_unknown_kinds_bad_thresholds_and_strong_marketplace_ids() -> None:
    with pytest.raises(CustomerError, match="unknown identifier kind"):
        MergeRules.from_dict({"strong_kinds": ["email", "shoe_size"]})
    with pytest.raises(CustomerError, match="never merged on"):
        MergeRules.from_dict({"strong_kinds": ["marketplace_buyer"]})
    with pytest.raises(CustomerError, match="thresholds"):
        MergeRules.from_dict({"upper_threshold": 0.5, "lower_threshold": 0.7})
    rules = MergeRules.from_dict({"strong_kinds": ["email"], "identifier_caps": {"email": 2}})
    assert rules.is_strong("email") and not rules.is_strong("phone")
    assert MergeRules.from_dict(rules.as_dict()) == rules


def test_caps_and_profile_size_are_checked() -> None:
    rules = MergeRules(identifier_caps={"email": 2}, max_identifiers_per_profile=3)
    assert cap_violation([("email", "a"), ("email", "b")], rules) is None
    assert cap_violation([("email", "a"), ("email", "b"), ("email", "c")], rules) == (
        "identifier_cap",
        "3 email values would exceed the cap of 2",
    )
    four = [("phone", str(i)) for i in range(4)]
    assert cap_violation(four, rules) == (
        "profile_size",
        "4 identifiers would exceed the maximum of 3 per profile",
    )


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=60))
def test_union_find_roots_are_the_smallest_member_and_match_components(
    edges: list[tuple[int, int]],
) -> None:
    sets = UnionFind()
    for a, b in edges:
        sets.union(a, b)
    nodes = sorted({n for edge in edges for n in edge})
    groups = components(nodes, edges)
    for group in groups:
        assert {sets.find(n) for n in group} == {group[0]}
    assert sorted(n for g in groups for n in g) == nodes


def test_golden_record_follows_survivorship_rules_with_sources() -> None:
    old = RecordSnapshot(
        1,
        "web",
        "c1",
        at(1),
        3,
        {
            "email": "old@shop.nl",
            "email_verified": True,
            "first_name": "Ann",
            "address": home().as_dict(),
            "phone": "+31613572468",
        },
    )
    newer = RecordSnapshot(
        2,
        "app",
        "d1",
        at(5),
        1,
        {
            "email": "new@shop.nl",
            "email_verified": False,
            "first_name": "Anne",
            "address": home("Dorpsstraat 9", "1234 AB").as_dict(),
        },
    )
    newest = RecordSnapshot(
        3,
        "pos",
        "card",
        at(9),
        1,
        {"email": "", "first_name": "", "address": home("Dorpsstraat 9", "1234 AB").as_dict()},
    )
    golden = golden_record([old, newer, newest])
    # the most recent *verified* e-mail wins over a newer unverified one
    assert golden["email"]["value"] == "old@shop.nl" and golden["email"]["verified"]
    assert golden["email"]["source"]["record_id"] == 1
    # the latest non-empty name
    assert golden["first_name"]["value"] == "Anne"
    assert golden["first_name"]["source"] == {
        "channel": "app",
        "record_id": 2,
        "source_ref": "d1",
        "observed_at": at(5).isoformat(),
    }
    # the most frequent address, weighted by how often each record was seen (3 vs 2)
    assert golden["address"]["value"]["line1"] == "Kerkstraat 1"
    assert golden["address"]["count"] == 3
    assert golden["phone"]["source"]["channel"] == "web"


def test_the_golden_record_updated_in_place_equals_the_recomputed_one() -> None:
    """Adding records one by one (newest last) gives the golden record a full recompute
    gives, whenever ``golden_add`` does not ask for the recompute."""
    import random
    from datetime import UTC, datetime, timedelta

    from channelhub.customers.model import RecordSnapshot, golden_add, golden_record

    rng = random.Random(5)
    added = 0
    for _ in range(200):
        records: list[RecordSnapshot] = []
        golden: dict[str, object] | None = None
        for i in range(rng.randrange(1, 8)):
            email = rng.choice(["", "a@shop.nl", "b@shop.nl"])
            attributes = {
                "email": email,
                "email_verified": bool(email) and rng.random() < 0.5,  # as normalize_record
                "first_name": rng.choice(["", "Ann", "Anne"]),
                "last_name": rng.choice(["", "Smit"]),
                "phone": rng.choice(["", "+31613572468"]),
                "loyalty_card": "",
                "birth_date": rng.choice(["", "1980-01-02", "1980-02-01"]),
                "address": rng.choice([None, {"line1": "Kerkstraat 1", "postal_code": "1"}]),
            }
            moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)
            snapshot = RecordSnapshot(i + 1, "web", f"c{i}", moment, 1, attributes)
            records.append(snapshot)
            golden = None if golden is None else golden_add(golden, snapshot)
            if golden is not None:
                added += 1
                assert golden == golden_record(records)
            else:
                golden = golden_record(records)
    assert added > 200
