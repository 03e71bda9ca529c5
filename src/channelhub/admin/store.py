"""The admin's people: one row per user, with an Argon2 password hash and one role."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table

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

#: Server-side sign-in sessions: the cookie carries a random token, this table its SHA-256.
#: A session ends on sign-out, on a password change and when its user is disabled.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("admin_users.id"), nullable=False, index=True),
    Column("address", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("ended_why", String(50), nullable=True),
)

#: Failed sign-ins per user name (``user:<name>``) and per address (``address:<ip>``).
admin_sign_in_failures = Table(
    "admin_sign_in_failures",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
)
