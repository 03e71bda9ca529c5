"""Each sandbox fuzzed from its platform's own published contract: never a 5xx.

Schemathesis reads the platform's OpenAPI (or Swagger 2) document, keeps the operations the
sandbox serves, and sends each a few generated requests, valid and invalid, with a working
credential, so type-confused bodies and parameters reach the handlers. A sandbox must answer
them as the platform would, with a 4xx in the platform's error format, never a server error.

Runs are derandomized and short (``CHANNELHUB_SANDBOX_FUZZ_EXAMPLES`` per operation, 6 by
default), so the suite stays fast and a failure reproduces. WooCommerce publishes no OpenAPI
document (its contract here is the REST reference in Markdown), and Shopify's is a GraphQL SDL
the sandbox serves only in part, so neither is fuzzed here.
"""

from __future__ import annotations

import os
import re
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from starlette.routing import Route

from channelhub.sandbox.amazon import AmazonState
from channelhub.sandbox.amazon import create_app as amazon_app
from channelhub.sandbox.amazon.app import ROUTES as AMAZON_ROUTES
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.contracts import load_contract_json, load_contract_yaml
from channelhub.sandbox.magento import MagentoState
from channelhub.sandbox.magento import create_app as magento_app
from channelhub.sandbox.medusa import create_app as medusa_app
from channelhub.sandbox.medusa.state import MedusaState
from channelhub.sandbox.square import SquareState
from channelhub.sandbox.square import create_app as square_app

EXAMPLES = int(os.environ.get("CHANNELHUB_SANDBOX_FUZZ_EXAMPLES", "6"))


def contract(platform: str, name: str) -> dict[str, Any]:
    """A platform's published contract, parsed, from the copies kept in the package."""
    load = load_contract_json if name.endswith(".json") else load_contract_yaml
    document: dict[str, Any] = load(platform, name)
    return document


def _shape(path: str) -> str:
    """A path template with every placeholder alike: ``/a/{id}`` and ``/a/{sku:path}`` match."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def served(app: Any, prefix: str = "") -> set[tuple[str, str]]:
    """(method, path shape) of every route ``app`` serves, without ``prefix``."""
    found = set()
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path.removeprefix(prefix)
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method.lower(), _shape(path)))
    return found


def fuzz_schema(documents: list[dict[str, Any]], operations: set[tuple[str, str]]) -> Any:
    """One schema per contract document, cut down to the sandbox's operations (so a large
    contract stays quick to load), merged into the first document's components."""
    merged = documents[0]
    paths: dict[str, Any] = {}
    for document in documents:
        for path, item in document["paths"].items():
            kept = {
                method: operation
                for method, operation in item.items()
                if (method, _shape(path)) in operations
            }
            if kept:
                shared = {k: v for k, v in item.items() if k == "parameters"}
                paths[path] = kept | shared
        if document is not merged:
            for section in ("definitions",):
                merged.setdefault(section, {}).update(document.get(section, {}))
            for kind, entries in document.get("components", {}).items():
                merged.setdefault("components", {}).setdefault(kind, {}).update(entries)
    merged["paths"] = paths
    schema = schemathesis.openapi.from_dict(merged)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        deterministic=True,
    )
    return schema


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CHECKS = [schemathesis.checks.not_a_server_error]


def _call(case: Any, app: Any, headers: dict[str, str], base: str = "") -> None:
    case.call_and_validate(
        app=app, base_url=f"http://sandbox{base}", headers=headers, checks=CHECKS
    )


# --- Square ---------------------------------------------------------------------------------

_square_state = SquareState(rate=1e6, burst=10**6)
_square = square_app(_square_state)
square_schema = fuzz_schema([contract("square", "api.json")], served(_square))


@square_schema.parametrize()
@FUZZ_SETTINGS
def test_square_sandbox_never_answers_5xx(case: Any) -> None:
    _call(case, _square, {"Authorization": f"Bearer {_square_state.access_token}"})


# --- Magento --------------------------------------------------------------------------------

_magento_state = MagentoState()
_magento = magento_app(_magento_state)
magento_schema = fuzz_schema(
    [contract("magento", "admin-schema-2.4.9.yaml")],
    served(_magento, "/rest/{store_code}"),
)


@magento_schema.parametrize()
@FUZZ_SETTINGS
def test_magento_sandbox_never_answers_5xx(case: Any) -> None:
    headers = {"Authorization": f"Bearer {_magento_state.access_token}"}
    _call(case, _magento, headers, "/rest/default")


# --- Amazon SP-API --------------------------------------------------------------------------

_amazon_state = AmazonState()
_amazon_state.plans.update({name: (1e6, 10**6) for _m, _p, name, _h in AMAZON_ROUTES})
_amazon = amazon_app(_amazon_state)
amazon_schema = fuzz_schema(
    [
        contract("amazon", "feeds_2021-06-30.json"),
        contract("amazon", "listingsItems_2021-08-01.json"),
        contract("amazon", "ordersV0.json"),
    ],
    served(_amazon),
)


@amazon_schema.parametrize()
@FUZZ_SETTINGS
def test_amazon_sandbox_never_answers_5xx(case: Any) -> None:
    token = _amazon_state.issue_token(_amazon_state.seller)
    _call(case, _amazon, {"x-amz-access-token": token})


# --- bol.com --------------------------------------------------------------------------------

_bol_state = BolState()
_bol = bol_app(_bol_state)
bol_schema = fuzz_schema(
    [
        contract("bol", "offers-v11.yaml"),
        contract("bol", "retailer-v10.json"),
        contract("bol", "shared-v10.json"),
    ],
    served(_bol),
)


@bol_schema.parametrize()
@FUZZ_SETTINGS
def test_bol_sandbox_never_answers_5xx(case: Any) -> None:
    headers = {
        "Authorization": f"Bearer {_bol_state.issue_token()}",
        "Accept": "application/vnd.retailer.v10+json, application/vnd.retailer.v11+json",
    }
    _call(case, _bol, headers)


# --- Medusa ---------------------------------------------------------------------------------

_medusa_state = MedusaState()
_medusa_state.tokens.add("fuzz-token")
_medusa = medusa_app(_medusa_state)
medusa_schema = fuzz_schema([contract("medusa", "admin/openapi.full.yaml")], served(_medusa))


@medusa_schema.parametrize()
@FUZZ_SETTINGS
def test_medusa_sandbox_never_answers_5xx(case: Any) -> None:
    _call(case, _medusa, {"Authorization": "Bearer fuzz-token"})


def test_every_sandbox_has_operations_to_fuzz() -> None:
    """A renamed route or contract path would otherwise leave a sandbox silently unfuzzed."""
    schemas = {
        "square": square_schema,
        "magento": magento_schema,
        "amazon": amazon_schema,
        "bol": bol_schema,
        "medusa": medusa_schema,
    }
    counts = {name: len(list(schema.get_all_operations())) for name, schema in schemas.items()}
    assert all(count >= 5 for count in counts.values()), counts
