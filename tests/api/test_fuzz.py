"""The API fuzzed against its own OpenAPI document: never a 5xx, always a documented answer.

Schemathesis reads ``/api/v1/openapi.json`` from the app and runs every operation with
generated inputs, valid and invalid (the coverage phase's boundary cases, then Hypothesis
fuzzing), on both databases, over the sample catalog and with an admin key. Runs are
derandomized and bounded (``CHANNELHUB_FUZZ_EXAMPLES`` per operation, 25 by default), so a
failure reproduces.

The document is read once from an app over an unopened in-memory database (building the
document touches no database); each test then sends its cases to the ``app`` fixture, which
runs over the ``db`` fixture's SQLite or PostgreSQL database. (Schemathesis' own
``from_fixture`` loader does not work with pytest 9.)
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks

from channelhub.api.app import create_app
from channelhub.core.database import Database
from tests.api.conftest import auth

MAX_EXAMPLES = int(os.environ.get("CHANNELHUB_FUZZ_EXAMPLES", "25"))
#: Seconds one request may take. This test is about answers, not speed, and Schemathesis'
#: default of 10 s was exceeded now and then on the shared 2-core machine: one request on
#: PostgreSQL stalled while the other test process drove Chromium. Every operation's 25
#: requests take under 4 s in all (``pytest tests/api/test_fuzz.py --durations=8``).
REQUEST_TIMEOUT = 60.0

load_all_checks()
#: Every operation: never a 5xx; documented content types; bodies that match their schemas.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
#: Routers that do not declare their 404/409 answers yet (``responses=errors(404)``, see
#: ``channelhub.api.problems``): their status codes are not held to the document. The generic
#: 400/401/403/422 problems are declared for every operation by the document itself.
UNDECLARED_TAGS: set[str] = set()


@schemathesis.serializer(
    "application/x-ndjson", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)
def _file_body(_ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """Import bodies are files: send generated text (or bytes) as they are."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(Database("sqlite://")))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_and_answers_as_documented(
    case: schemathesis.Case, app: FastAPI, admin_token: str
) -> None:
    checks = list(CHECKS)
    if not UNDECLARED_TAGS & set(case.operation.tags or ()):
        checks.append(schemathesis.checks.status_code_conformance)
    case.call_and_validate(
        app=app, headers=auth(admin_token), checks=checks, timeout=REQUEST_TIMEOUT
    )
