"""Writing and reading products: upsert, inheritance, completeness kept current, workflow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channelhub.catalog import service, store
from channelhub.catalog.browse import ProductFilter, get_product, list_products, product_history
from channelhub.catalog.model import ProductKind, Requirement, RuleKind, Status
from channelhub.catalog.products import ProductInput, change_status, save_products
from channelhub.core.database import Database
from channelhub.core.errors import Conflict
from channelhub.core.events import outbox
from tests.factories import gtin, make_catalog, mug, save, value


@pytest.fixture
def catalog(db: Database) -> Database:
    make_catalog(db)
    return db


def completeness(db: Database, sku: str) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (c.channel, c.locale): (c.satisfied, c.required) for c in get_product(db, sku).completeness
    }


def test_a_new_product_is_stored_with_its_values_and_categories(catalog: Database) -> None:
    save(catalog, mug(values=[value("name", "Mug", "en_US"), value("gtin", gtin(1))]))
    view = get_product(catalog, "MUG-1")
    assert view.kind == "simple" and view.status == "draft" and view.categories == ["kitchen"]
    assert [v.data for v in view.values["gtin"]] == [gtin(1)]
    assert view.values["name"][0].locale == "en_US"


def test_the_same_write_twice_changes_nothing(catalog: Database) -> None:
    save(catalog, mug())
    again = save_products(catalog, [mug()], actor="test")
    assert again.unchanged == ["MUG-1"] and not again.updated
    assert len(product_history(catalog, "MUG-1")) == 1  # only its creation


def test_history_records_who_changed_what_from_what_to_what(catalog: Database) -> None:
    save(catalog, mug())
    save_products(catalog, [ProductInput("MUG-1", values=[value("brand", "Hearth & Co")])], "alice")
    latest, created = product_history(catalog, "MUG-1")
    assert latest.actor == "alice"
    assert latest.changes == {"brand": ["Hearth", "Hearth & Co"]}
    assert created.source == "created" and created.actor == "test"


def test_a_rejected_product_is_not_written_at_all(catalog: Database) -> None:
    save(catalog, mug())
    result = save_products(
        catalog,
        [ProductInput("MUG-1", values=[value("brand", "New"), value("gtin", "123")])],
        actor="test",
    )
    assert result.rejected[0].column == "gtin" and "not a valid GTIN" in result.rejected[0].reason
    assert get_product(catalog, "MUG-1").values["brand"][0].data == "Hearth"


@pytest.mark.parametrize(
    ("item", "column", "reason"),
    [
        (ProductInput("X-1"), "family", "needs a family"),
        (ProductInput("X-1", family="nope"), "family", "does not exist"),
        (ProductInput(" X-1", family="mugs"), "sku", "SKU must be"),
        (mug("X-1", categories=["garden"]), "categories", "unknown category garden"),
        (mug("X-1", values=[value("title", "T", "en_US")]), "title", "scopable"),
        (mug("X-1", values=[value("name", "T")]), "name", "localizable"),
        (mug("X-1", values=[value("brand", "B", "en_US")]), "brand", "not localizable"),
        (mug("X-1", values=[value("name", "T", "de_DE")]), "name", "not enabled"),
        (mug("X-1", values=[value("name", "T", "en_US", "bol")]), "name", "does not use locale"),
        (mug("X-1", values=[value("colour", "red")]), "colour", "does not exist"),
        (ProductInput("X-1", parent="NOPE"), "parent", "does not exist"),
    ],
)
def test_bad_products_are_rejected_with_column_and_reason(
    catalog: Database, item: ProductInput, column: str, reason: str
) -> None:
    result = save_products(catalog, [item], actor="test")
    assert len(result.rejected) == 1
    assert result.rejected[0].column == column
    assert reason in result.rejected[0].reason


def shirt_model(db: Database) -> None:
    save(
        db,
        ProductInput(
            "TEE",
            family="shirts",
            kind=ProductKind.MODEL,
            values=[
                value("name", "Tee", "en_US"),
                value("name", "Shirt", "nl_NL"),
                value("brand", "Nord"),
            ],
        ),
        ProductInput("TEE-R-S", parent="TEE", values=[value("color", "red"), value("size", "s")]),
        ProductInput("TEE-R-M", parent="TEE", values=[value("color", "red"), value("size", "m")]),
    )


def test_variants_inherit_the_models_values_and_family(catalog: Database) -> None:
    shirt_model(catalog)
    variant = get_product(catalog, "TEE-R-S")
    assert variant.kind == "variant" and variant.parent == "TEE" and variant.family == "shirts"
    assert variant.inherited["brand"][0].data == "Nord"
    assert get_product(catalog, "TEE").variants == ["TEE-R-M", "TEE-R-S"]


def test_variants_need_their_axes_and_a_unique_combination(catalog: Database) -> None:
    shirt_model(catalog)
    result = save_products(
        catalog,
        [
            ProductInput("TEE-X", parent="TEE", values=[value("color", "red")]),
            ProductInput("TEE-Y", parent="TEE", values=[value("color", "red"), value("size", "m")]),
        ],
        actor="test",
    )
    reasons = {r.sku: r.reason for r in result.rejected}
    assert "axis size" in reasons["TEE-X"]
    assert "TEE-R-M" in reasons["TEE-Y"] and "already has" in reasons["TEE-Y"]


def test_a_change_on_the_model_recomputes_its_variants(catalog: Database) -> None:
    service.add_requirements(catalog, "bol", [Requirement("description", RuleKind.REQUIRED)])
    shirt_model(catalog)
    assert completeness(catalog, "TEE-R-S")[("bol", "nl_NL")] == (1, 2)
    save(catalog, ProductInput("TEE", values=[value("description", "Zacht", "nl_NL")]))
    assert completeness(catalog, "TEE-R-S")[("bol", "nl_NL")] == (2, 2)
    assert completeness(catalog, "TEE-R-M")[("bol", "nl_NL")] == (2, 2)


def test_variants_follow_their_models_workflow_status(catalog: Database) -> None:
    shirt_model(catalog)
    change_status(catalog, "TEE", Status.IN_REVIEW, "alice")
    assert get_product(catalog, "TEE-R-S").status == "in_review"
    with pytest.raises(Conflict, match="follows its model"):
        change_status(catalog, "TEE-R-S", Status.APPROVED, "alice")
    result = save_products(catalog, [ProductInput("TEE-R-S", status=Status.DRAFT)], "alice")
    assert result.rejected[0].column == "status"


def test_the_workflow_refuses_a_skipped_step(catalog: Database) -> None:
    save(catalog, mug())
    with pytest.raises(Conflict, match="can move to"):
        change_status(catalog, "MUG-1", Status.APPROVED, "alice")
    change_status(catalog, "MUG-1", Status.IN_REVIEW, "alice")
    change_status(catalog, "MUG-1", Status.APPROVED, "bob")
    assert product_history(catalog, "MUG-1")[0].changes == {"status": ["in_review", "approved"]}


def test_publishable_only_when_approved_and_complete(catalog: Database) -> None:
    service.add_requirements(catalog, "bol", [Requirement("gtin", RuleKind.REQUIRED)])
    save(catalog, mug())
    assert get_product(catalog, "MUG-1").publishable_on == []
    change_status(catalog, "MUG-1", Status.IN_REVIEW, "a")
    change_status(catalog, "MUG-1", Status.APPROVED, "a")
    assert get_product(catalog, "MUG-1").publishable_on == ["web"]
    save(catalog, ProductInput("MUG-1", values=[value("gtin", gtin(7))]))
    assert get_product(catalog, "MUG-1").publishable_on == ["bol", "web"]


def test_a_channel_override_changes_only_that_channels_completeness(catalog: Database) -> None:
    service.add_requirements(catalog, "bol", [Requirement("brand", RuleKind.MAX_LENGTH, 5)])
    service.add_requirements(catalog, "web", [Requirement("brand", RuleKind.MAX_LENGTH, 5)])
    item = mug()
    item.values.append(value("brand", "Hrth", channel="bol"))
    save(catalog, item)
    state = completeness(catalog, "MUG-1")
    assert state[("bol", "nl_NL")] == (2, 2)
    assert state[("web", "nl_NL")] == (1, 2)


def test_requirement_changes_recompute_existing_products_in_bulk(catalog: Database) -> None:
    save(catalog, *(mug(f"MUG-{i}") for i in range(30)))
    [added] = service.add_requirements(catalog, "bol", [Requirement("gtin", RuleKind.REQUIRED)])
    assert all(completeness(catalog, f"MUG-{i}")[("bol", "nl_NL")] == (1, 2) for i in (0, 29))
    assert completeness(catalog, "MUG-0")[("web", "en_US")] == (1, 1)
    incomplete = list_products(catalog, ProductFilter(channel="bol", complete=False), limit=100)
    assert len(incomplete.items) == 30
    service.remove_requirement(catalog, "bol", added.id)
    assert completeness(catalog, "MUG-5")[("bol", "nl_NL")] == (1, 1)
    assert list_products(catalog, ProductFilter(channel="bol", complete=False)).items == []


def test_a_family_requirement_change_recomputes_its_products(catalog: Database) -> None:
    save(catalog, mug())
    family = service.get_family(catalog, "mugs")
    service.save_family(
        catalog,
        type(family)(
            family.code, family.attributes, ("name", "brand", "images"), family.variant_axes
        ),
    )
    assert completeness(catalog, "MUG-1")[("web", "en_US")] == (2, 3)


def test_a_channels_new_locale_is_judged_at_once(catalog: Database) -> None:
    save(catalog, mug())
    channel = service.get_channel(catalog, "bol")
    service.save_channel(
        catalog,
        service.ChannelInput(
            "bol", channel.name, channel.kind, channel.mode, ("nl_NL", "en_US"), "EUR"
        ),
    )
    assert ("bol", "en_US") in completeness(catalog, "MUG-1")


def test_search_combines_filters_and_pages_with_a_cursor(catalog: Database) -> None:
    service.add_requirements(catalog, "bol", [Requirement("gtin", RuleKind.REQUIRED)])
    items = [mug(f"MUG-{i:02d}") for i in range(25)]
    items[3].values.append(value("gtin", gtin(3)))
    items[4].categories = ["apparel"]
    items[5].values.append(value("name", "Espresso cup", "en_US"))
    save(catalog, *items)
    assert [p.sku for p in list_products(catalog, ProductFilter(q="espresso")).items] == ["MUG-05"]
    assert [p.sku for p in list_products(catalog, ProductFilter(category="apparel")).items] == [
        "MUG-04"
    ]
    home = list_products(catalog, ProductFilter(category="home"), limit=100).items
    assert len(home) == 24  # kitchen is under home
    complete = list_products(catalog, ProductFilter(channel="bol", complete=True)).items
    assert [p.sku for p in complete] == ["MUG-03"]
    seen: list[str] = []
    cursor = None
    while True:
        page = list_products(catalog, ProductFilter(family="mugs"), cursor=cursor, limit=7)
        seen += [p.sku for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(f"MUG-{i:02d}" for i in range(25))
    assert list_products(catalog, ProductFilter(status=Status.APPROVED)).items == []


def test_every_change_is_announced_in_the_outbox(catalog: Database) -> None:
    save(catalog, mug())
    save(catalog, ProductInput("MUG-1", values=[value("brand", "Other")]))
    with catalog.read() as conn:
        events = conn.execute(select(outbox.c.topic, outbox.c.key, outbox.c.payload)).all()
    assert [(t, k) for t, k, _ in events] == [("catalog.product_changed", "MUG-1")] * 2
    assert events[1].payload["fields"] == ["brand"]


def test_gaps_exist_only_for_incomplete_pairs(catalog: Database) -> None:
    service.add_requirements(catalog, "bol", [Requirement("gtin", RuleKind.REQUIRED)])
    complete = mug("B")
    complete.values.append(value("gtin", gtin(2)))
    save(catalog, mug("A"), complete)
    with catalog.read() as conn:
        gaps = conn.execute(
            select(store.products.c.sku, store.product_gaps.c.locale).join(
                store.product_gaps, store.product_gaps.c.product_id == store.products.c.id
            )
        ).all()
    assert [tuple(g) for g in gaps] == [("A", "nl_NL")]
