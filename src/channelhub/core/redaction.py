"""Secrets redacted from every log line, in one place.

Feed URLs carry their access token in the query string (``?token=chf_...``), and uvicorn's
access log prints the path with its query string; so does any client that logs a URL. Rather
than a filter per logger (a record logged on a logger with no filter of its own, or handled by
a handler added later, would slip past), the log record factory is wrapped once: every record
of every logger has its message and arguments redacted as it is created.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: ``token=``, ``access_token=``, ``api_key=`` (and the like) query parameters, and bare feed
#: tokens (``chf_`` + 32 URL-safe characters) wherever they appear.
_SECRET_PARAMETER = re.compile(
    r"((?:^|[?&;\s\"'])(?:access_|api_|feed_)?(?:token|key|secret)=)[^&\s\"';#]+",
    re.IGNORECASE,
)
_FEED_TOKEN = re.compile(r"\bchf_[A-Za-z0-9_-]{8,}")
REDACTED = "[redacted]"

_installed = False


def redact(text: str) -> str:
    """``text`` with secret query parameters and feed tokens replaced by ``[redacted]``."""
    if "=" not in text and "chf_" not in text:
        return text
    text = _SECRET_PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)
    return _FEED_TOKEN.sub(REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def install_log_redaction() -> None:
    """Wrap the log record factory so every record is redacted (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
