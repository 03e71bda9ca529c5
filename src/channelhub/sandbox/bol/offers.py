"""Offers API v11 (11.3.0) in the sandbox: synchronous create (201), get, list with a cursor,
PATCH and DELETE (204)."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.bol import validation
from channelhub.sandbox.bol.errors import V11, instance_of, invalid, json_body, problem
from channelhub.sandbox.bol.state import BolState, now_iso


async def list_offers(request: Request, state: BolState) -> Response:
    query = request.query_params
    offers = list(state.offers.values())
    if ids := query.getlist("offer-ids"):
        offers = [offer for offer in offers if offer["offerId"] in ids]
    if eans := query.getlist("eans"):
        offers = [offer for offer in offers if offer.get("ean") in eans]
    if "reference" in query:
        offers = [offer for offer in offers if offer.get("reference") == query["reference"]]
    if "for-sale" in query:
        wanted = query["for-sale"].lower() == "true"
        offers = [offer for offer in offers if _for_sale(offer) == wanted]
    try:
        size = int(query.get("page-size", "50"))
        start = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if "cursor" in query else 0
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return invalid(request, [{"name": "cursor", "reason": "Invalid cursor."}], V11)
    if not 1 <= size <= 100:
        return invalid(request, [{"name": "page-size", "reason": "Between 1 and 100."}], V11)
    page = [_present(offer) for offer in offers[start : start + size]]
    more = start + size < len(offers)
    cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None
    return JSONResponse(
        {"offers": page, "page": {"pageSize": size, "nextCursor": cursor}}, media_type=V11
    )


def _for_sale(offer: dict[str, Any]) -> bool:
    return not offer["onHoldByRetailer"] and offer["stock"]["amount"] > 0


async def create_offer(request: Request, state: BolState) -> Response:
    body = await json_body(request)
    violations = validation.create_offer_violations(body)
    if violations:
        return invalid(request, violations, V11)
    category = body["condition"]["category"]
    for offer in state.offers.values():
        if offer.get("ean") == body["ean"] and offer["condition"]["category"] == category:
            return problem(
                409,
                "Conflict",
                f"An offer for EAN {body['ean']} in condition {category} already exists.",
                media_type=V11,
                instance=instance_of(request),
                violations=[{"name": "ean", "reason": f"Existing offer {offer['offerId']}."}],
            )
    offer_id = str(uuid.uuid4())
    stock = body.get("stock") or {"amount": 0, "managedByRetailer": False}
    state.offers[offer_id] = {
        "offerId": offer_id,
        "ean": body["ean"],
        "lastModifiedDateTime": now_iso(),
        "reference": body.get("reference"),
        "onHoldByRetailer": body.get("onHoldByRetailer", False),
        "economicOperatorId": body.get("economicOperatorId"),
        "unknownProductTitle": body.get("unknownProductTitle"),
        "stock": {**stock, "correctedStock": stock["amount"]},
        "countryAvailabilities": body.get("countryAvailabilities") or [{"countryCode": "NL"}],
        "condition": body["condition"],
        "product": {"bolProductId": str(9_200_000_000_000_000 + state.next_id())},
        "pricing": body["pricing"],
        "fulfilment": body["fulfilment"],
    }
    _refresh_for_sale(state.offers[offer_id])
    return JSONResponse({"offerId": offer_id}, status_code=201, media_type=V11)


def _refresh_for_sale(offer: dict[str, Any]) -> None:
    offer["countryAvailabilities"] = [
        {"countryCode": country["countryCode"], "forSale": _for_sale(offer)}
        for country in offer["countryAvailabilities"]
    ]


def _offer_or_404(request: Request, state: BolState) -> dict[str, Any] | Response:
    offer = state.offers.get(request.path_params["id"])
    if offer is None:
        return problem(
            404,
            "Not Found",
            f"Offer {request.path_params['id']} not found.",
            media_type=V11,
            instance=instance_of(request),
        )
    return offer


async def get_offer(request: Request, state: BolState) -> Response:
    offer = _offer_or_404(request, state)
    if isinstance(offer, Response):
        return offer
    return JSONResponse(_present(offer), media_type=V11)


def _present(offer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in offer.items() if value is not None}


async def patch_offer(request: Request, state: BolState) -> Response:
    offer = _offer_or_404(request, state)
    if isinstance(offer, Response):
        return offer
    body = await json_body(request)
    violations = validation.patch_offer_violations(body)
    if violations:
        return invalid(request, violations, V11)
    for key, value in body.items():
        if key == "stock":
            offer["stock"].update(value)
            offer["stock"]["correctedStock"] = offer["stock"]["amount"]
        else:
            offer[key] = value
    offer["lastModifiedDateTime"] = now_iso()
    _refresh_for_sale(offer)
    return Response(status_code=204, media_type=V11)


async def delete_offer(request: Request, state: BolState) -> Response:
    offer = _offer_or_404(request, state)
    if isinstance(offer, Response):
        return offer
    del state.offers[offer["offerId"]]
    return Response(status_code=204, media_type=V11)
