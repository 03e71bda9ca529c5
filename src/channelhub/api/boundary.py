"""The API's door, in one place for every route: request bodies over the documented size are
refused with 413 before they are read, and text that neither database can store (NUL, lone
UTF-16 surrogates) is refused with a 422 that names the field.

A lone surrogate (``"\\ud800"``) is valid JSON and a valid Python ``str``, but it cannot be
encoded as UTF-8: SQLite, PostgreSQL and orjson all refuse it, so without this check it
surfaced as a 500 from whichever write touched it first. PostgreSQL also refuses NUL, which
SQLite would store: refusing it on both keeps the two databases alike.

Platform webhooks are only size-limited here: their raw body is signed and stored as it came,
and what cannot be applied is the worker's to dead-letter, not a reason to make the platform
retry (and in the end drop) a delivery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channelhub.api.problems import problem
from channelhub.core.settings import get_settings

WEBHOOKS = "/api/v1/webhooks/"
#: Routes that take a file as the body (streamed to disk), with their own, larger limit.
IMPORTS = re.compile(r"^/api/v1/(imports/[^/]+|prices/import|stock/[^/]+/csv)$")
#: A stock CSV is read whole into memory, so it has a smaller limit of its own.
STOCK_CSV = re.compile(r"^/api/v1/stock/[^/]+/csv$")
MAX_STOCK_CSV = 20_000_000
#: A JSON escape that may decode to NUL or to half of a surrogate pair (checked further).
_SUSPECT = re.compile(rb"\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_JSON = re.compile(r"^application/([a-z0-9.+-]*\+)?json\b")
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Limits:
    body: int
    webhook: int
    imports: int

    def for_path(self, path: str) -> int:
        if path.startswith(WEBHOOKS):
            return self.webhook
        if STOCK_CSV.match(path):
            return min(self.imports, MAX_STOCK_CSV)
        if IMPORTS.match(path):
            return self.imports
        return self.body


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit; FastAPI's request
    handling re-raises HTTP exceptions, so the app's handler answers it as a problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "NUL characters are not allowed"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "the text holds a lone UTF-16 surrogate (not a character); send valid Unicode"
    return None


def unstorable_json(document: Any, where: str = "body") -> Iterator[tuple[str, str]]:
    """(location, reason) for each key or string in ``document`` that cannot be stored."""
    if isinstance(document, str):
        reason = unstorable(document)
        if reason:
            yield where, reason
    elif isinstance(document, list):
        for i, item in enumerate(document):
            yield from unstorable_json(item, f"{where}.{i}")
    elif isinstance(document, dict):
        for key, item in document.items():
            reason = unstorable(key)
            if reason:
                yield f"{where}.{key.encode('utf-8', 'replace').decode()}", reason
            else:
                yield from unstorable_json(item, f"{where}.{key}")


def _query_problems(scope: Scope) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if "\x00" in scope.get("path", ""):
        found.append(("path", "NUL characters are not allowed"))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        reason = unstorable(name) or unstorable(value)
        if reason:
            found.append((f"query.{name.replace(chr(0), '')}", reason))
    return found


def _body_problems(content_type: str, body: bytes) -> list[tuple[str, str]]:
    if _JSON.match(content_type):
        if not _SUSPECT.search(body):
            return []  # the common case: no escape that could hide NUL or a surrogate
        try:
            document = json.loads(body)
        except ValueError:
            return []  # not JSON: the route's own parsing answers it
        return list(unstorable_json(document))
    if content_type.startswith(_FORM):
        text = body.decode("utf-8", "replace")
        return [
            (f"body.{name}", reason)
            for name, value in parse_qsl(text, keep_blank_values=True)
            if (reason := unstorable(value))
        ]
    return []


class RequestBoundary:
    """ASGI middleware: the size limit (Content-Length first, then counted while streaming)
    and the storable-text check on JSON and form bodies, query strings and paths."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        if limits is None:
            settings = get_settings()
            limits = Limits(
                settings.max_body_bytes, settings.max_webhook_bytes, settings.max_import_bytes
            )
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limits.for_path(path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _answer(scope, receive, send, _too_large(path, limit))
            return
        found = _query_problems(scope)
        if found:
            await _answer(scope, receive, send, _refused(path, found))
            return
        content_type = headers.get("content-type", "").lower()
        checks_text = not path.startswith(WEBHOOKS) and (
            _JSON.match(content_type) or content_type.startswith(_FORM)
        )
        if not checks_text:
            await self.app(scope, _counting(receive, limit), send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)  # disconnected
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _answer(scope, receive, send, _too_large(path, limit))
                return
            more = message.get("more_body", False)
        found = _body_problems(content_type, bytes(body))
        if found:
            await _answer(scope, receive, send, _refused(path, found))
            return
        await self.app(
            scope, _replay([{"type": "http.request", "body": bytes(body)}], receive), send
        )


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return replayed


def _too_large(path: str, limit: int) -> Any:
    return problem(413, "Content too large", f"the request body is larger than {limit} bytes", path)


def _refused(path: str, found: list[tuple[str, str]]) -> Any:
    return problem(
        422,
        "Invalid input",
        "the request holds text that cannot be stored",
        path,
        errors=[{"location": where, "message": reason} for where, reason in found],
    )


async def _answer(scope: Scope, receive: Receive, send: Send, response: Any) -> None:
    """Answer without reading the body (the server discards or closes on the rest)."""
    await response(scope, receive, send)
