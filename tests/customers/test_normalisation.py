"""Each written form of Dutch and Swedish customer data normalizes to one value."""

from __future__ import annotations

import pytest

from channelhub.customers.model import (
    CustomerRecord,
    MergeRules,
    normalize_email,
    normalize_identifier,
    normalize_record,
)
from channelhub.customers.names import (
    first_names_agree,
    name_conflict,
    split_name,
    surname_key,
    surnames_agree,
)
from channelhub.customers.parsing import country_code, parse_birth_date
from channelhub.customers.placeholders import is_placeholder
from channelhub.customers.similarity import MatchFields, score_pair


@pytest.mark.parametrize(
    "written",
    [
        "jan.smit@gmail.com",
        "J.an.Smit@gmail.com",
        "jansmit+shop@gmail.com",
        "jan.smit@googlemail.com",
    ],
)
def test_gmail_dots_tags_and_googlemail_fold_to_one_mailbox(written: str) -> None:
    assert normalize_email(written) == "jansmit@gmail.com"


def test_other_providers_keep_their_dots_and_tags() -> None:
    assert normalize_email("jan.smit+shop@ziggo.nl") == "jan.smit+shop@ziggo.nl"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Sweden", "SE"), ("Sverige", "SE"), ("SWE", "SE"), ("SE", "SE"), ("se", "SE"),
        ("Zweden", "SE"), ("Nederland", "NL"), ("Netherlands", "NL"), ("NLD", "NL"),
        ("Holland", "NL"), ("België", "BE"), ("Belgique", "BE"), ("Deutschland", "DE"),
        ("DEU", "DE"), ("Atlantis", ""), ("", ""),
    ],
)  # fmt: skip
def test_country_names_in_several_languages_give_the_iso_code(written: str, code: str) -> None:
    assert country_code(written) == code


@pytest.mark.parametrize("country", ["Sweden", "Sverige", "SWE", "SE"])
def test_a_swedish_mobile_is_read_as_swedish_whatever_the_country_is_called(country: str) -> None:
    record = CustomerRecord("web", "c1", phone="070-123 45 67", country=country)
    assert normalize_record(record, MergeRules()).identifiers == (("phone", "+46701234567"),)


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("+31 6 13572468", "NL"), ("0031613572468", "NL"), ("06-13572468", "NL"),
        ("0613572468", "NL"), ("+31613572468", "SE"),
    ],
)  # fmt: skip
def test_dutch_phone_forms(written: str, region: str) -> None:
    assert normalize_identifier("phone", written, region=region) == "+31613572468"


@pytest.mark.parametrize("written", ["+46 70 123 45 67", "070-1234567", "0046701234567"])
def test_swedish_phone_forms(written: str) -> None:
    assert normalize_identifier("phone", written, region="SE") == "+46701234567"


@pytest.mark.parametrize(
    "written", ["1987-03-18", "18-03-1987", "1987/03/18", "18.3.1987", "18/03/1987", "19870318"]
)
def test_birth_dates_in_nl_and_se_forms(written: str) -> None:
    assert parse_birth_date(written) == "1987-03-18"


def test_an_impossible_birth_date_is_refused_and_reported() -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_birth_date("march 1987")
    record = CustomerRecord("web", "c1", email="a@shop.nl", birth_date="31-02-1987")
    normalized = normalize_record(record, MergeRules())
    assert normalized.attributes["birth_date"] == ""
    assert normalized.invalid[0][0] == "birth_date"


@pytest.mark.parametrize(
    "written",
    ["van der Rossum", "Rossum, van der", "Rossum van der", "Van Der Rossum", "VAN DER ROSSUM"],
)
def test_surname_particle_forms_give_one_key(written: str) -> None:
    assert surname_key(written) == "vanderrossum"


def test_diacritics_and_ij_y_are_folded() -> None:
    assert surnames_agree("Åberg", "Aberg") and surnames_agree("Bijl", "Byl")
    assert first_names_agree("Åsa", "Asa") and first_names_agree("Björn", "Bjorn")
    assert surnames_agree("van der Rossum", "Rossum")  # a dropped particle
    assert not surnames_agree("Visser", "Bakker")


def test_nicknames_and_initials_agree_different_first_names_do_not() -> None:
    assert first_names_agree("Kees", "Cornelis") and first_names_agree("J.", "Jan")
    assert first_names_agree("Lasse", "Lars") and first_names_agree("Johan", "Johannes")
    assert not first_names_agree("Anna", "Emma")
    assert name_conflict("Anna", "Smit", "Emma", "Smit") == "different first names ('Anna', 'Emma')"


def test_full_names_split_in_both_orders() -> None:
    assert split_name("Sanne de Vries") == ("Sanne", "de Vries")
    assert split_name("Vries, Sanne de") == ("Sanne", "de Vries")
    assert split_name("de Boer, Willem") == ("Willem", "de Boer")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "geen@email.nl"), ("email", "ingen@mail.se"), ("email", "noemail@shop.nl"),
        ("email", "keine@mail.de"), ("email", "jan@geen.nl"), ("email", "xxxx@ziggo.nl"),
        ("phone", "+31000000000"), ("phone", "+31612345678"), ("phone", "+31600000000"),
        ("phone", "+46701234567"), ("loyalty_card", "0000000000"),
    ],
)  # fmt: skip
def test_known_fillers_are_placeholders(kind: str, value: str) -> None:
    assert is_placeholder(kind, value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("email", "anna.smit@gmail.com"), ("email", "c@shop.nl"), ("phone", "+31613572468")],
)
def test_real_values_are_not_placeholders(kind: str, value: str) -> None:
    assert not is_placeholder(kind, value)


def _fields(first: str, last: str, birth: str = "") -> MatchFields:
    address = {"line1": "Kerkstraat 1", "postal_code": "3511 AB", "city": "Utrecht"}
    return MatchFields.of(
        {"first_name": first, "last_name": last, "birth_date": birth, "address": address}
    )


def test_a_shared_birth_date_never_overrides_a_conflicting_first_name() -> None:
    twins = score_pair(_fields("Anna", "Smit", "2001-05-04"), _fields("Emma", "Smit", "2001-05-04"))
    same = score_pair(_fields("Anna", "Smit", "2001-05-04"), _fields("Anna", "Smit", "2001-05-04"))
    assert twins[0] < MergeRules().upper_threshold  # at most a suggestion
    assert same[0] == 1.0
    # a birth date still raises the score of agreeing names
    nickname = score_pair(_fields("Kees", "Smit", "1970-01-02"), _fields("Cornelis", "Smit", ""))
    assert (
        nickname[0]
        < score_pair(
            _fields("Kees", "Smit", "1970-01-02"), _fields("Cornelis", "Smit", "1970-01-02")
        )[0]
    )


def test_a_one_word_name_may_be_either_part_of_a_full_name() -> None:
    assert name_conflict("", "Ann", "Ann", "Smit") is None
    assert name_conflict("Ann", "Smit", "", "Smit") is None
    assert name_conflict("", "Piet", "Ann", "Smit") == "different names ('Piet', 'Ann Smit')"
