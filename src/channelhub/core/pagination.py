"""Opaque keyset cursors for list endpoints."""

from __future__ import annotations

import base64
import binascii

from channelhub.core.errors import InvalidInput


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id after which the next page starts; 0 for the first page."""
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "id" or not number.isascii() or not number.isdigit() or len(number) > 18:
            raise ValueError(text)  # ids are BIGINTs: 18 digits always fit in 63 bits
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cursor {cursor!r} is not one this API issued") from exc
