"""bol.com push notifications: the sandbox's subscriptions and signature keys against the v10
contract, and the connector's signature checks, subscription and parsing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from channelhub.connectors.bol import BolConnector, push
from channelhub.connectors.bol.client import endpoint_key
from channelhub.sandbox.bol import BolState, create_app
from channelhub.sandbox.bol.subscriptions import signed

from .conftest import config_for, in_process, run
from .test_contract import BASE, OpenAPIRequest, OpenAPIResponse, Recording, spec_for

V10 = "application/vnd.retailer.v10+json"
HOOK = "https://hub.example.com/api/v1/webhooks/bol"


@pytest.fixture(autouse=True)
def no_cached_keys() -> Iterator[None]:
    push.forget_keys()
    yield
    push.forget_keys()


async def _token(http: httpx.AsyncClient) -> dict[str, str]:
    token = await http.post(
        f"{BASE}/token",
        params={"grant_type": "client_credentials"},
        auth=("sandbox-client", "sandbox-secret"),
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}", "Accept": V10}


def test_subscription_endpoints_follow_the_v10_contract() -> None:
    state = BolState(process_delay=0)

    async def scenario() -> Recording:
        recording = Recording(create_app(state))
        async with httpx.AsyncClient(transport=recording) as http:
            bol = BolConnector(config_for(BASE, push_url=HOOK), http)
            detail = await bol.test_connection()
            assert "subscription 1 created" in detail
            assert "subscription 1" in await bol.subscribe(HOOK)  # idempotent
            headers = await _token(http)
            write = headers | {"Content-Type": V10}
            base = f"{BASE}/retailer/subscriptions"
            listed = await http.get(base, headers=headers)
            assert [s["url"] for s in listed.json()["subscriptions"]] == [HOOK]
            one = await http.get(f"{base}/1", headers=headers)
            assert one.json() == {
                "id": "1",
                "resources": ["ORDER"],
                "url": HOOK,
                "subscriptionType": "WEBHOOK",
                "enabled": True,
            }
            body = {"resources": ["ORDER", "SHIPMENT"], "url": HOOK, "subscriptionType": "WEBHOOK"}
            updated = await http.put(f"{base}/1", headers=write, content=json.dumps(body))
            assert updated.status_code == 202 and updated.json()["entityId"] == "1"
            assert state.subscriptions["1"]["resources"] == ["ORDER", "SHIPMENT"]
            bad = {"resources": ["ORDERS"], "url": "http://insecure.example", "x": 1}
            refused = await http.post(base, headers=write, content=json.dumps(bad))
            assert refused.status_code == 400
            names = {v["name"] for v in refused.json()["violations"]}
            assert names == {"resources", "subscriptionType", "x"}
            insecure = body | {"url": "http://insecure.example/hook"}
            refused = await http.post(base, headers=write, content=json.dumps(insecure))
            assert refused.json()["violations"] == [
                {"name": "url", "reason": "A webhook url must use https."}
            ]
            sqs = {"resources": ["ORDER"], "url": "queue", "subscriptionType": "AWS_SQS"}
            refused = await http.post(base, headers=write, content=json.dumps(sqs))
            assert refused.json()["violations"][0]["name"] == "identity"
            assert (await http.get(f"{base}/99", headers=headers)).status_code == 404
            tested = await http.post(f"{base}/test/1", headers=headers)
            assert tested.status_code == 202  # the sandbox tried to deliver; nobody listened
            deleted = await http.delete(f"{base}/1", headers=headers)
            assert deleted.status_code == 202 and deleted.json()["eventType"]
            assert state.subscriptions == {}
            assert (await http.delete(f"{base}/1", headers=headers)).status_code == 404
        return recording

    recording = run(scenario())
    seen = {endpoint_key(r.method, r.url.path) for r, _ in recording.exchanges}
    assert {
        "GET /retailer/subscriptions",
        "POST /retailer/subscriptions",
        "GET /retailer/subscriptions/signature-keys",
        "GET /retailer/subscriptions/{id}",
        "PUT /retailer/subscriptions/{id}",
        "DELETE /retailer/subscriptions/{id}",
        "POST /retailer/subscriptions/test/{id}",
    } <= seen
    documented = {200, 202, 400}
    for request, response in recording.exchanges:
        if not request.url.path.startswith("/retailer/subscriptions"):
            continue
        spec = spec_for(request.url.path)
        if response.is_success:  # the 400s answer deliberately invalid requests
            spec.validate_request(OpenAPIRequest(request))
        if response.status_code in documented or request.method == "GET":
            spec.validate_response(OpenAPIRequest(request), OpenAPIResponse(response))


def test_signature_keys_verify_what_the_sandbox_signs(app: Any, state: BolState) -> None:
    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            headers = await _token(http)
            keys = (await http.get(f"http://bol.sandbox{push.KEYS_PATH}", headers=headers)).json()
            await bol.refresh_signature_keys()
        [key] = keys["signatureKeys"]
        assert key["id"] == state.signature_key_id and key["type"] == "RSA"
        assert base64.b64decode(key["publicKey"])  # Base64 DER, as documented
        body, hook_headers = signed(state, "ORDER", {"type": "NEW", "resourceId": "A1"})
        assert bol.verify_webhook(hook_headers, body)
        message = bol.parse_webhook(hook_headers, body)
        assert (message.topic, message.entity, message.order) == ("orders", "A1", None)
        assert message.event_id == bol.parse_webhook(hook_headers, body).event_id

    run(scenario())


@pytest.mark.parametrize("case", ["forged body", "wrong key", "unsigned", "garbage", "algorithm"])
def test_a_notification_that_does_not_verify_is_refused(
    app: Any, state: BolState, case: str
) -> None:
    bol, http = in_process(app)

    async def prepare() -> None:
        async with http:
            await bol.refresh_signature_keys()

    run(prepare())
    body, headers = signed(state, "ORDER", {"type": "NEW", "resourceId": "A1"})
    if case == "forged body":
        body = body.replace(b"A1", b"A2")
    elif case == "wrong key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body, headers = signed(state, "ORDER", {"resourceId": "A1"}, key=other)
    elif case == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif case == "garbage":
        headers = {"Signature": "keyId=0, signature=!!!not base64"}
        body = b"\xff\x00"
    else:
        headers = {"Signature": headers["Signature"].replace("rsa-sha256", "hmac-sha256")}
    assert bol.verify_webhook(headers, body) is False


def test_signature_header_parsing() -> None:
    sig = base64.b64encode(b"abc").decode()
    assert push.parse_signature(f'keyId=0, algorithm="rsa-sha256", signature={sig}') == (
        "0",
        "rsa-sha256",
        b"abc",
    )
    assert push.parse_signature("signature=abc") is None  # no key id
    assert push.parse_signature("") is None


def test_notification_topics_and_stable_ids(state: BolState) -> None:
    bol, _ = in_process(create_app(state))
    shipment, h = signed(state, "SHIPMENT", {"type": "UPDATE", "resourceId": "S9"})
    process, _ = signed(state, "PROCESS_STATUS", {"type": "SUCCESS", "resourceId": "p1"})
    assert bol.parse_webhook(h, shipment).topic == "shipments"
    assert bol.parse_webhook(h, process).topic == "process_status"
    first = bol.parse_webhook(
        h, b'{"timestamp":"t1","event":{"resource":"ORDER","resourceId":"A"}}'
    )
    again = bol.parse_webhook(
        h, b'{"event":{"resourceId":"A","resource":"ORDER"},"timestamp":"t1"}'
    )
    later = bol.parse_webhook(
        h, b'{"timestamp":"t2","event":{"resource":"ORDER","resourceId":"A"}}'
    )
    assert first.event_id == again.event_id != later.event_id


def test_an_unknown_key_id_fetches_the_keys_once(state: BolState, monkeypatch: Any) -> None:
    bol, _ = in_process(create_app(state))
    calls: list[int] = []
    public = state.signing_key.public_key()

    def fetch(*_: Any) -> dict[str, rsa.RSAPublicKey]:
        calls.append(1)
        return {state.signature_key_id: public}

    monkeypatch.setattr(push, "fetch_keys_blocking", fetch)
    body, headers = signed(state, "ORDER", {"resourceId": "A1"})
    assert bol.verify_webhook(headers, body)  # nothing cached: one blocking fetch
    assert bol.verify_webhook(headers, body)
    forged, forged_headers = signed(state, "ORDER", {"resourceId": "A1"}, key_id="77")
    assert not bol.verify_webhook(forged_headers, forged)
    assert not bol.verify_webhook(forged_headers, forged)
    assert calls == [1]  # an unknown key id does not make us fetch again within the minute
