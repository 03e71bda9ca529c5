"""The api_keys table."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from channelhub.core.database import JsonType, UtcDateTime, metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    # SHA-256 of a 256-bit random secret: a slow password hash adds nothing at that entropy.
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", JsonType, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
