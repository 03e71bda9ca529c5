"""Reference data: locales, channels, attributes, families, categories, requirements, presets."""

from __future__ import annotations

import pytest

from channelhub.catalog import service
from channelhub.catalog.browse import get_product
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    Requirement,
    RuleKind,
)
from channelhub.catalog.presets import PRESETS
from channelhub.core.database import Database
from channelhub.core.errors import Conflict, InvalidInput, NotFound
from tests.factories import make_catalog, mug, save


@pytest.fixture
def catalog(db: Database) -> Database:
    make_catalog(db)
    return db


def channel(
    code: str, currency: str = "EUR", locales: tuple[str, ...] = ("nl_NL",)
) -> service.ChannelInput:
    return service.ChannelInput(
        code, code.title(), ChannelKind.APP, ChannelMode.INDEPENDENT, locales, currency
    )


def test_channels_check_currency_and_locales(catalog: Database) -> None:
    with pytest.raises(InvalidInput) as error:
        service.save_channel(catalog, channel("app", currency="EURO"))
    assert error.value.problems[0].location == "currency"
    with pytest.raises(InvalidInput, match="not enabled"):
        service.save_channel(catalog, channel("app", locales=("fr_FR",)))
    with pytest.raises(InvalidInput, match="lower-case"):
        service.save_channel(catalog, channel("App"))
    saved = service.save_channel(catalog, channel("app"))
    assert (saved.mode, saved.currency) == (ChannelMode.INDEPENDENT, "EUR")


def test_attribute_type_and_scope_are_fixed_once_created(catalog: Database) -> None:
    with pytest.raises(Conflict, match="type"):
        service.save_attribute(catalog, Attribute("brand", AttributeType.TEXTAREA))
    with pytest.raises(Conflict, match="cannot be removed"):
        service.save_attribute(
            catalog, Attribute("color", AttributeType.SELECT, options=("black",))
        )
    grown = service.save_attribute(
        catalog, Attribute("color", AttributeType.SELECT, options=("black", "white", "red", "blue"))
    )
    assert grown.options[-1] == "blue"


@pytest.mark.parametrize(
    ("attribute", "location"),
    [
        (Attribute("shade", AttributeType.SELECT), "options"),
        (Attribute("shade", AttributeType.TEXT, options=("a",)), "options"),
        (Attribute("shade", AttributeType.NUMBER, max_length=3), "max_length"),
        (Attribute("shade", AttributeType.TEXT, units=("GRAM",)), "units"),
        (Attribute("code13", AttributeType.IDENTIFIER, localizable=True), "localizable"),
    ],
)
def test_attribute_definitions_are_validated(
    catalog: Database, attribute: Attribute, location: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        service.save_attribute(catalog, attribute)
    assert error.value.problems[0].location == location


def test_families_check_their_attributes_required_and_axes(catalog: Database) -> None:
    with pytest.raises(InvalidInput) as error:
        service.save_family(
            catalog, Family("bad", ("name", "nope"), required=("brand",), variant_axes=("name",))
        )
    locations = sorted(p.location for p in error.value.problems)
    assert locations == ["attributes", "required", "variant_axes"]


def test_a_familys_axes_cannot_change_once_it_has_variants(catalog: Database) -> None:
    from channelhub.catalog.model import ProductKind
    from channelhub.catalog.products import ProductInput, ValueInput

    save(
        catalog,
        ProductInput("TEE", family="shirts", kind=ProductKind.MODEL),
        ProductInput(
            "TEE-1", parent="TEE", values=[ValueInput("color", "red"), ValueInput("size", "s")]
        ),
    )
    family = service.get_family(catalog, "shirts")
    with pytest.raises(Conflict, match="axes"):
        service.save_family(catalog, Family("shirts", family.attributes, variant_axes=("color",)))


def test_categories_move_with_their_subtree_and_never_under_themselves(catalog: Database) -> None:
    service.save_category(catalog, "mugs", "kitchen")
    service.save_category(catalog, "kitchen", "apparel")
    paths = {c.code: c.path for c in service.list_categories(catalog)}
    assert paths["mugs"] == "/apparel/kitchen/mugs/"
    with pytest.raises(Conflict, match="own subtree"):
        service.save_category(catalog, "apparel", "mugs")
    with pytest.raises(NotFound):
        service.save_category(catalog, "cups", "nowhere")


def test_requirements_validate_their_parameters(catalog: Database) -> None:
    for bad in (
        Requirement("name", RuleKind.MAX_LENGTH),
        Requirement("name", RuleKind.MAX_LENGTH, -1),
        Requirement("name", RuleKind.REQUIRED, 3),
        Requirement("name", RuleKind.ALLOWED_VALUES, [1, 2]),
        Requirement("name", RuleKind.MIN_VALUE, "lots"),
    ):
        with pytest.raises(InvalidInput):
            service.add_requirements(catalog, "bol", [bad])
    with pytest.raises(InvalidInput, match="does not use locale"):
        service.add_requirements(
            catalog, "bol", [Requirement("name", RuleKind.REQUIRED, locales=frozenset({"en_US"}))]
        )
    with pytest.raises(NotFound):
        service.add_requirements(
            catalog, "bol", [Requirement("name", RuleKind.REQUIRED, family="x")]
        )


def test_a_family_specific_requirement_touches_only_that_family(catalog: Database) -> None:
    save(catalog, mug())
    service.add_requirements(
        catalog, "bol", [Requirement("gtin", RuleKind.REQUIRED, family="shirts")]
    )
    bol = next(c for c in get_product(catalog, "MUG-1").completeness if c.channel == "bol")
    assert bol.is_complete


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_replace_a_channels_rules_and_rename_attributes(
    catalog: Database, preset: str
) -> None:
    service.add_requirements(catalog, "bol", [Requirement("brand", RuleKind.REQUIRED)])
    rules = service.apply_preset(catalog, "bol", preset, {"name": "title_text"})
    assert len(rules) == len(PRESETS[preset])
    assert "title_text" in {r.requirement.attribute for r in rules}
    assert "name" not in {r.requirement.attribute for r in rules}
    with pytest.raises(NotFound, match="choose from"):
        service.apply_preset(catalog, "bol", "ebay")
