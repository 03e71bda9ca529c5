"""The official Admin GraphQL SDL the sandbox executes against, and Shopify's query cost.

The SDL is Shopify's public schema for API version 2026-01, kept gzipped inside the package
(``channelhub.sandbox.contracts``, file ``shopify/admin_schema_2026-01_public.graphql``): the
sandbox reads nothing outside its package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    get_named_type,
    is_leaf_type,
    validate_schema,
)

from channelhub.sandbox.contracts import contract_path, read_contract_text

API_VERSION = "2026-01"
SDL_NAME = f"admin_schema_{API_VERSION}_public.graphql"


def schema_path() -> Path:
    """The stored file of the 2026-01 SDL (gzipped) inside the package."""
    return contract_path("shopify", SDL_NAME)


@lru_cache(maxsize=1)
def load_schema() -> GraphQLSchema:
    """The official schema, built once per process (building it takes a few seconds).

    graphql-core 3.3 added a schema rule (an implementation field may be deprecated only
    where its interface field is) that Shopify's published SDL breaks in a handful of places;
    those are tolerated, any other schema error is raised.
    """
    schema = build_schema(read_contract_text("shopify", SDL_NAME))
    problems = [
        error.message
        for error in validate_schema(schema)
        if "must not be deprecated" not in error.message
    ]
    if problems:
        raise TypeError("the Shopify SDL is not a valid schema:\n" + "\n".join(problems))
    schema._validation_errors = []  # checked above: only the tolerated deprecation rule
    return schema


# --- calculated query cost ------------------------------------------------------------------
# Shopify, "GraphQL Admin API rate limits" (shopify.dev/docs/apps/build/apis/graphql-admin/
# rate-limits, read for 2026-01): scalars and enums cost 0, objects 1, connections 2 plus
# ``first``/``last`` times the cost of each node, mutations 10; a single query may not exceed
# 1,000 points. The requested cost is computed from the document before it runs.

MUTATION_COST = 10
MAX_QUERY_COST = 1000


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, SelectionSetNode],
    variables: dict[str, object],
) -> int:
    """The static (worst-case) cost of ``operation``."""
    root = schema.mutation_type if operation.operation == OperationType.MUTATION else None
    root = root or schema.query_type
    assert root is not None
    cost = _selection_cost(root, operation.selection_set, fragments, variables)
    if operation.operation == OperationType.MUTATION:
        # The mutation field itself costs 10 instead of 1 per field.
        fields = len(operation.selection_set.selections)
        cost += fields * (MUTATION_COST - 1)
    return cost


def _selection_cost(
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, SelectionSetNode],
    variables: dict[str, object],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += _selection_cost(
                parent, fragments.get(selection.name.value), fragments, variables
            )
            continue
        if isinstance(selection, InlineFragmentNode):
            total += _selection_cost(parent, selection.selection_set, fragments, variables)
            continue
        assert isinstance(selection, FieldNode)
        field = parent.fields.get(selection.name.value)
        if field is None:
            continue
        total += _field_cost(field.type, selection, fragments, variables)
    return total


def _field_cost(
    field_type: GraphQLType,
    node: FieldNode,
    fragments: dict[str, SelectionSetNode],
    variables: dict[str, object],
) -> int:
    named = get_named_type(field_type)
    if is_leaf_type(named):
        return 0
    child = (
        _selection_cost(named, node.selection_set, fragments, variables)
        if isinstance(named, GraphQLObjectType)
        else 1
    )
    if named.name.endswith("Connection"):
        # 2 for the connection, then each of the ``first`` nodes (approximately: the nodes'
        # selection without the page info).
        return 2 + _page_size(node, variables) * max(child - 1, 1)
    return 1 + child


def _page_size(node: FieldNode, variables: dict[str, object]) -> int:
    for argument in node.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            if isinstance(given, int):
                return given
    return 1
