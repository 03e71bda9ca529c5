"""POS tables: the till requests already answered, so that a retry gets the same answer.

A row is claimed (``pending``) before the sale or return is recorded and completed (``done``)
with the answer afterwards; the request's fingerprint tells a replay from a different request
that reuses its key.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint

from channelhub.core.database import BigId, JsonType, UtcDateTime, metadata

pos_requests = Table(
    "pos_requests",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("store", String(100), nullable=False),  # the store's channel code
    Column("key", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # sale or return
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(20), nullable=False),  # pending or done
    Column("status_code", Integer, nullable=True),
    Column("response", JsonType, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("store", "key", name="uq_pos_requests_store_key"),
)
