"""Pure rules of the engine: fan-out, backoff, redaction, mapping."""

from __future__ import annotations

import random

import pytest

from channelhub.core.errors import InvalidInput
from channelhub.sync.mapping import MappingSpec, map_listing, pick_value
from channelhub.sync.model import (
    REDACTED,
    Fanout,
    JobKind,
    backoff_seconds,
    fanout_of,
    redact_headers,
    redact_text,
)


def test_fanout_of_each_topic() -> None:
    assert fanout_of("inventory.atp_changed", "MUG-1", {}) == Fanout(JobKind.STOCK, "MUG-1")
    assert fanout_of("pricing.price_changed", "web:MUG-1", {"sku": "MUG-1"}) == Fanout(
        JobKind.PRICES, "MUG-1", "web"
    )
    assert fanout_of("orders.status_changed", "bol:123", {}) == Fanout(
        JobKind.FULFILMENTS, "123", "bol"
    )
    assert fanout_of("catalog.product_changed", "MUG-1", {}) == Fanout(JobKind.LISTINGS, "MUG-1")
    assert fanout_of("inventory.oversold", "MUG-1", {}) is None


def test_backoff_grows_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [backoff_seconds(n, 1.0, 30.0, rng=rng) for n in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays), "jittered"
    assert backoff_seconds(1, 1.0, 30.0, retry_after=12.0, rng=rng) == 12.0
    assert backoff_seconds(40, 1.0, 30.0, rng=rng) <= 30.0


def test_redaction_masks_secret_fields_parameters_headers_and_known_values() -> None:
    headers = redact_headers(
        [("Authorization", "Bearer abc"), ("X-Shopify-Access-Token", "shpat_1"), ("Accept", "*/*")]
    )
    assert headers == {
        "Authorization": REDACTED,
        "X-Shopify-Access-Token": REDACTED,
        "Accept": "*/*",
    }
    body = '{"client_id": "me", "client_secret": "s3cr3t", "nested": {"access_token": "t0k"}}'
    redacted = redact_text(body)
    assert "s3cr3t" not in redacted and "t0k" not in redacted and '"me"' in redacted
    query = "grant_type=client_credentials&client_secret=s3cr3t&x=1"
    assert redact_text(query) == f"grant_type=client_credentials&client_secret={REDACTED}&x=1"
    assert (
        redact_text("echo of hunter22 in an error", ["hunter22"])
        == f"echo of {REDACTED} in an error"
    )


def test_pick_value_prefers_the_most_specific_scope() -> None:
    scoped = [(None, None, "any"), ("nl_NL", None, "nl"), ("nl_NL", "bol", "bol nl")]
    assert pick_value(scoped, "bol", "nl_NL") == "bol nl"
    assert pick_value(scoped, "web", "nl_NL") == "nl"
    assert pick_value(scoped, "web", "en_US") == "any"


def test_mapping_renders_templates_and_maps_values_and_categories() -> None:
    spec = MappingSpec.parse(
        {
            "title": "{{ brand }} {{ name }} ({{ color }})",
            "values": {"color": {"black": "Zwart"}},
            "categories": {"kitchen": "bol-123"},
            "attributes": ["color"],
        }
    )
    listing = map_listing(
        "MUG-1", {"name": "Mok", "brand": "Hearth", "color": "black"}, ["home", "kitchen"], spec
    )
    assert listing.title == "Hearth Mok (Zwart)"
    assert listing.category == "bol-123"
    assert listing.attributes == {"color": "Zwart"}


def test_templates_are_sandboxed_and_checked() -> None:
    with pytest.raises(InvalidInput):
        MappingSpec.parse({"title": "{{ unclosed"})
    spec = MappingSpec.parse({"title": "{{ sku.__class__.__mro__ }}"})
    with pytest.raises(InvalidInput):
        map_listing("X", {}, [], spec)
