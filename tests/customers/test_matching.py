"""Probabilistic suggestions: scores, the two thresholds, confirm and reject."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channelhub.core.database import Database
from channelhub.core.errors import Conflict, InvalidInput
from channelhub.customers import service
from channelhub.customers.identity import canonical_profile_id, resolve_record, save_rules
from channelhub.customers.merging import unmerge
from channelhub.customers.model import normalize_email
from channelhub.customers.similarity import MatchFields, score_pair
from tests.customers.factories import home, record

ANN = MatchFields.of(
    {
        "first_name": "Ann",
        "last_name": "Visser",
        "birth_date": "1980-03-12",
        "address": home().as_dict(),
    }
)


def test_scores_rise_with_agreement_and_fall_without_evidence() -> None:
    same, _ = score_pair(ANN, ANN)
    typo, details = score_pair(
        ANN,
        MatchFields.of(
            {
                "first_name": "Anne",
                "last_name": "Viser",
                "birth_date": "1980-12-03",
                "address": home("Kerkstr 1").as_dict(),
            }
        ),
    )
    other, _ = score_pair(
        ANN,
        MatchFields.of(
            {
                "first_name": "Piet",
                "last_name": "Bakker",
                "birth_date": "1971-06-01",
                "address": home("Molenweg 9").as_dict(),
            }
        ),
    )
    name_only, _ = score_pair(
        MatchFields(first_name="ann", last_name="visser"),
        MatchFields(first_name="ann", last_name="visser"),
    )
    assert same == 1.0
    assert 0.8 < typo < 1.0 and details["birth_date"] == 0.8  # day and month swapped
    assert other < 0.62
    assert name_only < 0.62  # a common name alone is not enough
    swapped, _ = score_pair(
        ANN,
        MatchFields.of(
            {
                **{"first_name": "Visser", "last_name": "Ann"},
                "birth_date": "1980-03-12",
                "address": home().as_dict(),
            }
        ),
    )
    assert swapped > 0.9


@given(st.emails())
def test_plain_email_fast_path_agrees_with_email_validator(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    from channelhub.customers.model import _plain_email

    fast = _plain_email(address)
    if fast is None:
        return
    try:
        expected = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        pytest.fail(f"fast path accepted {address!r}, email-validator refuses it")
    assert fast == expected == normalize_email(address)


def test_above_the_upper_threshold_profiles_link_at_once(db: Database) -> None:
    with db.transaction() as conn:
        first = resolve_record(
            conn,
            record(
                "web",
                "c1",
                first_name="Ann",
                last_name="Visser",
                birth_date="1980-03-12",
                address=home(),
            ),
        )
        second = resolve_record(
            conn,
            record(
                "bol",
                "o1",
                first_name="Anne",
                last_name="Visser",
                birth_date="1980-03-12",
                address=home("Kerkstraat 1 "),
            ),
        )
    assert second.profile_id == first.profile_id
    assert len(second.suggestions) == 1
    (linked,) = service.suggestions(db, "linked")
    assert linked.score >= 0.8 and linked.link_id is not None
    log = service.merge_log(db, first.profile_id)
    assert [(e["method"], e["score"]) for e in log] == [("probabilistic", linked.score)]
    # a probabilistic link is undone like any other
    with db.transaction() as conn:
        assert unmerge(conn, linked.link_id, "agent") == [
            first.profile_id,
            log[0]["merged_profile_id"],
        ]


def test_between_the_thresholds_a_person_decides(db: Database) -> None:
    with db.transaction() as conn:
        save_rules(conn, {"upper_threshold": 0.99, "lower_threshold": 0.6})
        a = resolve_record(
            conn,
            record(
                "web",
                "c1",
                first_name="Ann",
                last_name="Visser",
                birth_date="1980-03-12",
                address=home(),
            ),
        )
        b = resolve_record(
            conn,
            record(
                "pos",
                "p1",
                first_name="Anne",
                last_name="Viser",
                birth_date="1980-03-12",
                address=home("Kerkstr 1"),
            ),
        )
        c = resolve_record(
            conn,
            record(
                "app",
                "x1",
                first_name="Ann",
                last_name="Visser",
                birth_date="1980-03-12",
                address=home("Dorpsweg 7"),
            ),
        )
    assert len({a.profile_id, b.profile_id, c.profile_id}) == 3
    pending = service.suggestions(db)
    assert len(pending) == 3 and all(0.6 <= s.score < 0.99 for s in pending)
    by_pair = {frozenset((s.profile_a, s.profile_b)): s for s in pending}
    ab = by_pair[frozenset((a.profile_id, b.profile_id))]
    ac = by_pair[frozenset((a.profile_id, c.profile_id))]
    confirmed = service.decide_suggestion(db, ab.id, True, "agent")
    assert confirmed.status == "confirmed" and confirmed.decided_by == "agent"
    with db.read() as conn:
        assert canonical_profile_id(conn, b.profile_id) == a.profile_id
    rejected = service.decide_suggestion(db, ac.id, False, "agent")
    assert rejected.status == "rejected" and rejected.link_id is None
    with db.read() as conn:
        assert canonical_profile_id(conn, c.profile_id) == c.profile_id
    with pytest.raises(Conflict, match="already rejected"):
        service.decide_suggestion(db, ac.id, True, "agent")
    with pytest.raises(InvalidInput, match="status must be"):
        service.suggestions(db, "maybe")
    log = service.merge_log(db, a.profile_id)
    assert [e["method"] for e in log] == ["confirmed"]
    # the same pair is not suggested twice
    with db.transaction() as conn:
        again = resolve_record(
            conn,
            record(
                "app",
                "x1",
                2,
                first_name="Ann",
                last_name="Visser",
                birth_date="1980-03-12",
                address=home("Dorpsweg 7"),
            ),
        )
    assert again.suggestions == []


def test_a_household_at_one_address_is_not_one_customer(db: Database) -> None:
    """Everything but a name agrees (street, postcode, town) and no birth date tells them
    apart: the name that differs caps the score, so neither a link nor a suggestion is made,
    also for two people of one surname. A typo in a name still links."""
    address = home().as_dict()

    def person(first: str, last: str) -> MatchFields:
        return MatchFields.of({"first_name": first, "last_name": last, "address": address})

    emma, tess, daan = person("Emma", "Bakker"), person("Tess", "de Boer"), person("Daan", "Bakker")
    for other in (tess, daan):
        score, details = score_pair(emma, other)
        assert details["street"] == details["postal_code"] == details["city"] == 1.0
        assert score < 0.62, (other, score)
    assert score_pair(person("Ann", "Visser"), person("Anne", "Viser"))[0] > 0.9
    with db.transaction() as conn:
        ids = {
            resolve_record(conn, record("web", f"o{n}", first_name=first, last_name=last,
                                        address=home())).profile_id
            for n, (first, last) in enumerate((("Emma", "Bakker"), ("Tess", "de Boer"),
                                                ("Daan", "Bakker")))
        }  # fmt: skip
    assert len(ids) == 3 and service.suggestions(db) == []


def test_a_record_matching_a_father_and_his_son_links_to_neither(db: Database) -> None:
    """Same first name, same address: the birth dates keep the two profiles apart, and a
    third record without a birth date is ambiguous between them: suggestions only."""
    with db.transaction() as conn:
        father = resolve_record(
            conn,
            record("web", "c1", first_name="Jan", last_name="Vos", birth_date="1960-03-18",
                   address=home()),
        )  # fmt: skip
        son = resolve_record(
            conn,
            record("web", "c2", first_name="Jan", last_name="Vos", birth_date="18-03-1990",
                   address=home()),
        )  # fmt: skip
        order = resolve_record(
            conn, record("bol", "o1", name="Jan Vos", address=home("Kerkstraat 1 "))
        )
        profiles = {canonical_profile_id(conn, p) for p in (father.profile_id, son.profile_id)}
        assert canonical_profile_id(conn, order.profile_id) not in profiles
    assert len(profiles) == 2 and len(order.suggestions) == 2
    pending = {s.id for s in service.suggestions(db, "pending", 0, 50)}
    assert set(order.suggestions) <= pending
