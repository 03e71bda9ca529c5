"""Listings Items API 2021-08-01 in the sandbox: put, patch and get a listing by SKU, with
the checks a product type definition makes, answered as a ListingsItemSubmissionResponse
(ACCEPTED, or INVALID with ERROR issues naming the attribute).

The per-product-type JSON Schemas are served by Amazon at run time and are not published, so
the sandbox applies one requirement set to every product type (documented in
docs/connectors/amazon.md): LISTING needs item_name, brand, condition_type, a product
identifier and purchasable_offer; LISTING_PRODUCT_ONLY the facts; LISTING_OFFER_ONLY the offer.
Issue code 90220 ("is required but not supplied") is Amazon's; the other codes are the
sandbox's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.amazon.errors import csv_param, invalid_input, json_body, not_found
from channelhub.sandbox.amazon.state import AmazonState, Seller, now_iso

REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
REQUIRED: dict[str, tuple[str, ...]] = {
    "LISTING": ("item_name", "brand", "condition_type", "purchasable_offer"),
    "LISTING_PRODUCT_ONLY": ("item_name", "brand"),
    "LISTING_OFFER_ONLY": ("condition_type", "purchasable_offer"),
}
IDENTIFIERS = ("externally_assigned_product_identifier", "merchant_suggested_asin")
TEXT_LIMITS = {"item_name": 200, "brand": 100, "product_description": 2000, "bullet_point": 500}
PATCH_OPS = ("add", "replace", "merge", "delete")
_CONDITION = re.compile(r"^(new|used|collectible|refurbished|club)_[a-z_]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def issue(
    code: str, message: str, attribute: str | None = None, category: str = "INVALID_ATTRIBUTE"
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "categories": [category],
    }
    if attribute:
        found["attributeNames"] = [attribute]
    return found


def gs1_check_digit_ok(code: str) -> bool:
    """Whether a GTIN-8/12/13/14's last digit is its GS1 check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body = digits[:-1][::-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == digits[-1]


def requirement_issues(attributes: Mapping[str, Any], requirements: str) -> list[dict[str, Any]]:
    found = [
        issue("90220", f"'{name}' is required but not supplied.", name, "MISSING_ATTRIBUTE")
        for name in REQUIRED[requirements]
        if name not in attributes
    ]
    if requirements != "LISTING_OFFER_ONLY" and not any(n in attributes for n in IDENTIFIERS):
        found.append(
            issue(
                "90220",
                "'externally_assigned_product_identifier' is required but not supplied.",
                "externally_assigned_product_identifier",
                "MISSING_ATTRIBUTE",
            )
        )
    return found


def attribute_issues(attributes: Mapping[str, Any], marketplace_id: str) -> list[dict[str, Any]]:
    """Structure and value checks of every attribute (each is a list of objects)."""
    found: list[dict[str, Any]] = []
    for name, entries in attributes.items():
        if (
            not isinstance(entries, list)
            or not entries
            or not all(isinstance(e, dict) for e in entries)
        ):
            found.append(issue("4000001", f"'{name}' must be a non-empty array of objects.", name))
            continue
        for entry in entries:
            where = entry.get("marketplace_id")
            if where is not None and where != marketplace_id:
                found.append(
                    issue(
                        "4000002",
                        f"'{name}' names marketplace {where}, not {marketplace_id}.",
                        name,
                    )
                )
            problem = _value_problem(name, entry)
            if problem:
                found.append(issue("4000003", problem, name))
    return found


def _value_problem(name: str, entry: dict[str, Any]) -> str | None:
    if name in TEXT_LIMITS:
        value = entry.get("value")
        if not isinstance(value, str) or not value.strip():
            return f"'{name}' needs a non-empty text value."
        if len(value) > TEXT_LIMITS[name]:
            return f"'{name}' is longer than {TEXT_LIMITS[name]} characters."
    elif name == "externally_assigned_product_identifier":
        kind, value = entry.get("type"), str(entry.get("value", ""))
        if kind not in ("ean", "upc", "gtin", "isbn"):
            return f"'{name}' type {kind!r} is not ean, upc, gtin or isbn."
        if not gs1_check_digit_ok(value):
            return f"'{name}' value {value!r} is not a valid {kind} (check digit)."
    elif name == "condition_type":
        if not _CONDITION.match(str(entry.get("value", ""))):
            return f"'{name}' value {entry.get('value')!r} is not a condition."
    elif name == "purchasable_offer":
        return _offer_problem(entry)
    elif name == "fulfillment_availability":
        quantity = entry.get("quantity")
        if not isinstance(entry.get("fulfillment_channel_code"), str):
            return "'fulfillment_availability' needs a fulfillment_channel_code."
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
        ):
            return f"'fulfillment_availability' quantity {quantity!r} is not a whole number >= 0."
    elif name.endswith("_image_locator") and not str(entry.get("media_location", "")).startswith(
        ("http://", "https://")
    ):
        return f"'{name}' needs a media_location URL."
    return None


