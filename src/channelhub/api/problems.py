"""RFC 9457 problem details: the error body of every route, and its place in the OpenAPI document.

Routes declare the errors they can answer with ``errors(404, 409)``; the routers add the ones
every authenticated route can give (400, 401, 403, 422). Each is documented as
``application/problem+json`` with the ``Problem`` schema, so clients (and the fuzzer) can rely
on the document for error answers too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

PROBLEM = "application/problem+json"

_DESCRIPTIONS = {
    400: "The request body cannot be parsed (not JSON, or not UTF-8)",
    401: "No API key, or one that is malformed, unknown or revoked (with WWW-Authenticate)",
    403: "The API key lacks the scope this operation needs",
    404: "Something the request names does not exist",
    409: "The request conflicts with the current state (workflow, fixed fields, concurrency)",
    413: "The request body is too large",
    422: "The request is not valid: `errors` lists each problem with its location",
}


class ProblemItem(BaseModel):
    location: str = Field(description="where the problem is, e.g. body.values.name[0]")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str
    instance: str = Field(description="the path of the request")
    errors: list[ProblemItem] | None = Field(
        default=None, description="each problem with the input, when there are several"
    )


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, as problem+json."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(code, "Error"),
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if code == 401:
            entry["headers"] = {
                "WWW-Authenticate": {
                    "description": "the authentication scheme to use (Bearer)",
                    "schema": {"type": "string"},
                }
            }
        responses[code] = entry
    return responses


#: What every route behind an API key can answer.
AUTHENTICATED = errors(400, 401, 403, 422)


def install_openapi(app: FastAPI) -> None:
    """Serve an OpenAPI document whose components include the ``Problem`` schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem_schema.pop("$defs", {}))
            schemas["Problem"] = problem_schema
            _declare_common_errors(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def _declare_common_errors(document: dict[str, Any]) -> None:
    """Every operation's generic errors as problems, whatever its router declared.

    FastAPI documents validation errors as its own JSON shape (``HTTPValidationError``); this
    API answers them, like every error, as problem+json. Operations behind an API key also
    answer 401 and 403, and those with a body 400 when it cannot be parsed.
    """
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            codes: list[int] = []
            if operation.get("security"):
                codes += [401, 403]
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append(422)
            if operation.get("requestBody"):
                codes.append(400)
            for code, entry in errors(*codes).items():
                existing = responses.get(str(code))
                if existing is None or PROBLEM not in existing.get("content", {}):
                    responses[str(code)] = entry
    schemas = document.get("components", {}).get("schemas", {})
    text = str(document.get("paths"))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)
