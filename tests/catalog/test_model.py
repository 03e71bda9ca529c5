"""The pure catalog rules: values, scopes, inheritance, completeness, workflow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean

from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelRules,
    Family,
    IdentifierKind,
    InvalidValue,
    Requirement,
    RuleKind,
    Status,
    can_transition,
    check_rule,
    compute_completeness,
    effective_values,
    is_valid_gtin,
    normalize_value,
    parse_text_value,
    resolve,
)

TEXT = Attribute("name", AttributeType.TEXT, localizable=True)
NUMBER = Attribute("pieces", AttributeType.NUMBER)
SELECT = Attribute("color", AttributeType.SELECT, options=("red", "blue"))
MULTI = Attribute("features", AttributeType.MULTISELECT, options=("a", "b"))
PRICE = Attribute("price", AttributeType.PRICE)
WEIGHT = Attribute("weight", AttributeType.MEASUREMENT, units=("GRAM", "KILOGRAM"))
GTIN = Attribute("gtin", AttributeType.IDENTIFIER, identifier_kind=IdentifierKind.GTIN)
DATE = Attribute("released", AttributeType.DATE)
BOOL = Attribute("organic", AttributeType.BOOLEAN)
MEDIA = Attribute("images", AttributeType.MEDIA)


@pytest.mark.parametrize(
    ("attribute", "data", "stored"),
    [
        (TEXT, "Mug", "Mug"),
        (NUMBER, "12.50", "12.5"),
        (NUMBER, 3, "3"),
        (SELECT, "red", "red"),
        (MULTI, ["a", "b", "a"], ["a", "b"]),
        (PRICE, [{"amount": "9.9", "currency": "EUR"}], [{"amount": "9.90", "currency": "EUR"}]),
        (PRICE, [{"amount": 1200, "currency": "JPY"}], [{"amount": "1200", "currency": "JPY"}]),
        (WEIGHT, {"amount": "0.40", "unit": "KILOGRAM"}, {"amount": "0.4", "unit": "KILOGRAM"}),
        (GTIN, "4006381333931", "4006381333931"),
        (DATE, "2026-03-01", "2026-03-01"),
        (BOOL, False, False),
        (MEDIA, ["https://cdn/a.jpg"], ["https://cdn/a.jpg"]),
    ],
)
def test_values_are_stored_in_normal_form(
    attribute: Attribute, data: object, stored: object
) -> None:
    assert normalize_value(attribute, data) == stored


@pytest.mark.parametrize(
    ("attribute", "data", "reason"),
    [
        (TEXT, 12, "takes text"),
        (TEXT, "x" * 256, "limit is 255"),
        (TEXT, "two\nlines", "line breaks"),
        (NUMBER, "twelve", "not a number"),
        (NUMBER, "1e999999", "out of range"),
        (NUMBER, True, "takes a number"),
        (SELECT, "green", "not an option"),
        (MULTI, ["c"], "not an option"),
        (PRICE, [{"amount": "9.999", "currency": "EUR"}], "2 decimals"),
        (PRICE, [{"amount": "1.5", "currency": "JPY"}], "0 decimals"),
        (PRICE, [{"amount": "1", "currency": "XYZ"}], "ISO 4217"),
        (PRICE, [{"amount": "-1", "currency": "EUR"}], "negative"),
        (WEIGHT, {"amount": "1", "unit": "POUND"}, "not one of"),
        (GTIN, "4006381333932", "not a valid GTIN"),
        (GTIN, "12345", "not a valid GTIN"),
        (DATE, "2026-02-30", "not a date"),
        (BOOL, "yes", "true or false"),
    ],
)
def test_a_value_that_does_not_fit_says_why(
    attribute: Attribute, data: object, reason: str
) -> None:
    with pytest.raises(InvalidValue, match=reason):
        normalize_value(attribute, data)


def test_csv_cells_are_parsed_per_type() -> None:
    assert parse_text_value(MULTI, "a, b") == ["a", "b"]
    assert parse_text_value(BOOL, "Yes") is True
    assert parse_text_value(PRICE, "9.90 EUR, 10.50 USD") == [
        {"amount": "9.90", "currency": "EUR"},
        {"amount": "10.50", "currency": "USD"},
    ]
    assert parse_text_value(WEIGHT, "180 GRAM") == {"amount": "180", "unit": "GRAM"}
    with pytest.raises(InvalidValue, match="boolean"):
        parse_text_value(BOOL, "perhaps")
    with pytest.raises(InvalidValue, match="<amount> <currency>"):
        parse_text_value(PRICE, "9.90")


@given(st.text(alphabet="0123456789", min_size=7, max_size=15))
def test_gtin_check_agrees_with_python_stdnum(digits: str) -> None:
    expected = len(digits) in (8, 12, 13, 14) and ean.is_valid(digits)
    assert is_valid_gtin(digits) == expected


def test_gtin_rejects_non_ascii_digits() -> None:
    assert not is_valid_gtin("４００６３８１３３３９３１")
    assert not is_valid_gtin("4006381333931x")


def test_a_channel_override_wins_over_the_default_and_locales_stay_apart() -> None:
    values = {
        "name": {"*|en_US": "Mug", "bol|en_US": "Mug (bol)", "*|nl_NL": "Mok"},
        "brand": {"*|*": "Hearth", "google|*": "Hearth & Co"},
    }
    assert resolve(values, "name", "bol", "en_US") == "Mug (bol)"
    assert resolve(values, "name", "web", "en_US") == "Mug"
    assert resolve(values, "name", "bol", "nl_NL") == "Mok"
    assert resolve(values, "name", "bol", "de_DE") is None
    assert resolve(values, "brand", "google", None) == "Hearth & Co"
    assert resolve(values, "brand", "bol", None) == "Hearth"


def test_a_variant_inherits_its_models_values_and_overrides_per_scope() -> None:
    model = {"name": {"*|en_US": "Tee", "*|nl_NL": "Shirt"}, "brand": {"*|*": "Nord"}}
    variant = {"name": {"*|en_US": "Tee, red"}, "color": {"*|*": "red"}}
    merged = effective_values(variant, model)
    assert merged["name"] == {"*|en_US": "Tee, red", "*|nl_NL": "Shirt"}
    assert merged["brand"] == {"*|*": "Nord"}
    assert merged["color"] == {"*|*": "red"}
    assert model["name"] == {"*|en_US": "Tee", "*|nl_NL": "Shirt"}  # the model is untouched


@pytest.mark.parametrize(
    ("rule", "param", "data", "fails"),
    [
        (RuleKind.REQUIRED, None, None, True),
        (RuleKind.REQUIRED, None, "", True),
        (RuleKind.REQUIRED, None, [], True),
        (RuleKind.REQUIRED, None, "x", False),
        (RuleKind.MAX_LENGTH, 3, "abcd", True),
        (RuleKind.MAX_LENGTH, 3, "abc", False),
        (RuleKind.MAX_LENGTH, 3, None, False),
        (RuleKind.MIN_LENGTH, 3, "ab", True),
        (RuleKind.ALLOWED_VALUES, ["red"], "blue", True),
        (RuleKind.ALLOWED_VALUES, ["red"], ["red"], False),
        (RuleKind.MIN_ITEMS, 2, ["a"], True),
        (RuleKind.MIN_ITEMS, 1, None, True),
        (RuleKind.MAX_ITEMS, 1, ["a", "b"], True),
        (RuleKind.VALID_GTIN, None, "4006381333931", False),
        (RuleKind.VALID_GTIN, None, "4006381333932", True),
        (RuleKind.MIN_VALUE, 1, "0.5", True),
        (RuleKind.MAX_VALUE, 10, {"amount": "11", "unit": "GRAM"}, True),
        (RuleKind.MAX_VALUE, 10, "10", False),
    ],
)
def test_each_rule_judges_a_value(rule: RuleKind, param: object, data: object, fails: bool) -> None:
    message = check_rule(Requirement("attr", rule, param), data, "")
    assert (message is not None) == fails
    if fails:
        assert message is not None and message.startswith("attr")


def test_completeness_lists_what_is_missing_per_locale() -> None:
    attributes = {"name": TEXT, "gtin": GTIN, "images": MEDIA}
    family = Family("mugs", ("name", "gtin", "images"), required=("name",))
    rules = ChannelRules(
        "bol",
        ("en_US", "nl_NL"),
        (
            Requirement("gtin", RuleKind.REQUIRED),
            Requirement("images", RuleKind.MIN_ITEMS, 2),
            Requirement("name", RuleKind.MAX_LENGTH, 5, locales=frozenset({"nl_NL"})),
            Requirement("gtin", RuleKind.REQUIRED, family="other"),
        ),
    )
    values = {"name": {"*|en_US": "Mug", "*|nl_NL": "Koffiemok"}, "images": {"*|*": ["a"]}}
    by_locale = {c.locale: c for c in compute_completeness(values, family, rules, attributes)}
    en, nl = by_locale["en_US"], by_locale["nl_NL"]
    assert (en.required, en.satisfied) == (3, 1)
    assert (nl.required, nl.satisfied) == (4, 1)
    assert [m.attribute for m in nl.missing] == ["gtin", "images", "name"]
    assert nl.missing[2].message == "name (nl_NL) is 9 characters, at most 5 allowed"
    assert nl.missing[1].rule == "min_items=2"
    assert en.ratio == 33 and not en.is_complete


def test_a_rule_on_an_unknown_attribute_says_so() -> None:
    rules = ChannelRules("bol", ("nl_NL",), (Requirement("ean", RuleKind.REQUIRED),))
    (result,) = compute_completeness({}, None, rules, {})
    assert "no such attribute" in result.missing[0].message


@given(
    st.dictionaries(
        st.sampled_from(["name", "gtin", "images"]),
        st.dictionaries(st.sampled_from(["*|*", "*|en_US", "bol|en_US"]), st.text(max_size=8)),
    )
)
def test_completeness_counts_are_consistent(values: dict[str, dict[str, str]]) -> None:
    attributes = {"name": TEXT, "gtin": GTIN, "images": MEDIA}
    rules = ChannelRules(
        "bol",
        ("en_US",),
        (
            Requirement("name", RuleKind.REQUIRED),
            Requirement("name", RuleKind.MAX_LENGTH, 4),
            Requirement("gtin", RuleKind.VALID_GTIN),
            Requirement("images", RuleKind.MIN_ITEMS, 1),
        ),
    )
    for result in compute_completeness(values, None, rules, attributes):
        assert 0 <= result.satisfied <= result.required == 4
        assert len(result.missing) == result.required - result.satisfied
        assert (result.ratio == 100) == result.is_complete


def test_the_workflow_allows_only_its_transitions() -> None:
    assert can_transition(Status.DRAFT, Status.IN_REVIEW)
    assert can_transition(Status.IN_REVIEW, Status.APPROVED)
    assert can_transition(Status.APPROVED, Status.ARCHIVED)
    assert can_transition(Status.ARCHIVED, Status.DRAFT)
    assert not can_transition(Status.DRAFT, Status.APPROVED)
    assert not can_transition(Status.ARCHIVED, Status.APPROVED)


def test_prices_keep_currency_digits_exactly() -> None:
    stored = normalize_value(PRICE, [{"amount": "10", "currency": "KWD"}])
    assert stored == [{"amount": "10.000", "currency": "KWD"}]


def test_a_rule_required_by_both_family_and_channel_counts_once() -> None:
    rules = ChannelRules("bol", ("nl_NL",), (Requirement("name", RuleKind.REQUIRED),))
    family = Family("mugs", ("name",), required=("name",))
    (result,) = compute_completeness({}, family, rules, {"name": TEXT})
    assert result.required == 1 and len(result.missing) == 1
