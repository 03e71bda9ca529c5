"""The admin's people: one row per user, with an Argon2 password hash and one role."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table

from channelhub.core.database import UtcDateTime, metadata

admin_users = Table(
    "admin_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_login_at", UtcDateTime(), nullable=True),
)
