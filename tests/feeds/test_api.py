"""The feed routes: definitions, stable file URLs with tokens, ETag and 304, delta, report."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

from channelhub.api.app import create_app
from channelhub.apikeys.service import create_key
from channelhub.core.database import Database
from tests.factories import save, value
from tests.feeds.conftest import LINK, product


def test_feed_urls_tokens_etags_and_deltas(shop: Database) -> None:
    client = TestClient(create_app(shop))
    _key, writer = create_key(shop, "writer", ["write"])
    headers = {"Authorization": f"Bearer {writer}"}
    body = {
        "code": "google-en",
        "name": "Google EN",
        "kind": "google_products",
        "format": "xml",
        "channel": "google",
        "locale": "en_US",
        "settings": {"link_template": LINK, "image_base_url": "https://cdn.example.com"},
    }
    created = client.post("/api/v1/feeds", json=body, headers=headers)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert created.json()["url"] == "/feeds/google-en.xml"
    assert client.post("/api/v1/feeds", json=body, headers=headers).status_code == 409
    bad = client.post(
        "/api/v1/feeds",
        json=body | {"code": "x", "settings": {"link_template": "ftp://x/{sku}"}},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["location"].startswith("settings")

    assert client.get("/feeds/google-en.xml").status_code == 401
    assert client.get("/feeds/google-en.xml", params={"token": "chf_wrong"}).status_code == 403
    assert client.get("/feeds/google-en.tsv", params={"token": token}).status_code == 404
    # A request never builds a feed: until the worker (or a publish call) has published it,
    # the URL says so, and nothing is published by asking.
    unpublished = client.get("/feeds/google-en.xml", params={"token": token})
    assert unpublished.status_code == 404
    assert "has not been published yet" in unpublished.json()["detail"]
    assert client.get("/api/v1/feeds/google-en/versions", headers=headers).json() == []
    assert client.post("/api/v1/feeds/google-en/publish", headers=headers).status_code == 200
    first = client.get("/feeds/google-en.xml", params={"token": token})
    assert first.status_code == 200 and first.headers["x-feed-kind"] == "full"
    assert first.headers["content-type"].startswith("application/xml")
    etag = first.headers["etag"]
    root = ET.fromstring(first.content)
    assert len(root.findall("channel/item")) == 5
    assert client.get("/feeds/google-en.xml", headers=headers).status_code == 200  # API key

    same = client.get(
        "/feeds/google-en.xml", params={"token": token}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304 and same.headers["etag"] == etag and same.content == b""
    # Republishing unchanged content keeps the ETag: Merchant Center still gets 304.
    assert client.post("/api/v1/feeds/google-en/publish", headers=headers).status_code == 200
    again = client.get(
        "/feeds/google-en.xml", params={"token": token}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304

    save(shop, product("MUG-1", 1, values=[value("name", "Renamed mug", "en_US")]))
    empty = client.get("/feeds/google-en/delta.xml", params={"token": token})
    assert empty.status_code == 200 and empty.headers["x-feed-kind"] == "delta"
    assert ET.fromstring(empty.content).findall("channel/item") == []
    delta = client.post(
        "/api/v1/feeds/google-en/publish", params={"kind": "delta"}, headers=headers
    )
    assert delta.status_code == 200 and delta.json()["items"] == 1
    served = client.get("/feeds/google-en/delta.xml", params={"token": token})
    assert [
        i.findtext("{http://base.google.com/ns/1.0}title")
        for i in ET.fromstring(served.content).iter("item")
    ] == ["Renamed mug"]
    assert client.post("/api/v1/feeds/google-en/publish", headers=headers).status_code == 200
    changed = client.get(
        "/feeds/google-en.xml", params={"token": token}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag

    rotated = client.post("/api/v1/feeds/google-en/token", headers=headers).json()["token"]
    assert client.get("/feeds/google-en.xml", params={"token": token}).status_code == 403
    assert client.get("/feeds/google-en.xml", params={"token": rotated}).status_code == 200

    versions = client.get("/api/v1/feeds/google-en/versions", headers=headers).json()
    assert [v["kind"] for v in versions] == ["full", "delta", "full", "full"]
    report = client.get("/api/v1/feeds/google-en/report", headers=headers).json()
    assert report["rejected"] == 0 and report["items"] == 5


def test_the_report_names_held_back_items(shop: Database) -> None:
    client = TestClient(create_app(shop))
    _key, writer = create_key(shop, "writer", ["write"])
    headers = {"X-API-Key": writer}
    body = {
        "code": "meta",
        "name": "Meta",
        "kind": "meta_catalog",
        "format": "csv",
        "channel": "meta",
        "locale": "en_US",
        "settings": {"link_template": LINK, "image_base_url": "https://cdn.example.com/"},
    }
    assert client.post("/api/v1/feeds", json=body, headers=headers).status_code == 201
    unpictured = product("MUG-1", 1, values=[value("images", None)])
    save(shop, unpictured)
    fresh = client.get("/api/v1/feeds/meta/report", params={"fresh": "true"}, headers=headers)
    assert fresh.status_code == 200
    assert fresh.json()["violations"] == [
        {
            "item": "MUG-1",
            "attribute": "image_link",
            "rule": "required",
            "message": "image_link is required",
        }
    ]
    assert client.get("/api/v1/feeds/meta/report", headers=headers).status_code == 404
    published = client.post("/api/v1/feeds/meta/publish", headers=headers).json()
    assert published["items"] == 4 and published["rejected"] == 1
    served = client.get("/feeds/meta.csv", headers=headers)
    assert served.headers["content-type"].startswith("text/csv")
    assert b"MUG-1," not in served.content and served.content.count(b"\r\n") == 5
    assert client.delete("/api/v1/feeds/meta", headers=headers).status_code == 204
    assert client.get("/api/v1/feeds/meta", headers=headers).status_code == 404
