"""JSON Schemas (draft 2020-12) of the documents channelhub accepts, shipped in the package."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import orjson

ORDER_WEBHOOK_V1 = "order-webhook.v1.json"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema document ``name`` (a file of this package)."""
    text = resources.files(__name__).joinpath(name).read_bytes()
    schema: dict[str, Any] = orjson.loads(text)
    return schema


def schema_names() -> list[str]:
    return sorted(p.name for p in resources.files(__name__).iterdir() if p.name.endswith(".json"))
