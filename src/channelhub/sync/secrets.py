"""Credentials at rest: Fernet with a key derived from ``CHANNELHUB_SECRET_KEY``."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from channelhub.core.errors import ChannelhubError, InvalidInput
from channelhub.core.settings import get_settings


class SecretKeyMissing(InvalidInput):
    pass


def _fernet() -> Fernet:
    key = get_settings().secret_key
    if not key:
        raise SecretKeyMissing("set CHANNELHUB_SECRET_KEY to store or read connection secrets")
    digest = hashlib.sha256(b"channelhub-connections:" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(values: dict[str, Any]) -> str | None:
    """The encrypted form of ``values`` (None when there is nothing to hide)."""
    if not values:
        return None
    return _fernet().encrypt(orjson.dumps(values)).decode()


def unseal(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        values: dict[str, Any] = orjson.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ChannelhubError(
            "the connection's secrets cannot be decrypted: CHANNELHUB_SECRET_KEY changed?"
        ) from None
    return values
