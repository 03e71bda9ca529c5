"""Input checks of the bol.com sandbox, as violations ``{name, reason}`` like bol.com reports.

Rules come from the Offers API v11 (11.3.0) and Retailer API v10 schemas: required fields,
enums, lengths, a stock amount of 0-999, unit prices of 1-9999, EAN check digits.
"""

from __future__ import annotations

from typing import Any

Violation = dict[str, str]

CONDITIONS = {"NEW", "SECONDHAND", "REFURBISHED"}
COUNTRIES = {"NL", "BE"}
FULFILMENT_METHODS = {"FBR", "FBB"}
SCHEDULES = {"BOL_DELIVERY_PROMISE", "MY_DELIVERY_PROMISE", "SHIPPING_VIA_BOL"}
CANCELLATION_REASONS = {
    "OUT_OF_STOCK",
    "REQUESTED_BY_CUSTOMER",
    "BAD_CONDITION",
    "HIGHER_SHIPCOST",
    "INCORRECT_PRICE",
    "NOT_AVAIL_IN_TIME",
    "NO_BOL_GUARANTEE",
    "ORDERED_TWICE",
    "RETAIN_ITEM",
    "TECH_ISSUE",
    "UNFINDABLE_ITEM",
    "OTHER",
}
_CREATE_FIELDS = {
    "ean",
    "unknownProductTitle",
    "economicOperatorId",
    "reference",
    "onHoldByRetailer",
    "condition",
    "pricing",
    "countryAvailabilities",
    "fulfilment",
    "stock",
}
_PATCH_FIELDS = _CREATE_FIELDS - {"ean", "condition"}


