"""A receiver for channelhub's outbound webhooks (contract ``channelhub-webhook-1``, written
down in ``connectors/webhook.py``'s docstring): verifies the HMAC-SHA256 signature, keeps the
last stock, price and listing per SKU, records when each value first arrived, answers read-backs
and injects faults. Test, demo and benchmark equipment; imports no connector code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelhub.sandbox.faults import Faults


@dataclass
class ReceiverState:
    secret: str
    faults: Faults = field(default_factory=Faults)
    stock: dict[str, int] = field(default_factory=dict)
    prices: dict[str, str] = field(default_factory=dict)
    listings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (topic, sku, value) -> wall-clock time it first arrived (for latency measurements).
    arrivals: dict[tuple[str, str, str], float] = field(default_factory=dict)
    record_arrivals: bool = False
    #: (topic, sku) -> the newest document version applied (older ones are ignored).
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    requests: int = 0
    accepted: int = 0
    rejected_signatures: int = 0
    faults_served: int = 0
    items: int = 0


def _signed(state: ReceiverState, body: bytes, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(state.secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


async def _fault(state: ReceiverState) -> Response | None:
    fault = state.faults.draw()
    if fault is None:
        return None
    state.faults_served += 1
    if fault == "timeout":
        await state.faults.stall()
        return None
    if fault == "throttle":
        return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "1"})
    status = 503 if fault == "outage" else 500
    return JSONResponse({"error": fault}, status_code=status)


def receiver_app(state: ReceiverState) -> Starlette:
    """The ASGI app over ``state`` (serve it with ``sandbox.server.serve_in_thread``)."""

    async def receive(request: Request) -> Response:
        state.requests += 1
        body = await request.body()
        if not _signed(state, body, request.headers.get("x-channelhub-signature")):
            state.rejected_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        faulty = await _fault(state)
        if faulty is not None:
            return faulty
        document = json.loads(body)
        topic, items = document.get("topic"), document.get("items", [])
        version = int(document.get("version", 0))
        now = time.time()
        for item in items:
            sku = item["sku"]
            if version and state.versions.get((str(topic), sku), 0) > version:
                continue  # a late request: something newer for this SKU was applied already
            state.versions[(str(topic), sku)] = version
            if topic == "stock":
                state.stock[sku] = int(item["quantity"])
                value = str(item["quantity"])
            elif topic == "prices":
                state.prices[sku] = str(item["amount"])
                value = str(item["amount"])
            elif topic == "listings":
                state.listings[sku] = item
                value = str(item.get("title"))
            else:
                continue
            if state.record_arrivals:
                state.arrivals.setdefault((topic, sku, value), now)
        state.items += len(items)
        state.accepted += 1
        return JSONResponse({"received": len(items)})

    async def read(request: Request) -> Response:
        body = await request.body()
        if not _signed(state, body, request.headers.get("x-channelhub-signature")):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        faulty = await _fault(state)
        if faulty is not None:
            return faulty
        document = json.loads(body)
        source: dict[str, Any] = state.stock if document.get("topic") == "stock" else state.prices
        skus = document.get("skus", [])
        return JSONResponse({"items": {s: source[s] for s in skus if s in source}})

    async def raw(request: Request) -> Response:
        """No checks, no state: the raw request rate the HTTP stack allows (benchmarks)."""
        await request.body()
        return JSONResponse({"ok": True})

    async def snapshot(request: Request) -> Response:
        await asyncio.sleep(0)
        return JSONResponse({"stock": state.stock, "prices": state.prices})

    return Starlette(
        routes=[
            Route("/", receive, methods=["POST"]),
            Route("/read", read, methods=["POST"]),
            Route("/raw", raw, methods=["POST"]),
            Route("/state", snapshot, methods=["GET"]),
        ]
    )