def _offer_problem(entry: dict[str, Any]) -> str | None:
    if not _CURRENCY.match(str(entry.get("currency", ""))):
        return f"'purchasable_offer' currency {entry.get('currency')!r} is not ISO 4217."
    try:
        value = entry["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return "'purchasable_offer.our_price' does not have enough values (minimum 1)."
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return f"'purchasable_offer.our_price' value {value!r} is not a price above 0."
    return None


def apply_patches(
    attributes: dict[str, Any], patches: list[Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``attributes`` after JSON Patch operations on whole top-level attributes."""
    result = dict(attributes)
    found: list[dict[str, Any]] = []
    for patch in patches:
        op = patch.get("op") if isinstance(patch, dict) else None
        path = str(patch.get("path", "")) if isinstance(patch, dict) else ""
        name = path.removeprefix("/attributes/")
        if op not in PATCH_OPS or not path.startswith("/attributes/") or not name or "/" in name:
            found.append(issue("4000004", f"Unsupported patch {patch!r}: only whole attributes."))
            continue
        if op == "delete":
            result.pop(name, None)
            continue
        value = patch.get("value")
        if not isinstance(value, list):
            found.append(issue("4000001", f"'{name}' must be a non-empty array of objects.", name))
            continue
        result[name] = value
    return result, found


def submission(sku: str, issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sku": sku,
        "status": "INVALID" if issues else "ACCEPTED",
        "submissionId": uuid.uuid4().hex,
        "issues": issues,
    }


def put_listing(
    state: AmazonState, sku: str, body: Any, marketplace_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Store a full listing: (submission response, None) or (None, why the body is unreadable)."""
    if not isinstance(body, dict) or not isinstance(body.get("productType"), str):
        return None, "productType is required."
    attributes = body.get("attributes")
    requirements = body.get("requirements", "LISTING")
    if not isinstance(attributes, dict) or requirements not in REQUIREMENTS:
        return None, "attributes (an object) and a known requirements value are required."
    issues = requirement_issues(attributes, requirements) + attribute_issues(
        attributes, marketplace_id
    )
    if not issues:
        old = state.listings.get(sku, {})
        state.listings[sku] = {
            "sku": sku,
            "productType": body["productType"],
            "requirements": requirements,
            "attributes": attributes,
            "asin": old.get("asin") or f"B0{state.next_id():08d}",
            "createdDate": old.get("createdDate") or now_iso(),
            "lastUpdatedDate": now_iso(),
        }
    return submission(sku, issues), None


def patch_listing(
    state: AmazonState, sku: str, body: Any, marketplace_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("productType"), str):
        return None, "productType is required."
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return None, "patches must hold at least one JSON Patch operation."
    listing = state.listings.get(sku)
    if listing is None:
        missing = issue("4000005", f"SKU '{sku}' has no listing to patch; create it first.")
        return submission(sku, [missing]), None
    attributes, issues = apply_patches(listing["attributes"], patches)
    issues += attribute_issues(attributes, marketplace_id)
    if not issues:
        listing["attributes"] = attributes
        listing["lastUpdatedDate"] = now_iso()
    return submission(sku, issues), None


def item_view(listing: dict[str, Any], marketplace_id: str, included: list[str]) -> dict[str, Any]:
    """A listings ``Item`` with the ``includedData`` sections asked for."""
    attributes = listing["attributes"]
    item: dict[str, Any] = {"sku": listing["sku"]}
    offers = attributes.get("purchasable_offer") or []
    if "summaries" in included:
        names = attributes.get("item_name") or [{}]
        item["summaries"] = [
            {
                "marketplaceId": marketplace_id,
                "asin": listing["asin"],
                "productType": listing["productType"],
                "conditionType": (attributes.get("condition_type") or [{}])[0].get("value"),
                "status": ["BUYABLE", "DISCOVERABLE"] if offers else ["DISCOVERABLE"],
                "itemName": names[0].get("value"),
                "createdDate": listing["createdDate"],
                "lastUpdatedDate": listing["lastUpdatedDate"],
            }
        ]
    if "attributes" in included:
        item["attributes"] = attributes
    if "issues" in included:
        item["issues"] = []
    if "offers" in included:
        item["offers"] = [
            {
                "marketplaceId": marketplace_id,
                "offerType": "B2C",
                "price": {
                    "currencyCode": offer["currency"],
                    "amount": str(offer["our_price"][0]["schedule"][0]["value_with_tax"]),
                },
            }
            for offer in offers
        ]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = [
            {"fulfillmentChannelCode": e["fulfillment_channel_code"], "quantity": e.get("quantity")}
            for e in attributes.get("fulfillment_availability") or []
        ]
    return item


# --- HTTP handlers --------------------------------------------------------------------------


def _marketplace(request: Request, seller: Seller) -> str | Response:
    wanted = csv_param(request, "marketplaceIds")
    if len(wanted) != 1:
        return invalid_input("marketplaceIds is required (exactly one marketplace).")
    if wanted[0] != seller.marketplace_id:
        return invalid_input(f"The seller does not sell in marketplace {wanted[0]}.")
    return wanted[0]


async def get_item(request: Request, state: AmazonState, seller: Seller) -> Response:
    marketplace = _marketplace(request, seller)
    if isinstance(marketplace, Response):
        return marketplace
    sku = request.path_params["sku"]
    listing = state.listings.get(sku)
    if listing is None:
        return not_found(f"SKU '{sku}' not found in marketplace {marketplace}")
    included = csv_param(request, "includedData") or ["summaries"]
    return JSONResponse(item_view(listing, marketplace, included))


async def put_item(request: Request, state: AmazonState, seller: Seller) -> Response:
    marketplace = _marketplace(request, seller)
    if isinstance(marketplace, Response):
        return marketplace
    answer, unreadable = put_listing(
        state, request.path_params["sku"], await json_body(request), marketplace
    )
    return invalid_input(unreadable or "") if answer is None else JSONResponse(answer)


async def patch_item(request: Request, state: AmazonState, seller: Seller) -> Response:
    marketplace = _marketplace(request, seller)
    if isinstance(marketplace, Response):
        return marketplace
    answer, unreadable = patch_listing(
        state, request.path_params["sku"], await json_body(request), marketplace
    )
    return invalid_input(unreadable or "") if answer is None else JSONResponse(answer)