def is_valid_gtin(code: str) -> bool:
    """GS1 check digit of an EAN-8, UPC-A, EAN-13 or GTIN-14."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(char) for char in code]
    body, check = digits[:-1], digits[-1]
    weighted = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - weighted % 10) % 10 == check


def create_offer_violations(body: Any) -> list[Violation]:
    if not isinstance(body, dict):
        return [{"name": "body", "reason": "Request body must be a JSON object."}]
    violations = _unknown(body, _CREATE_FIELDS)
    for name in ("ean", "condition", "pricing", "fulfilment"):
        if name not in body:
            violations.append({"name": name, "reason": "Required field is missing."})
    ean = body.get("ean")
    if ean is not None and not (isinstance(ean, str) and is_valid_gtin(ean)):
        violations.append({"name": "ean", "reason": f"'{ean}' is not a valid EAN."})
    if "condition" in body:
        violations += _condition(body["condition"])
    violations += _common(body, stock_required_fields=True)
    return violations


def patch_offer_violations(body: Any) -> list[Violation]:
    if not isinstance(body, dict):
        return [{"name": "body", "reason": "Request body must be a JSON object."}]
    violations = _unknown(body, _PATCH_FIELDS)
    return violations + _common(body, stock_required_fields=False)


def _unknown(body: dict[str, Any], allowed: set[str]) -> list[Violation]:
    return [{"name": name, "reason": "Unknown field."} for name in sorted(set(body) - allowed)]


def _condition(condition: Any) -> list[Violation]:
    if not isinstance(condition, dict) or condition.get("category") not in CONDITIONS:
        return [
            {
                "name": "condition.category",
                "reason": f"Must be one of {', '.join(sorted(CONDITIONS))}.",
            }
        ]
    if condition["category"] == "SECONDHAND" and "state" not in condition:
        return [{"name": "condition.state", "reason": "Required for SECONDHAND."}]
    return []


def _common(body: dict[str, Any], *, stock_required_fields: bool) -> list[Violation]:
    violations: list[Violation] = []
    violations += _length(body, "reference", 100)
    violations += _length(body, "unknownProductTitle", 500)
    if "onHoldByRetailer" in body and not isinstance(body["onHoldByRetailer"], bool):
        violations.append({"name": "onHoldByRetailer", "reason": "Must be a boolean."})
    if "pricing" in body:
        violations += _pricing(body["pricing"])
    if "fulfilment" in body:
        violations += _fulfilment(body["fulfilment"])
    if "stock" in body:
        violations += _stock(body["stock"], stock_required_fields)
    for index, country in enumerate(body.get("countryAvailabilities") or []):
        if not isinstance(country, dict) or country.get("countryCode") not in COUNTRIES:
            violations.append(
                {
                    "name": f"countryAvailabilities[{index}].countryCode",
                    "reason": "Must be NL or BE.",
                }
            )
    return violations


def _length(body: dict[str, Any], name: str, maximum: int) -> list[Violation]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, str) or len(value) > maximum:
        return [{"name": name, "reason": f"Must be a text of at most {maximum} characters."}]
    return []


def _pricing(pricing: Any) -> list[Violation]:
    bundles = pricing.get("bundlePrices") if isinstance(pricing, dict) else None
    if not isinstance(bundles, list) or not bundles:
        return [{"name": "pricing.bundlePrices", "reason": "At least one bundle price needed."}]
    violations: list[Violation] = []
    quantities: list[int] = []
    for index, bundle in enumerate(bundles):
        name = f"pricing.bundlePrices[{index}]"
        quantity = bundle.get("quantity") if isinstance(bundle, dict) else None
        price = bundle.get("unitPrice") if isinstance(bundle, dict) else None
        if not isinstance(quantity, int) or quantity < 1:
            violations.append({"name": f"{name}.quantity", "reason": "Must be 1 or more."})
        else:
            quantities.append(quantity)
        if not isinstance(price, int | float) or isinstance(price, bool) or not 1 <= price <= 9999:
            violations.append(
                {"name": f"{name}.unitPrice", "reason": "Must be between 1 and 9999."}
            )
    if 1 not in quantities:
        violations.append(
            {"name": "pricing.bundlePrices", "reason": "A bundle price for quantity 1 is needed."}
        )
    if quantities != sorted(set(quantities)):
        violations.append(
            {"name": "pricing.bundlePrices", "reason": "Quantities must strictly increase."}
        )
    return violations


def _fulfilment(fulfilment: Any) -> list[Violation]:
    if not isinstance(fulfilment, dict) or fulfilment.get("method") not in FULFILMENT_METHODS:
        return [{"name": "fulfilment.method", "reason": "Must be FBR or FBB."}]
    violations: list[Violation] = []
    if "schedule" in fulfilment and fulfilment["schedule"] not in SCHEDULES:
        violations.append({"name": "fulfilment.schedule", "reason": "Unknown schedule."})
    promise = fulfilment.get("deliveryPromise")
    if promise is not None:
        low = promise.get("minimumDaysToCustomer") if isinstance(promise, dict) else None
        high = promise.get("maximumDaysToCustomer") if isinstance(promise, dict) else None
        if not isinstance(low, int) or not isinstance(high, int) or low > high or low < 0:
            violations.append(
                {
                    "name": "fulfilment.deliveryPromise",
                    "reason": "Needs 0 <= minimumDaysToCustomer <= maximumDaysToCustomer.",
                }
            )
    return violations


def _stock(stock: Any, required_fields: bool) -> list[Violation]:
    if not isinstance(stock, dict):
        return [{"name": "stock", "reason": "Must be an object."}]
    violations: list[Violation] = []
    amount = stock.get("amount")
    if amount is None and required_fields:
        violations.append({"name": "stock.amount", "reason": "Required field is missing."})
    elif amount is not None and (
        not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 999
    ):
        violations.append({"name": "stock.amount", "reason": "Must be between 0 and 999."})
    managed = stock.get("managedByRetailer")
    if managed is None and required_fields:
        violations.append(
            {"name": "stock.managedByRetailer", "reason": "Required field is missing."}
        )
    elif managed is not None and not isinstance(managed, bool):
        violations.append({"name": "stock.managedByRetailer", "reason": "Must be a boolean."})
    return violations


def shipment_violations(body: Any) -> list[Violation]:
    items = body.get("orderItems") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        return [{"name": "orderItems", "reason": "Between 1 and 100 order items needed."}]
    violations: list[Violation] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("orderItemId"):
            violations.append(
                {"name": f"orderItems[{index}].orderItemId", "reason": "Required field."}
            )
        elif item.get("quantity") is not None and (
            not isinstance(item["quantity"], int) or item["quantity"] < 1
        ):
            violations.append(
                {"name": f"orderItems[{index}].quantity", "reason": "Must be 1 or more."}
            )
    transport = body.get("transport")
    if transport is not None and not (
        isinstance(transport, dict) and transport.get("transporterCode")
    ):
        violations.append({"name": "transport.transporterCode", "reason": "Required field."})
    return violations


def cancellation_violations(body: Any) -> list[Violation]:
    items = body.get("orderItems") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) != 1:
        return [{"name": "orderItems", "reason": "Exactly one order item per request."}]
    item = items[0]
    violations: list[Violation] = []
    if not isinstance(item, dict) or not item.get("orderItemId"):
        violations.append({"name": "orderItems[0].orderItemId", "reason": "Required field."})
    reason = item.get("reasonCode") if isinstance(item, dict) else None
    if not isinstance(reason, str) or reason not in CANCELLATION_REASONS:
        violations.append(
            {
                "name": "orderItems[0].reasonCode",
                "reason": f"Request contains invalid value(s): '{reason}'.",
            }
        )
    return violations


SUBSCRIPTION_RESOURCES = {
    "PROCESS_STATUS",
    "SHIPMENT",
    "PRICE_STAR_BOUNDARY",
    "COMPETING_OFFER",
    "OFFER_FOR_SALE",
    "OFFER_NOT_FOR_SALE",
    "ORDER",
}
SUBSCRIPTION_TYPES = {"WEBHOOK", "GCP_PUBSUB", "AWS_SQS"}
_SUBSCRIPTION_FIELDS = {"resources", "url", "subscriptionType", "enabled", "identity"}
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")


def subscription_violations(body: Any) -> list[Violation]:
    """v10 ``SubscriptionRequest``: resources, url and subscriptionType are required; a WEBHOOK
    url must be https (bol.com refuses plain http; the sandbox also allows loopback http so
    tests can receive), an AWS_SQS subscription needs an ``identity`` (an AWS role ARN)."""
    if not isinstance(body, dict):
        return [{"name": "body", "reason": "Request body must be a JSON object."}]
    violations = _unknown(body, _SUBSCRIPTION_FIELDS)
    for name in ("resources", "url", "subscriptionType"):
        if name not in body:
            violations.append({"name": name, "reason": "Required field is missing."})
    resources = body.get("resources")
    if "resources" in body:
        if not isinstance(resources, list) or not resources:
            violations.append({"name": "resources", "reason": "Must be a non-empty array."})
        else:
            for resource in resources:
                if resource not in SUBSCRIPTION_RESOURCES:
                    violations.append(
                        {"name": "resources", "reason": f"Invalid value '{resource}'."}
                    )
    kind = body.get("subscriptionType")
    if "subscriptionType" in body and kind not in SUBSCRIPTION_TYPES:
        violations.append({"name": "subscriptionType", "reason": f"Invalid value '{kind}'."})
    url = body.get("url")
    if "url" in body:
        if not isinstance(url, str) or not url:
            violations.append({"name": "url", "reason": "Must be a non-empty string."})
        elif kind == "WEBHOOK" and not (url.startswith("https://") or url.startswith(_LOOPBACK)):
            violations.append({"name": "url", "reason": "A webhook url must use https."})
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        violations.append({"name": "enabled", "reason": "Must be a boolean."})
    identity = body.get("identity")
    if identity is not None and not isinstance(identity, str):
        violations.append({"name": "identity", "reason": "Must be a string."})
    if kind == "AWS_SQS" and not (isinstance(identity, str) and identity.startswith("arn:aws:")):
        violations.append(
            {"name": "identity", "reason": "AWS_SQS needs an identity in AWS ARN format."}
        )
    return violations
