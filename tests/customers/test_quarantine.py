"""Shared values (fillers, a store's number, a household's address) never glue strangers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from channelhub.cli.main import app as cli_app
from channelhub.core.database import Database
from channelhub.customers import batch, quarantine, service, store
from channelhub.customers.identity import canonical_profile_id, resolve, resolve_record
from channelhub.customers.model import MergeRules
from tests.customers.factories import record

RULES = MergeRules(suggest=False)
STRANGERS = [("Anna", "Smit"), ("Bram", "Visser"), ("Cor", "Bakker"), ("Daan", "Mulder")]


def _profiles(db: Database, ids: list[int]) -> set[int]:
    with db.read() as conn:
        return {canonical_profile_id(conn, p) for p in ids}


def _record_profiles(db: Database) -> set[int]:
    """The profiles the records sit in now."""
    with db.read() as conn:
        return set(conn.execute(select(store.customer_records.c.profile_id)).scalars())


def test_a_known_filler_never_merges(db: Database) -> None:
    with db.transaction() as conn:
        a = resolve_record(
            conn, record("pos", "t1", email="geen@email.nl", first_name="Anna"), RULES
        )
        b = resolve_record(
            conn, record("pos", "t2", email="GEEN@email.nl", first_name="Anna"), RULES
        )
        c = resolve_record(conn, record("pos", "t3", phone="0612345678", first_name="Anna"), RULES)
        d = resolve_record(conn, record("pos", "t4", phone="06-12345678", first_name="Anna"), RULES)
    assert a.profile_id != b.profile_id and c.profile_id != d.profile_id
    assert b.refused[0]["rule"] == "blocked_value"
    assert "known filler" in b.refused[0]["detail"]


def test_the_retailers_own_store_number_never_merges(db: Database) -> None:
    service.set_rules(db, {"store_phones": ["030 234 5670"], "suggest": False})
    with db.transaction() as conn:
        a = resolve(conn, record("pos", "t1", phone="030-2345670", first_name="Anna"))
        b = resolve(conn, record("pos", "t2", phone="+31 30 234 5670", first_name="Anna"))
    assert a != b


def test_a_value_many_names_share_is_quarantined_at_once_and_its_merges_undone(
    db: Database,
) -> None:
    """Same-surname strangers merge on a till's filler until the fourth name arrives; then
    the value is quarantined, listed with its counts, and the merges are split again."""
    ids = []
    with db.transaction() as conn:
        for i, first in enumerate(["Anna", "A.", "Bram", "Cor"]):
            ids.append(resolve(conn, record("pos", f"t{i}", phone="0301357246", first_name=first)))
        assert len({canonical_profile_id(conn, p) for p in ids}) == 3  # Anna = A.
        last = resolve_record(
            conn, record("pos", "t9", phone="0301357246", first_name="Daan"), RULES
        )
    assert last.refused[0]["rule"] == "blocked_value"
    assert len(_record_profiles(db)) == 5
    [shared] = service.shared_values(db, "quarantined")
    assert (shared.kind, shared.value, shared.names, shared.records) == (
        "phone",
        "+31301357246",
        4,
        5,
    )
    with db.transaction() as conn:
        later = resolve(conn, record("pos", "t10", phone="0301357246", first_name="Anna"))
    assert len(_record_profiles(db)) == 6 and later not in _profiles(db, ids)


def test_household_values_link_only_when_first_names_agree(db: Database) -> None:
    """A family e-mail, card, tablet and landline: partners and twins stay apart, a
    nickname or an initial of the same person links, and a father and son of one name are
    kept apart by their birth dates."""
    with db.transaction() as conn:
        mum = resolve(
            conn, record("web", "c1", email="fam@ziggo.nl", first_name="Anna", last_name="Smit")
        )
        dad = resolve(
            conn, record("app", "a1", email="fam@ziggo.nl", first_name="Kees", last_name="Smit")
        )
        kees = resolve(
            conn, record("pos", "p1", email="fam@ziggo.nl", first_name="Cornelis", last_name="Smit")
        )
        twin_a = resolve(
            conn,
            record(
                "pos",
                "p2",
                loyalty_card="L77",
                first_name="Lotte",
                last_name="Bos",
                birth_date="2010-04-01",
            ),
        )
        twin_b = resolve(
            conn,
            record(
                "pos",
                "p3",
                loyalty_card="L77",
                first_name="Fleur",
                last_name="Bos",
                birth_date="2010-04-01",
            ),
        )
        tablet_a = resolve(
            conn, record("app", "a2", device_id="TAB", first_name="J.", last_name="Bos")
        )
        tablet_b = resolve(
            conn, record("app", "a3", device_id="TAB", first_name="Jan", last_name="Bos")
        )
        senior = resolve(
            conn,
            record(
                "web",
                "c2",
                phone="0201357246",
                first_name="Jan",
                last_name="Vos",
                birth_date="18-03-1960",
            ),
        )
        junior = resolve(
            conn,
            record(
                "web",
                "c3",
                phone="020-1357246",
                first_name="Jan",
                last_name="Vos",
                birth_date="1990/07/02",
            ),
        )
    assert mum != dad and dad == kees
    assert twin_a != twin_b and tablet_a == tablet_b and senior != junior
    with db.read() as conn:
        assert canonical_profile_id(conn, kees) == dad
    refusals = {r["detail"] for r in service.refusals(db)}
    assert "a email shared by different first names ('Kees', 'Anna')" in refusals
    assert "a phone shared by different birth dates (1990-07-02, 1960-03-18)" in refusals


def test_batch_quarantines_and_no_profile_joins_two_households(db: Database) -> None:
    data = []
    for i, (first, last) in enumerate(STRANGERS * 2):
        data.append(record("pos", f"t{i}", i, phone="0301357246", first_name=first, last_name=last))
    data.append(record("pos", "u1", 20, phone="0301357246", first_name="Anna", last_name="Smit"))
    result = batch.resolve_batch(db, data, RULES, workers=1, keep_assignment=True)
    assert result.quarantined == 1
    # Anna Smit's three records merged before the count reached the limit; undone after.
    assert len(set(result.profile_of_record)) == len(data)
    with db.read() as conn:
        assert quarantine.statuses(conn, [("phone", "+31301357246")]) == {
            ("phone", "+31301357246"): "quarantined"
        }


def _glued_store(db: Database) -> list[int]:
    """Four strangers merged on a shared number by the old rules (no name check, no
    quarantine), as a store that ran them has them."""
    old = MergeRules(suggest=False, name_checked_kinds=frozenset(), shared_value_names=1000)
    ids = []
    with db.transaction() as conn:
        for i, (first, last) in enumerate(STRANGERS):
            ids.append(
                resolve_record(
                    conn,
                    record("pos", f"t{i}", i, phone="0301357246", first_name=first, last_name=last),
                    old,
                ).profile_id
            )
        ids.append(
            resolve_record(
                conn, record("web", "c1", 9, email="anna@smit.nl", phone="0301357246"), old
            ).profile_id
        )
    return ids


def test_repair_splits_glued_profiles_through_the_link_log_and_release_restores_them(
    db: Database,
) -> None:
    ids = _glued_store(db)
    assert len(_record_profiles(db)) == 1
    before = service.get_profile(db, ids[0])
    assert len(before.records) == 5

    found = service.detect_shared_values(db)
    assert [(v.kind, v.value, v.names) for v in found] == [("phone", "+31301357246", 4)]
    plan = service.repair_profiles(db, apply=False, actor="test")  # dry run writes nothing
    assert len(plan.links) == 4 and plan.profiles == {ids[0]: 5} and not plan.applied
    assert len(_record_profiles(db)) == 1

    applied = service.repair_profiles(db, apply=True, actor="test")
    assert applied.applied and set(applied.result_profiles) == _record_profiles(db)
    assert len(_record_profiles(db)) == 5
    assert [e["action"] for e in service.merge_log(db, ids[0])].count("unlink") >= 1
    again = service.repair_profiles(db, apply=False, actor="test")
    assert again.links == []  # nothing left to repair

    # Reversible: a person releases the value and the profiles are as before.
    service.decide_shared_value(db, "phone", "030 135 7246", "released", "agent")
    assert len(_record_profiles(db)) == 1
    after = service.get_profile(db, ids[0])
    assert {r["id"] for r in after.records} == {r["id"] for r in before.records}
    # A block splits them again.
    service.decide_shared_value(db, "phone", "+31301357246", "blocked", "agent")
    assert len(_record_profiles(db)) == 5


def test_cli_lists_repairs_and_releases(
    sqlite_db: Database, tmp_path: Path, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", sqlite_db.url)
    from channelhub.core.settings import get_settings

    get_settings.cache_clear()
    _glued_store(sqlite_db)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "1 values newly quarantined" in run("customers", "quarantine", "detect")
    assert "4 names, 5 records" in run("customers", "quarantine", "list")
    assert "would split into 5 profiles (dry run)" in run("customers", "repair")
    assert "split into 5 profiles" in run("customers", "repair", "--apply")
    assert len(_record_profiles(sqlite_db)) == 5
    assert "is now released" in run("customers", "quarantine", "release", "phone", "0301357246")
    assert len(_record_profiles(sqlite_db)) == 1
