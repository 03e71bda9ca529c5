"""The Shopify Admin GraphQL API (2026-01) as an ASGI app, executed against the official SDL.

``POST /admin/api/2026-01/graphql.json`` with ``X-Shopify-Access-Token``. Every document is
parsed and validated against Shopify's published schema, so a field or argument the real API
does not have is refused the same way (a GraphQL validation error). Calls spend the shop's
calculated-query-cost bucket; every answer carries ``extensions.cost``; an empty bucket answers
HTTP 200 with a ``THROTTLED`` error, as documented on shopify.dev ("GraphQL Admin API rate
limits", 2026-01).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channelhub.sandbox.faults import Faults
from channelhub.sandbox.shopify.resolvers import mutation_root, query_root
from channelhub.sandbox.shopify.schema import (
    API_VERSION,
    MAX_QUERY_COST,
    MUTATION_COST,
    load_schema,
    requested_cost,
)
from channelhub.sandbox.shopify.state import ShopifyState

_ROOT = "__root__"
_INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def _json(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, default=str),
        status_code=status,
        media_type="application/json",
        headers={"X-Shopify-API-Version": API_VERSION},
    )


def resolve_field(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    """Views are dicts; a callable value is a field taking arguments (in snake case)."""
    if isinstance(source, Mapping):
        if info.field_name not in source:
            if source.get(_ROOT):
                raise GraphQLError(
                    f"Field '{info.field_name}' is valid in the 2026-01 schema but is not "
                    "implemented by the channelhub sandbox."
                )
            return None
        value = source[info.field_name]
        if callable(value):
            return value(info, **{_snake(name): arg for name, arg in args.items()})
        return value
    return getattr(source, info.field_name, None)


class ShopifySandbox:
    """The request handling: faults, auth, throttle, then GraphQL execution."""

    def __init__(self, state: ShopifyState, faults: Faults, schema: GraphQLSchema) -> None:
        self.state = state
        self.faults = faults
        self.schema = schema
        self._documents: dict[str, tuple[DocumentNode | None, list[GraphQLError]]] = {}

    async def graphql(self, request: Request) -> Response:
        fault = self.faults.draw()
        if fault == "outage":
            return Response("Service Unavailable", status_code=503)
        if fault == "error":
            status = random.choice((500, 502, 503))
            return _json({"errors": "Internal Server Error"}, status)
        if fault == "timeout":
            await self.faults.stall()
        if request.headers.get("X-Shopify-Access-Token") != self.state.access_token:
            return _json({"errors": _INVALID_TOKEN}, 401)
        if request.path_params["version"] != API_VERSION:
            return _json({"errors": "Not Found"}, 404)
        try:
            body = json.loads(await request.body())
            query = body["query"]
            variables = body.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        with self.state.lock:
            self.state.requests.append({"query": query, "variables": variables})
            del self.state.requests[:-1000]
            if fault == "throttle":
                return _json(self._throttled(self._cost_of(query, variables, body)))
            return _json(self._run(query, variables, body.get("operationName")))

    # --- GraphQL -------------------------------------------------------------------------

    def _document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        cached = self._documents.get(query)
        if cached is None:
            try:
                document: DocumentNode | None = parse(query)
                errors = list(validate(self.schema, document)) if document else []
            except GraphQLError as error:
                document, errors = None, [error]
            cached = (document, errors)
            if len(self._documents) < 500:
                self._documents[query] = cached
        return cached

    def _operation(
        self, document: DocumentNode, name: str | None
    ) -> tuple[OperationDefinitionNode | None, dict[str, Any]]:
        fragments = {
            d.name.value: d.selection_set
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = next(
            (o for o in operations if name is None or (o.name and o.name.value == name)), None
        )
        return chosen, fragments

    def _cost_of(self, query: str, variables: dict[str, Any], body: dict[str, Any]) -> int:
        document, errors = self._document(query)
        if document is None or errors:
            return 0
        operation, fragments = self._operation(document, body.get("operationName"))
        if operation is None:
            return 0
        return requested_cost(self.schema, operation, fragments, variables)

    def _run(self, query: str, variables: dict[str, Any], name: str | None) -> dict[str, Any]:
        document, errors = self._document(query)
        if document is None or errors:
            return self._with_cost({"errors": [e.formatted for e in errors]}, 0, 0)
        operation, fragments = self._operation(document, name)
        if operation is None:
            return self._with_cost(
                {"errors": [{"message": "No operation named " + str(name)}]}, 0, 0
            )
        cost = requested_cost(self.schema, operation, fragments, variables)
        if cost > MAX_QUERY_COST:
            return self._with_cost(
                {
                    "errors": [
                        {
                            "message": f"Query cost is {cost}, which exceeds the single query "
                            f"max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": cost,
                                "maxCost": MAX_QUERY_COST,
                            },
                        }
                    ]
                },
                cost,
                None,
            )
        bucket = self.state.bucket
        assert bucket is not None
        if bucket.take(cost) > 0:
            return self._throttled(cost)
        is_mutation = operation.operation == OperationType.MUTATION
        root = mutation_root(self.state) if is_mutation else query_root(self.state)
        root[_ROOT] = True
        result = execute(
            self.schema,
            document,
            root_value=root,
            variable_values=variables,
            operation_name=name,
            field_resolver=resolve_field,
        )
        assert isinstance(result, ExecutionResult)
        actual = _actual_cost(result.data) + (MUTATION_COST - 1 if is_mutation else 0)
        actual = min(actual, cost)
        # Shopify refunds the difference between the requested and the actual cost.
        bucket.tokens = min(bucket.capacity, bucket.tokens + cost - actual)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return self._with_cost(payload, cost, actual)

    def _throttled(self, cost: int) -> dict[str, Any]:
        return self._with_cost(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ]
            },
            cost,
            None,
        )

    def _with_cost(
        self, payload: dict[str, Any], requested: int, actual: int | None
    ) -> dict[str, Any]:
        bucket = self.state.bucket
        assert bucket is not None
        bucket.take(0)  # bring the level up to date
        payload["extensions"] = {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": {
                    "maximumAvailable": bucket.capacity,
                    "currentlyAvailable": round(bucket.tokens, 1),
                    "restoreRate": bucket.rate,
                },
            }
        }
        return payload


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _actual_cost(data: Any) -> int:
    """One point per object returned (Shopify counts the objects actually resolved)."""
    if isinstance(data, dict):
        return 1 + sum(_actual_cost(v) for v in data.values())
    if isinstance(data, list):
        return sum(_actual_cost(v) for v in data)
    return 0


def create_app(
    state: ShopifyState | None = None,
    faults: Faults | None = None,
) -> Starlette:
    """The sandbox for one shop. Builds the official 2026-01 schema at startup (cached per
    process) from the copy kept in ``channelhub.sandbox.contracts``."""
    sandbox = ShopifySandbox(state or ShopifyState(), faults or Faults(), load_schema())
    app = Starlette(
        routes=[Route("/admin/api/{version}/graphql.json", sandbox.graphql, methods=["POST"])]
    )
    app.state.sandbox = sandbox
    return app
