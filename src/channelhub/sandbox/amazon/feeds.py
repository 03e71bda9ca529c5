"""Feeds API 2021-06-30 in the sandbox, for JSON_LISTINGS_FEED: feed documents (uploaded to
and downloaded from a pre-signed-style URL the sandbox serves itself), feeds that finish after
``feed_delay`` (settled on the next getFeed), and the processing report v2."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelhub.sandbox.amazon import listings
from channelhub.sandbox.amazon.errors import csv_param, invalid_input, json_body, not_found
from channelhub.sandbox.amazon.state import AmazonState, Document, Feed, Seller, now_iso

DOCUMENTS_PATH = "/sandbox/feed-documents"
FEED_TYPES = ("JSON_LISTINGS_FEED",)
OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
MAX_MESSAGES = 25_000


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def create_document(request: Request, state: AmazonState, seller: Seller) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("contentType"), str):
        return invalid_input("contentType is required.")
    document_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}"
    state.documents[document_id] = Document(content_type=body["contentType"])
    url = f"{_base(request)}{DOCUMENTS_PATH}/{document_id}"
    return JSONResponse({"feedDocumentId": document_id, "url": url}, status_code=201)


async def upload(request: Request, state: AmazonState) -> Response:
    """The pre-signed upload URL: the Content-Type must be the one the document was made for."""
    document = state.documents.get(request.path_params["id"])
    if document is None:
        return Response("NoSuchKey", status_code=404)
    sent = request.headers.get("content-type", "").replace(" ", "").lower()
    if sent != document.content_type.replace(" ", "").lower():
        return Response(
            "SignatureDoesNotMatch: Content-Type differs from the document's", status_code=403
        )
    document.content = await request.body()
    return Response(status_code=200)


async def download(request: Request, state: AmazonState) -> Response:
    document = state.documents.get(request.path_params["id"])
    if document is None or document.content is None:
        return Response("NoSuchKey", status_code=404)
    return Response(document.content, media_type=document.content_type)


async def create_feed(request: Request, state: AmazonState, seller: Seller) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        return invalid_input("The request body must be a CreateFeedSpecification.")
    if body.get("feedType") not in FEED_TYPES:
        return invalid_input(f"feedType {body.get('feedType')!r} is not supported here.")
    marketplaces = body.get("marketplaceIds")
    if not isinstance(marketplaces, list) or not 1 <= len(marketplaces) <= 25:
        return invalid_input("marketplaceIds must list 1 to 25 marketplaces.")
    if seller.marketplace_id not in marketplaces:
        return invalid_input(f"The seller does not sell in {', '.join(map(str, marketplaces))}.")
    document = state.documents.get(str(body.get("inputFeedDocumentId")))
    if document is None or document.content is None:
        return invalid_input("inputFeedDocumentId names no uploaded feed document.")
    feed = Feed(
        feed_id=str(50_000_000_000 + state.next_id()),
        document_id=str(body["inputFeedDocumentId"]),
        marketplace_ids=[str(m) for m in marketplaces],
        seller_id=seller.seller_id,
        ready_at=time.monotonic() + state.feed_delay,
    )
    state.feeds[feed.feed_id] = feed
    return JSONResponse({"feedId": feed.feed_id}, status_code=202)


async def get_feed(request: Request, state: AmazonState, seller: Seller) -> Response:
    feed = state.feeds.get(request.path_params["id"])
    if feed is None or feed.seller_id != seller.seller_id:
        return not_found(f"Feed {request.path_params['id']} not found.")
    settle(state, feed)
    return JSONResponse(feed.body())


async def get_feeds(request: Request, state: AmazonState, seller: Seller) -> Response:
    types = csv_param(request, "feedTypes")
    if not types:
        return invalid_input("feedTypes is required (unless nextToken is given).")
    found = [
        settle(state, feed).body()
        for feed in state.feeds.values()
        if feed.seller_id == seller.seller_id and "JSON_LISTINGS_FEED" in types
    ]
    raw_size = request.query_params.get("pageSize", "10")
    if not raw_size.isascii() or not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
        return invalid_input(f"pageSize {raw_size[:40]!r} is not an integer from 1 to 100.")
    return JSONResponse({"feeds": found[::-1][: int(raw_size)]})


async def get_feed_document(request: Request, state: AmazonState, seller: Seller) -> Response:
    document_id = request.path_params["id"]
    document = state.documents.get(document_id)
    if document is None or document.content is None:
        return not_found(f"Feed document {document_id} not found.")
    body: dict[str, Any] = {
        "feedDocumentId": document_id,
        "url": f"{_base(request)}{DOCUMENTS_PATH}/{document_id}",
    }
    if document.content[:2] == b"\x1f\x8b":
        body["compressionAlgorithm"] = "GZIP"
    return JSONResponse(body)


def settle(state: AmazonState, feed: Feed) -> Feed:
    """Process a queued feed whose time has come (lazily, on read)."""
    if feed.status != "IN_QUEUE" or time.monotonic() < feed.ready_at:
        return feed
    feed.started = now_iso()
    document = state.documents[feed.document_id]
    report = process(state, feed, document.content or b"")
    content = json.dumps(report).encode()
    if state.gzip_reports:
        content = gzip.compress(content)
    result_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}"
    state.documents[result_id] = Document("application/json", content)
    feed.result_document_id = result_id
    feed.finished = now_iso()
    return feed


def process(state: AmazonState, feed: Feed, content: bytes) -> dict[str, Any]:
    """Apply a JSON_LISTINGS_FEED document; its processing report v2 (FATAL when unreadable)."""
    header = {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.feed_id}
    try:
        document = json.loads(content)
        messages = document["messages"]
        if (
            document["header"]["version"] != "2.0"
            or document["header"]["sellerId"] != feed.seller_id
            or not isinstance(messages, list)
            or not 1 <= len(messages) <= MAX_MESSAGES
        ):
            raise ValueError("header or messages do not follow the listings feed schema v2")
    except (ValueError, KeyError, TypeError) as error:
        feed.status = "FATAL"
        fatal = {"code": "100001", "severity": "ERROR", "message": f"Unreadable feed: {error}"}
        return {"header": header, "issues": [fatal], "summary": _summary(1, 0, 0)}
    issues: list[dict[str, Any]] = []
    accepted = 0
    for message in messages:
        found = _apply(state, message, feed.marketplace_ids[0])
        issues += found
        accepted += not found
    feed.status = "DONE"
    return {
        "header": header,
        "issues": issues,
        "summary": _summary(len(issues), len(messages), accepted),
    }


def _summary(errors: int, processed: int, accepted: int) -> dict[str, int]:
    return {
        "errors": errors,
        "warnings": 0,
        "messagesProcessed": processed,
        "messagesAccepted": accepted,
        "messagesInvalid": processed - accepted,
    }


def _apply(state: AmazonState, message: Any, marketplace_id: str) -> list[dict[str, Any]]:
    """One feed message applied through the same rules as the Listings Items API."""
    if not isinstance(message, dict) or not isinstance(message.get("messageId"), int):
        return [{"severity": "ERROR", "code": "100002", "message": "A message has no messageId."}]
    message_id, sku = message["messageId"], message.get("sku")
    operation = message.get("operationType")
    issues: list[dict[str, Any]] = []
    if not isinstance(sku, str) or not sku or operation not in OPERATIONS:
        issues = [listings.issue("100003", "A message needs a sku and a known operationType.")]
    elif operation == "DELETE":
        state.listings.pop(sku, None)
    elif operation == "PATCH":
        answer, unreadable = listings.patch_listing(state, sku, message, marketplace_id)
        issues = answer["issues"] if answer else [listings.issue("100004", unreadable or "")]
    elif operation == "UPDATE":
        answer, unreadable = listings.put_listing(state, sku, message, marketplace_id)
        issues = answer["issues"] if answer else [listings.issue("100004", unreadable or "")]
    else:  # PARTIAL_UPDATE: only the attributes given
        old = state.listings.get(sku)
        if old is None:
            issues = [listings.issue("4000005", f"SKU '{sku}' has no listing to update.")]
        else:
            merged = dict(message, attributes=old["attributes"] | (message.get("attributes") or {}))
            merged["requirements"] = old["requirements"]
            answer, unreadable = listings.put_listing(state, sku, merged, marketplace_id)
            issues = answer["issues"] if answer else [listings.issue("100004", unreadable or "")]
    return [
        {
            "messageId": message_id,
            "sku": sku,
            "code": found["code"],
            "severity": "ERROR",
            "message": found["message"],
        }
        | ({"attributeName": found["attributeNames"][0]} if found.get("attributeNames") else {})
        for found in issues
    ]
