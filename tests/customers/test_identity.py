"""Deterministic identity resolution on both databases: merges, stable ids and redirects,
unmerge, guards and configurable rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from channelhub.core.database import Database
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from channelhub.core.events import outbox
from channelhub.customers import service, store
from channelhub.customers.identity import (
    canonical_profile_id,
    find_profile,
    profile_members,
    resolve,
    resolve_record,
    save_rules,
)
from channelhub.customers.merging import merge_profiles
from tests.customers.factories import record

NO_SUGGEST = {"suggest": False}


def links(db: Database) -> list[tuple[str, int, int, str | None]]:
    c = store.customer_links.c
    with db.read() as conn:
        return [
            (r.action, r.profile_id, r.merged_profile_id or 0, r.identifier_kind)
            for r in conn.execute(select(store.customer_links).order_by(c.id))
        ]


def test_records_sharing_a_strong_identifier_become_one_profile(db: Database) -> None:
    with db.transaction() as conn:
        web = resolve(conn, record("web", "c1", email="Ann@Shop.nl", phone="0613572468"))
        pos = resolve(conn, record("pos", "card-1", loyalty_card="777", phone="+31 6 1357 2468"))
        app = resolve(conn, record("app", "dev-1", device_id="D1", email="ann@shop.NL"))
        other = resolve(conn, record("web", "c2", email="bob@shop.nl"))
    assert web == pos == app != other
    with db.read() as conn:
        assert find_profile(conn, "loyalty_card", "7 7 7") == web
        assert find_profile(conn, "channel_customer", "web:c1") is None
        assert find_profile(conn, "email", "nobody@shop.nl") is None
    profile = service.get_profile(db, web)
    assert {(i["kind"], i["value"]) for i in profile.identifiers} == {
        ("email", "ann@shop.nl"),
        ("phone", "+31613572468"),
        ("loyalty_card", "777"),
        ("device", "d1"),
    }
    assert [r["channel"] for r in profile.records] == ["web", "pos", "app"]
    assert [kind for _, _, _, kind in links(db)] == ["phone", "email"]


def test_a_bridging_record_merges_profiles_and_the_oldest_id_survives(db: Database) -> None:
    with db.transaction() as conn:
        first = resolve(conn, record("web", "c1", email="ann@shop.nl"))
        second = resolve(conn, record("pos", "card-1", loyalty_card="777"))
        third = resolve(conn, record("app", "d1", device_id="D1"))
        assert len({first, second, third}) == 3
        bridge = resolve_record(
            conn, record("app", "d2", device_id="D1", loyalty_card="777", email="ann@shop.nl")
        )
    assert bridge.profile_id == first
    assert sorted(bridge.merged) == [second, third]
    with db.read() as conn:
        # every old id still works and leads to the survivor
        assert canonical_profile_id(conn, third) == first
        assert profile_members(conn, second) == [first, second, third]
        with pytest.raises(NotFound):
            canonical_profile_id(conn, 999)
    assert service.get_profile(db, third).as_dict()["redirected"] is True
    with db.read() as conn:
        topics = conn.execute(
            select(outbox.c.topic, outbox.c.payload).where(
                outbox.c.topic == "customers.profile_merged"
            )
        ).all()
    assert topics[0].payload == {"profile_id": first, "merged": [second, third]}


def test_the_same_record_again_updates_it_instead_of_adding_one(db: Database) -> None:
    with db.transaction() as conn:
        first = resolve_record(conn, record("web", "c1", email="ann@shop.nl", first_name="Ann"))
        again = resolve_record(
            conn, record("web", "c1", 3, email="ann@shop.nl", first_name="Anne", phone="0611223344")
        )
        count = conn.execute(select(func.count()).select_from(store.customer_records)).scalar()
    assert (first.record_id, first.created, again.created) == (again.record_id, True, False)
    assert count == 1
    golden = service.get_profile(db, first.profile_id).golden
    assert golden["first_name"]["value"] == "Anne"
    assert golden["phone"]["value"] == "+31611223344"


def test_unmerge_restores_the_profiles_as_they_were(db: Database) -> None:
    with db.transaction() as conn:
        ann = resolve(conn, record("web", "c1", email="ann@shop.nl", first_name="Ann"))
        card = resolve(conn, record("pos", "card-1", loyalty_card="777", first_name="Anne"))
        # an app install bridges both: Ann's e-mail and her loyalty card
        bridge = resolve_record(
            conn, record("app", "d1", email="ann@shop.nl", loyalty_card="777", device_id="X")
        )
    assert bridge.merged == [card]
    log = service.merge_log(db, ann)
    merge_link = next(entry for entry in log if entry["merged_profile_id"] == card)
    assert merge_link["reason"] == "shares loyalty_card 777"
    assert service.unmerge(db, merge_link["id"], "agent") == [ann, card]
    assert service.get_profile(db, card).golden["first_name"]["value"] == "Anne"
    assert [r["channel"] for r in service.get_profile(db, ann).records] == ["web", "app"]
    with db.read() as conn:
        assert canonical_profile_id(conn, card) == card
        assert profile_members(conn, ann) == [ann]
    # the log only grew: the link is still there, with an unlink naming it
    assert [entry["action"] for entry in service.merge_log(db, ann)][-1] == "unlink"
    with pytest.raises(Conflict, match="already undone"):
        service.unmerge(db, merge_link["id"], "agent")
    with pytest.raises(NotFound):
        service.unmerge(db, 999, "agent")
    # the resolver does not merge them again by itself ...
    with db.transaction() as conn:
        again = resolve_record(conn, record("app", "d2", email="ann@shop.nl", loyalty_card="777"))
    assert again.profile_id == ann and again.merged == []
    assert [r["rule"] for r in again.refused] == ["unmerged"]
    # ... but a person can
    assert service.merge(db, card, ann, "agent") == ann
    with db.read() as conn:
        assert canonical_profile_id(conn, card) == ann


def test_unmerging_the_link_of_an_attached_record_gives_it_a_new_profile(db: Database) -> None:
    with db.transaction() as conn:
        ann = resolve(conn, record("web", "c1", email="ann@shop.nl"))
        joined = resolve_record(conn, record("pos", "card-1", email="ann@shop.nl", first_name="Z"))
    assert joined.profile_id == ann
    link_id = service.merge_log(db, ann)[0]["id"]
    parts = service.unmerge(db, link_id, "agent")
    assert parts[0] == ann and parts[1] > ann
    assert service.get_profile(db, parts[1]).golden["first_name"]["value"] == "Z"


def test_blocked_values_are_stored_but_never_merged_on(db: Database) -> None:
    with db.transaction() as conn:
        save_rules(conn, {"blocked_values": ["phone:+31301234567"], **NO_SUGGEST})
        one = resolve_record(conn, record("pos", "sale-1", phone="030 123 4567", first_name="A"))
        two = resolve_record(conn, record("pos", "sale-2", phone="0301234567", first_name="B"))
        test = resolve_record(conn, record("web", "t1", email="qa@example.com"))
        test2 = resolve_record(conn, record("web", "t2", email="qa@example.com"))
    assert one.profile_id != two.profile_id
    assert test.profile_id != test2.profile_id
    assert two.refused[0]["rule"] == "blocked_value"
    assert "blocked" in test2.refused[0]["detail"]
    # still findable and shown: only merging on it is refused
    assert {i["value"] for i in service.get_profile(db, one.profile_id).identifiers} == {
        "+31301234567"
    }
    rules = [r["rule"] for r in service.refusals(db)]
    assert rules.count("blocked_value") == 4


def test_caps_stop_a_blob_profile_and_record_what_was_refused(db: Database) -> None:
    with db.transaction() as conn:
        save_rules(conn, {"identifier_caps": {"email": 2}, **NO_SUGGEST})
        base = resolve(conn, record("web", "c1", email="a@shop.nl", phone="0611223344"))
        resolve(conn, record("web", "c2", email="b@shop.nl", phone="0611223344"))
        third = resolve_record(conn, record("web", "c3", email="c@shop.nl", phone="0611223344"))
    assert third.profile_id != base
    assert third.refused == [
        {
            "record_id": third.record_id,
            "profile_id": base,
            "kind": "phone",
            "value": "+31611223344",
            "rule": "identifier_cap",
            "detail": "3 email values would exceed the cap of 2",
        }
    ]
    with db.transaction() as conn:
        save_rules(conn, {"max_identifiers_per_profile": 3, **NO_SUGGEST})
        big = resolve_record(
            conn, record("web", "c4", email="a@shop.nl", device_id="d1", loyalty_card="9")
        )
    assert big.profile_id != base and big.refused[0]["rule"] == "profile_size"
    with pytest.raises(Conflict, match="blob guard"):
        service.merge(db, base, third.profile_id, "agent")


def test_weak_identifiers_are_kept_but_do_not_merge(db: Database) -> None:
    with db.transaction() as conn:
        a = resolve(conn, record("bol", "o1", marketplace_buyer_id="buyer-9", first_name="A"))
        b = resolve(conn, record("bol", "o2", marketplace_buyer_id="buyer-9", first_name="B"))
        save_rules(conn, {"strong_kinds": ["email"], **NO_SUGGEST})
        c = resolve(conn, record("web", "c1", phone="0613572468"))
        d = resolve(conn, record("pos", "p1", phone="0613572468"))
    assert a != b and c != d
    with db.read() as conn:
        assert find_profile(conn, "marketplace_buyer", "bol:buyer-9") == a


def test_bad_input_is_refused_with_a_clear_error(db: Database) -> None:
    with db.transaction() as conn, pytest.raises(InvalidInput, match="channel and source_ref"):
        resolve(conn, record("", "x", email="a@shop.nl"))
    with pytest.raises(InvalidInput, match="unknown identifier kind"):
        service.set_rules(db, {"strong_kinds": ["shoe"]})
    with db.read() as conn, pytest.raises(InvalidInput, match="e-mail"):
        find_profile(conn, "email", "nope")
    with db.transaction() as conn:
        result = resolve_record(conn, record("web", "c1", email="nope", phone="0613572468"))
    assert [r["rule"] for r in result.refused] == ["invalid"]
    assert result.refused[0]["record_id"] == result.record_id


def test_merge_profiles_by_hand_is_logged(db: Database) -> None:
    with db.transaction() as conn:
        a = resolve(conn, record("web", "c1", email="a@shop.nl"))
        b = resolve(conn, record("web", "c2", email="b@shop.nl"))
        assert merge_profiles(conn, b, a, "agent") == a
        assert merge_profiles(conn, a, b, "agent") == a
    log = service.merge_log(db, b)
    assert [(e["method"], e["actor"]) for e in log] == [("manual", "agent")]


def test_a_phone_shared_by_different_surnames_does_not_merge(db: Database) -> None:
    with db.transaction() as conn:
        ann = resolve(conn, record("web", "c1", phone="0613572468", last_name="Visser"))
        son = resolve_record(conn, record("pos", "p1", phone="0613572468", last_name="Bakker"))
        typo = resolve_record(conn, record("app", "a1", phone="0613572468", last_name="Viser"))
        unknown = resolve_record(conn, record("pos", "p2", phone="0613572468"))
        # a shared e-mail address is checked the same way (a family's address)
        mail = resolve(conn, record("web", "c2", email="x@shop.nl", last_name="Visser"))
        other = resolve(conn, record("app", "a2", email="x@shop.nl", last_name="Jansen"))
    assert son.profile_id != ann and son.refused[0]["rule"] == "name_conflict"
    assert "different names ('Bakker', 'Visser')" in son.refused[0]["detail"]
    assert typo.profile_id == ann and unknown.profile_id == ann
    assert mail != other
    with pytest.raises(InvalidInput, match="unknown identifier kind"):
        service.set_rules(db, {"name_checked_kinds": ["shoe"]})
    service.set_rules(db, {"name_checked_kinds": []})
    with db.transaction() as conn:
        again = resolve_record(conn, record("pos", "p3", phone="0613572468", last_name="Bakker"))
    assert again.profile_id == ann


def test_concurrent_first_sightings_of_one_email_make_one_profile(db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def sign_up(n: int) -> int:
        with db.transaction() as conn:
            return resolve(conn, record(f"shop{n}", f"c{n}", email="same@shop.nl"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        profiles = list(pool.map(sign_up, range(8)))
    with db.read() as conn:
        assert {canonical_profile_id(conn, p) for p in profiles} == {min(profiles)}
        assert len(profile_members(conn, min(profiles))) == 1


def test_an_early_observation_time_is_stored_and_read_back(db: Database) -> None:
    """SQLite keeps times as text: a year before 1000 must be zero-padded to read back."""
    from dataclasses import replace
    from datetime import UTC, datetime

    early = replace(
        record("web", "acc-999", email="early@smit.nl"), observed_at=datetime(999, 1, 1, tzinfo=UTC)
    )
    with db.transaction() as conn:
        profile = resolve(conn, early)
    view = service.get_profile(db, profile)
    assert view.golden["email"]["value"] == "early@smit.nl"
