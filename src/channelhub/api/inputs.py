"""Input types shared by the routers: what both databases can store, checked at the door.

PostgreSQL refuses NUL characters in text and in JSONB (``\\u0000``), and JSON columns are
written with orjson, which refuses integers beyond 64 bits. Inputs that would trip either are
422 problems here rather than database errors (500s) later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, JsonValue

from channelhub.core.errors import InvalidInput, Problem

INT64 = 2**63 - 1
MAX_DEPTH = 20


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def storable_json(value: JsonValue) -> JsonValue:
    """Reject what JSON columns cannot hold: NUL in text, huge or infinite numbers, deep nests."""

    def check(item: JsonValue, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            no_nul(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("numbers must be finite")
        elif isinstance(item, int):
            if not -INT64 - 1 <= item <= INT64:
                raise ValueError("integers must fit in 64 bits; send large numbers as text")
        elif isinstance(item, list):
            for element in item:
                check(element, depth + 1)
        elif isinstance(item, dict):
            for key, element in item.items():
                no_nul(key)
                check(element, depth + 1)

    check(value, 0)
    return value


#: Text without NUL characters.
Text = Annotated[str, AfterValidator(no_nul)]
#: Any JSON value both databases can store.
JsonData = Annotated[JsonValue, AfterValidator(storable_json)]


def refuse_unread_file(file_errors: Sequence[str], rows_taken: int) -> None:
    """An import file refused outright (nothing of it taken) is a 422 naming why, not a 200
    report a client may read as success. A file read in part still answers its report."""
    if file_errors and not rows_taken:
        raise InvalidInput(
            "the file was refused; nothing was imported",
            [Problem("body", error) for error in file_errors],
        )
