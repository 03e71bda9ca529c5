"""The message log: every inbound message and outbound call, searchable by people.

Outbound calls are captured in ONE place, an httpx event hook on each connection's client,
which redacts secrets (authorization headers, secret-named fields and parameters, and every
secret value of the connection's configuration) before anything is kept. Entries are buffered
and written in the same transaction as the outcome of the jobs they served.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import InvalidInput
from channelhub.sync.model import redact_headers, redact_text
from channelhub.sync.store import connections, messages

MAX_BODY = 20_000


@dataclass(frozen=True)
class CallContext:
    """What the calls made inside a delivery are about (set by the worker around a call)."""

    kind: str
    keys: tuple[str, ...]
    attempt: int


current_call: ContextVar[CallContext | None] = ContextVar("channelhub_call", default=None)


def _keys_text(keys: Sequence[str]) -> str:
    text = " " + " ".join(keys[:200]) + " "
    return text[:4000]


@dataclass
class MessageBuffer:
    """Log entries of one connection waiting to be written."""

    connection_id: int
    secrets: tuple[str, ...]
    entries: list[dict[str, Any]] = field(default_factory=list)

    def redact(self, text: str) -> str:
        return redact_text(text, self.secrets)[:MAX_BODY]

    def add(self, **entry: Any) -> None:
        context = current_call.get()
        entry.setdefault("at", utcnow())
        entry.setdefault("connection_id", self.connection_id)
        entry.setdefault("direction", "out")
        if context is not None:
            entry.setdefault("kind", context.kind)
            entry.setdefault("keys", _keys_text(context.keys))
            entry.setdefault("attempt", context.attempt)
        self.entries.append(entry)

    def take(self) -> list[dict[str, Any]]:
        taken, self.entries = self.entries, []
        return taken

    def failed_call(self, error: str) -> None:
        """A call that got no response (timeout, refused connection): no hook saw it."""
        self.add(status="no response", error=self.redact(error))


def _body_text(content: bytes) -> str:
    return content.decode("utf-8", errors="replace")


def attach(client: httpx.AsyncClient, buffer: MessageBuffer) -> None:
    """Log every call ``client`` makes into ``buffer``, redacted."""

    async def on_request(request: httpx.Request) -> None:
        request.extensions["channelhub_started"] = time.perf_counter()

    async def on_response(response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        started = request.extensions.get("channelhub_started", time.perf_counter())
        headers = redact_headers(request.headers.multi_items())
        buffer.add(
            status=str(response.status_code),
            latency_s=round(time.perf_counter() - started, 6),
            method=request.method,
            url=buffer.redact(str(request.url)),
            request_body=buffer.redact("".join(f"{k}: {v}\n" for k, v in headers.items()))
            + "\n"
            + buffer.redact(_body_text(request.content)),
            response_body=buffer.redact(_body_text(response.content)),
        )

    client.event_hooks = {"request": [on_request], "response": [on_response]}


def write_messages(conn: Connection, entries: Sequence[dict[str, Any]]) -> None:
    columns = (
        "at",
        "connection_id",
        "direction",
        "kind",
        "keys",
        "status",
        "attempt",
        "latency_s",
        "method",
        "url",
        "request_body",
        "response_body",
        "error",
    )
    rows = [{c: e.get(c) for c in columns} for e in entries]
    if rows:
        conn.execute(insert(messages), rows)


@dataclass(frozen=True)
class MessageView:
    id: int
    at: datetime
    connection: str | None
    direction: str
    kind: str | None
    keys: list[str]
    status: str
    attempt: int | None
    latency_s: float | None
    method: str | None
    url: str | None
    request_body: str | None
    response_body: str | None
    error: str | None


def search_messages(
    db: Database,
    connection: str | None = None,
    key: str | None = None,
    status: str | None = None,
    direction: str | None = None,
    text: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[MessageView]:
    """Log entries, newest first, filtered by connection, key (SKU, order id), status,
    direction or a text found in a body."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit is between 1 and 500")
    m = messages.c
    query = select(messages, connections.c.code).join_from(
        messages, connections, m.connection_id == connections.c.id, isouter=True
    )
    if connection is not None:
        query = query.where(connections.c.code == connection)
    if key is not None:
        query = query.where(messages.c["keys"].contains(f" {key} ", autoescape=True))
    if status is not None:
        query = query.where(m.status == status)
    if direction is not None:
        query = query.where(m.direction == direction)
    if text is not None:
        query = query.where(
            m.request_body.contains(text, autoescape=True)
            | m.response_body.contains(text, autoescape=True)
            | m.error.contains(text, autoescape=True)
        )
    if before is not None:
        query = query.where(m.id < before)
    with db.read() as conn:
        return [
            MessageView(
                r.id,
                r.at,
                r.code,
                r.direction,
                r.kind,
                (r.keys or "").split(),
                r.status,
                r.attempt,
                r.latency_s,
                r.method,
                r.url,
                r.request_body,
                r.response_body,
                r.error,
            )
            for r in conn.execute(query.order_by(m.id.desc()).limit(limit))
        ]
