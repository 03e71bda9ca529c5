"""The sync engine's vocabulary and pure rules: job kinds and states, which event becomes which
job, backoff, and redaction of secrets in logged text. No I/O."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


class JobKind(StrEnum):
    LISTINGS = "listings"
    STOCK = "stock"
    PRICES = "prices"
    ORDERS = "orders"  # receiving: polls and webhooks
    FULFILMENTS = "fulfilments"


class JobState(StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    WAITING = "waiting"  # the platform accepted; its asynchronous confirmation is awaited
    DONE = "done"
    FAILED = "failed"  # will be retried
    SKIPPED = "skipped"
    DEAD = "dead"


#: States in which a job has not started: at most one per (connection, kind, key).
OPEN_STATES = (JobState.NEW, JobState.FAILED)


@dataclass(frozen=True)
class Fanout:
    """Which job an outbox event asks for: ``kind`` and ``key`` for the connections of
    ``channel`` (every channel when None)."""

    kind: JobKind
    key: str
    channel: str | None = None


def fanout_of(topic: str, key: str, payload: Mapping[str, Any]) -> Fanout | None:
    """The job an outbox event asks for, or None when no channel needs to hear of it."""
    if topic == "inventory.atp_changed":
        return Fanout(JobKind.STOCK, key)
    if topic == "pricing.price_changed":
        channel, _, sku = key.partition(":")
        return Fanout(JobKind.PRICES, str(payload.get("sku", sku)), channel)
    if topic == "catalog.product_changed":
        return Fanout(JobKind.LISTINGS, key)
    if topic == "orders.status_changed":
        channel, _, external_id = key.partition(":")
        return Fanout(JobKind.FULFILMENTS, external_id, channel) if external_id else None
    return None


def backoff_seconds(
    attempts: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter over the upper half, never shorter than the
    platform's ``Retry-After``."""
    ceiling = min(cap, base * float(2 ** max(0, attempts - 1)))
    roll: float = rng.random() if rng is not None else random.random()
    delay = ceiling * (0.5 + 0.5 * roll)
    return max(delay, retry_after or 0.0)


# --- redaction ---------------------------------------------------------------------------------

REDACTED = "**********"
_SECRET_NAME = re.compile(
    r"(authorization|token|secret|password|passwd|api[_-]?key|signature|hmac|cookie|credential)",
    re.IGNORECASE,
)
_SECRET_QUERY = re.compile(
    r"((?:access_token|token|client_secret|api_key|apikey|password|signature)=)[^&\s\"]+",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether a header, field or parameter of this name carries a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in headers}


def _redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if is_secret_name(str(k)) and not isinstance(v, dict | list)
                else _redact_value(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secret-named JSON fields and query parameters masked, and every known
    secret value replaced wherever it appears."""
    try:
        parsed = orjson.loads(text) if text[:1] in ("{", "[") else None
    except orjson.JSONDecodeError:
        parsed = None
    if parsed is not None:
        text = orjson.dumps(_redact_value(parsed)).decode()
    text = _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
