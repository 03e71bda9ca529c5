"""The catalog through HTTP: auth, reference data, products, workflow, history, search,
pagination, imports and exports; on SQLite and PostgreSQL, over the sample catalog."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import auth

API = "/api/v1"
PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    return body


def all_products(client: TestClient, query: str = "", limit: int = 500) -> list[dict[str, Any]]:
    """Every product matching ``query``, walking the cursor pages."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = f"limit={limit}" + (f"&{query}" if query else "")
        if cursor:
            params += f"&cursor={cursor}"
        response = client.get(f"{API}/products?{params}")
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def skus(items: list[dict[str, Any]]) -> set[str]:
    return {item["sku"] for item in items}


def new_mug(client: TestClient, sku: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "family": "mugs",
        "categories": ["kitchen"],
        "values": {
            "name": [
                {"locale": "en_US", "data": "Stoneware mug"},
                {"locale": "nl_NL", "data": "Stenen mok"},
            ],
        },
    }
    body.update(fields)
    response = client.patch(f"{API}/products/{sku}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- the document and auth ----------------------------------------------------------------


def test_the_openapi_document_is_served_and_declares_problem_responses(
    anonymous: TestClient,
) -> None:
    response = anonymous.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "channelhub"
    assert "Problem" in document["components"]["schemas"]
    patch = document["paths"][f"{API}/products/{{sku}}"]["patch"]["responses"]
    for code in ("401", "403", "409", "422"):
        assert PROBLEM in patch[code]["content"], code
    assert "WWW-Authenticate" in patch["401"]["headers"]
    history = document["paths"][f"{API}/products/{{sku}}/history"]["get"]["responses"]
    assert PROBLEM in history["404"]["content"]
    export = document["paths"][f"{API}/exports/products"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"text/csv", "application/x-ndjson"}
    assert anonymous.get(f"{API}/docs").status_code == 200


def test_a_request_without_a_key_is_401_with_www_authenticate(anonymous: TestClient) -> None:
    response = anonymous.get(f"{API}/products")
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "API key" in body["detail"]


def test_a_malformed_or_unknown_key_is_401(anonymous: TestClient) -> None:
    for token in ("nonsense", "chk_000000000000_wrong", "chk_" + "x" * 300):
        response = anonymous.get(f"{API}/products", headers=auth(token))
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_keys_are_taken_from_either_header(anonymous: TestClient, read_token: str) -> None:
    assert anonymous.get(f"{API}/locales", headers=auth(read_token)).status_code == 200
    assert anonymous.get(f"{API}/locales", headers={"X-API-Key": read_token}).status_code == 200


def test_a_read_key_reads_but_cannot_write(anonymous: TestClient, read_token: str) -> None:
    headers = auth(read_token)
    assert anonymous.get(f"{API}/products/MUG-WHITE", headers=headers).status_code == 200
    response = anonymous.put(f"{API}/locales/fr_FR", json={"label": "Français"}, headers=headers)
    body = assert_problem(response, 403)
    assert "write" in body["detail"]
    response = anonymous.patch(
        f"{API}/products/MUG-WHITE", json={"status": "draft"}, headers=headers
    )
    assert_problem(response, 403)


def test_a_write_key_cannot_manage_keys(anonymous: TestClient, write_token: str) -> None:
    assert_problem(anonymous.get(f"{API}/api-keys", headers=auth(write_token)), 403)


def test_a_revoked_key_is_401(client: TestClient, anonymous: TestClient) -> None:
    created = client.post(f"{API}/api-keys", json={"name": "shop sync", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["token"].startswith(f"chk_{key['prefix']}_")
    assert key["scopes"] == ["read"]
    headers = auth(key["token"])
    assert anonymous.get(f"{API}/channels", headers=headers).status_code == 200
    listed = {k["prefix"]: k for k in client.get(f"{API}/api-keys").json()}
    assert "token" not in listed[key["prefix"]]

    assert client.delete(f"{API}/api-keys/{key['prefix']}").status_code == 204
    response = anonymous.get(f"{API}/channels", headers=headers)
    body = assert_problem(response, 401)
    assert "revoked" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(client.delete(f"{API}/api-keys/{key['prefix']}"), 404)


# --- reference data -----------------------------------------------------------------------


def test_reference_data_is_created_and_read_back(client: TestClient) -> None:
    response = client.put(f"{API}/locales/fr_FR", json={"label": "Français"})
    assert response.json() == {"code": "fr_FR", "label": "Français"}
    assert {"code": "fr_FR", "label": "Français"} in client.get(f"{API}/locales").json()

    channel = {
        "name": "Cdiscount",
        "kind": "marketplace",
        "mode": "integrated",
        "locales": ["fr_FR"],
        "currency": "EUR",
    }
    response = client.put(f"{API}/channels/cdiscount", json=channel)
    assert response.status_code == 200, response.text
    assert response.json() == channel | {"code": "cdiscount"}
    assert client.get(f"{API}/channels/cdiscount").json()["locales"] == ["fr_FR"]
    assert "cdiscount" in {c["code"] for c in client.get(f"{API}/channels").json()}

    attribute = {"type": "select", "options": ["ceramic", "glass"], "labels": {"en_US": "Body"}}
    response = client.put(f"{API}/attributes/body", json=attribute)
    assert response.status_code == 200, response.text
    got = client.get(f"{API}/attributes/body").json()
    assert got["type"] == "select" and got["options"] == ["ceramic", "glass"]
    assert got["labels"] == {"en_US": "Body"}

    family = {"attributes": ["name", "body"], "required": ["name", "body"], "labels": {}}
    response = client.put(f"{API}/families/cups", json=family)
    assert response.status_code == 200, response.text
    assert client.get(f"{API}/families/cups").json()["required"] == ["name", "body"]

    response = client.put(f"{API}/categories/cups", json={"parent": "kitchen"})
    assert response.status_code == 200, response.text
    assert response.json()["path"] == "/home/kitchen/cups/"
    categories = {c["code"]: c for c in client.get(f"{API}/categories").json()}
    assert categories["cups"]["parent"] == "kitchen"


def test_reference_data_errors_are_problems(client: TestClient) -> None:
    # an attribute's type is fixed once created
    body = assert_problem(client.put(f"{API}/attributes/brand", json={"type": "number"}), 409)
    assert "type" in body["detail"]
    # a channel needs enabled locales
    channel = {"name": "X", "kind": "app", "locales": ["de_DE"], "currency": "EUR"}
    assert_problem(client.put(f"{API}/channels/x_app", json=channel), 422)
    # a family names existing attributes; the problem says where
    body = assert_problem(client.put(f"{API}/families/f", json={"attributes": ["nope"]}), 422)
    assert body["errors"][0]["location"] == "attributes"
    # a category cannot move under itself; a parent must exist
    assert_problem(client.put(f"{API}/categories/apparel", json={"parent": "tops"}), 409)
    assert_problem(client.put(f"{API}/categories/c", json={"parent": "nowhere"}), 404)
    # unknown things are 404, malformed codes 422
    assert_problem(client.get(f"{API}/channels/nowhere"), 404)
    assert_problem(client.get(f"{API}/attributes/Not-A-Code"), 422)


def test_channel_requirements_are_added_listed_and_removed(client: TestClient) -> None:
    rules = [{"attribute": "material", "rule": "required", "locales": ["nl_NL"]}]
    response = client.post(f"{API}/channels/store_amsterdam/requirements", json=rules)
    assert response.status_code == 201, response.text
    added = [r for r in response.json() if r["attribute"] == "material"]
    assert added and added[0]["locales"] == ["nl_NL"]
    mug = client.get(f"{API}/products/MUG-WHITE").json()
    store = [c for c in mug["completeness"] if c["channel"] == "store_amsterdam"]
    assert any(m["attribute"] == "material" for c in store for m in c["missing"]) or all(
        c["is_complete"] for c in store
    )

    response = client.delete(f"{API}/channels/store_amsterdam/requirements/{added[0]['id']}")
    assert response.status_code == 204
    listed = client.get(f"{API}/channels/store_amsterdam/requirements").json()
    assert added[0]["id"] not in {r["id"] for r in listed}
    assert_problem(
        client.delete(f"{API}/channels/store_amsterdam/requirements/{added[0]['id']}"), 404
    )
    bad = [{"attribute": "name", "rule": "max_length", "param": "long"}]
    assert_problem(client.post(f"{API}/channels/bol/requirements", json=bad), 422)


def test_a_preset_replaces_a_channels_rules(client: TestClient) -> None:
    response = client.post(f"{API}/channels/webshop/requirements/preset", json={"preset": "bol"})
    assert response.status_code == 200, response.text
    assert {r["attribute"] for r in response.json()} >= {"gtin", "name", "images"}
    assert_problem(
        client.post(f"{API}/channels/webshop/requirements/preset", json={"preset": "ebay"}), 404
    )


# --- products -----------------------------------------------------------------------------


def test_a_product_is_upserted_and_read_back_with_its_completeness(client: TestClient) -> None:
    product = new_mug(
        client,
        "MUG-STONE",
        values={
            "name": [
                {"locale": "en_US", "data": "Stoneware mug"},
                {"locale": "nl_NL", "data": "Stenen mok"},
            ],
            "brand": [{"data": "Hearth"}],
            "weight": [{"data": {"amount": "350.0", "unit": "GRAM"}}],
        },
    )
    assert product["sku"] == "MUG-STONE"
    assert product["kind"] == "simple" and product["family"] == "mugs"
    assert product["status"] == "draft" and product["categories"] == ["kitchen"]
    assert product["values"]["name"] == [
        {"locale": "en_US", "channel": None, "data": "Stoneware mug"},
        {"locale": "nl_NL", "channel": None, "data": "Stenen mok"},
    ]
    assert product["values"]["weight"][0]["data"] == {"amount": "350", "unit": "GRAM"}
    assert product["version"] == 1

    pairs = {(c["channel"], c["locale"]): c for c in product["completeness"]}
    assert set(pairs) == {
        ("webshop", "en_US"),
        ("webshop", "nl_NL"),
        ("bol", "nl_NL"),
        ("google", "en_US"),
        ("store_amsterdam", "nl_NL"),
    }
    bol = pairs[("bol", "nl_NL")]
    assert not bol["is_complete"] and bol["ratio"] < 100
    assert {m["attribute"] for m in bol["missing"]} >= {"gtin", "description", "images"}
    assert all(m["message"] for m in bol["missing"])
    assert pairs[("webshop", "en_US")]["is_complete"]
    assert pairs[("webshop", "en_US")]["missing"] == []
    assert product["publishable_on"] == []  # a draft is publishable nowhere

    # PATCH changes what the body names, and only that
    response = client.patch(
        f"{API}/products/MUG-STONE", json={"values": {"brand": [{"data": "Kiln"}]}}
    )
    assert response.status_code == 200, response.text
    again = client.get(f"{API}/products/MUG-STONE").json()
    assert again["values"]["brand"][0]["data"] == "Kiln"
    assert again["values"]["name"] == product["values"]["name"]
    assert again["version"] == 2

    # null removes a value, and completeness follows in the same write
    response = client.patch(
        f"{API}/products/MUG-STONE",
        json={"values": {"name": [{"locale": "en_US", "data": None}]}},
    )
    changed = {(c["channel"], c["locale"]): c for c in response.json()["completeness"]}
    assert not changed[("webshop", "en_US")]["is_complete"]
    assert [m["attribute"] for m in changed[("webshop", "en_US")]["missing"]] == ["name"]
    assert changed[("webshop", "nl_NL")]["is_complete"]


def test_a_product_becomes_publishable_when_approved_and_complete(client: TestClient) -> None:
    new_mug(client, "MUG-PUB")
    for status in ("in_review", "approved"):
        response = client.post(f"{API}/products/MUG-PUB/status", json={"status": status})
        assert response.status_code == 200, response.text
    product = response.json()
    assert product["status"] == "approved"
    complete = {
        channel
        for channel in {c["channel"] for c in product["completeness"]}
        if all(c["is_complete"] for c in product["completeness"] if c["channel"] == channel)
    }
    assert product["publishable_on"] == sorted(complete)
    assert "webshop" in product["publishable_on"]
    assert "bol" not in product["publishable_on"]


def test_invalid_products_are_422_problems_and_not_saved(client: TestClient) -> None:
    body = {"family": "mugs", "values": {"color": [{"data": "purple"}]}}
    problem = assert_problem(client.patch(f"{API}/products/MUG-BAD", json=body), 422)
    assert problem["errors"][0]["location"] == "values.color[0]"
    assert "purple" in problem["errors"][0]["message"]
    assert_problem(client.get(f"{API}/products/MUG-BAD"), 404)
    # a new product needs a family
    assert_problem(client.patch(f"{API}/products/NO-FAMILY", json={}), 422)
    # a variant keeps being a variant
    assert_problem(client.patch(f"{API}/products/TEE-ORG-BLA-S", json={"kind": "simple"}), 422)


def test_workflow_transitions_and_an_illegal_one(client: TestClient) -> None:
    new_mug(client, "MUG-FLOW")
    response = client.post(f"{API}/products/MUG-FLOW/status", json={"status": "approved"})
    body = assert_problem(response, 409)
    assert "draft" in body["detail"] and "approved" in body["detail"]
    for status in ("in_review", "approved", "archived", "draft"):
        response = client.post(f"{API}/products/MUG-FLOW/status", json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    assert_problem(client.post(f"{API}/products/NOPE/status", json={"status": "draft"}), 404)
    assert_problem(client.post(f"{API}/products/MUG-FLOW/status", json={"status": "x"}), 422)


def test_history_lists_old_and_new_values_newest_first(client: TestClient) -> None:
    new_mug(client, "MUG-HIST", values={"brand": [{"data": "Hearth"}]})
    client.patch(f"{API}/products/MUG-HIST", json={"values": {"brand": [{"data": "Kiln"}]}})
    client.post(f"{API}/products/MUG-HIST/status", json={"status": "in_review"})
    history = client.get(f"{API}/products/MUG-HIST/history").json()
    assert len(history) == 3
    assert history[0]["changes"] == {"status": ["draft", "in_review"]}
    assert history[1]["changes"] == {"brand": ["Hearth", "Kiln"]}
    assert "created" in history[2]["changes"]
    assert all(h["actor"] == "api:test-admin" for h in history)
    assert history[0]["changed_at"] >= history[1]["changed_at"] >= history[2]["changed_at"]
    assert_problem(client.get(f"{API}/products/NOPE/history"), 404)


def test_a_batch_saves_the_good_items_and_reports_the_bad_one(client: TestClient) -> None:
    batch = [
        {"sku": "MUG-B1", "family": "mugs", "values": {"brand": [{"data": "Hearth"}]}},
        {"sku": "MUG-B2", "family": "no_such_family"},
        {"sku": "MUG-WHITE", "values": {"brand": [{"data": "Hearth Studio"}]}},
    ]
    response = client.post(f"{API}/products/batch", json=batch)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 0)
    assert report["rejected"] == [
        {
            "line": 1,
            "sku": "MUG-B2",
            "column": "family",
            "reason": report["rejected"][0]["reason"],
        }
    ]
    assert "no_such_family" in report["rejected"][0]["reason"]
    assert client.get(f"{API}/products/MUG-B1").status_code == 200
    assert_problem(client.get(f"{API}/products/MUG-B2"), 404)
    assert_problem(client.post(f"{API}/products/batch", json=[]), 422)


# --- search and pagination ----------------------------------------------------------------


def test_list_filters(client: TestClient) -> None:
    new_mug(client, "MUG-100%")
    everything = all_products(client)
    by_sku = {p["sku"]: p for p in everything}
    assert len(by_sku) == len(everything) == 29

    mugs = all_products(client, "family=mugs")
    assert skus(mugs) == {s for s, p in by_sku.items() if p["family"] == "mugs"}
    assert skus(mugs) == {"MUG-WHITE", "MUG-BLACK", "MUG-RED", "MUG-100%"}

    apparel = all_products(client, "category=apparel")  # apparel's subtree: tops, outerwear
    assert skus(apparel) == {
        s for s, p in by_sku.items() if set(p["categories"]) & {"apparel", "tops", "outerwear"}
    }
    assert {"TEE-ORG", "JKT-RAIN"} <= skus(apparel)
    assert skus(all_products(client, "category=outerwear")) == {
        s for s, p in by_sku.items() if "outerwear" in p["categories"]
    }

    approved = all_products(client, "status=approved")
    assert skus(approved) == {s for s, p in by_sku.items() if p["status"] == "approved"}
    assert "MUG-WHITE" in skus(approved) and "MUG-RED" not in skus(approved)

    assert skus(all_products(client, "kind=model")) == {"TEE-ORG", "TEE-LOGO", "JKT-RAIN"}

    def webshop(p: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in p["completeness"] if c["channel"] == "webshop"]

    complete = skus(all_products(client, "channel=webshop&complete=true"))
    incomplete = skus(all_products(client, "channel=webshop&complete=false"))
    judged = {s for s, p in by_sku.items() if webshop(p)}
    assert complete == {s for s in judged if all(c["is_complete"] for c in webshop(by_sku[s]))}
    assert incomplete == judged - complete
    assert complete and incomplete

    publishable = skus(all_products(client, "channel=google&publishable=true"))
    assert publishable == {s for s, p in by_sku.items() if "google" in p["publishable_on"]}
    not_publishable = skus(all_products(client, "channel=google&publishable=false"))
    assert not_publishable == set(by_sku) - publishable

    one_locale = skus(all_products(client, "channel=webshop&locale=nl_NL&complete=true"))
    assert one_locale == {
        s
        for s, p in by_sku.items()
        if any(c["locale"] == "nl_NL" and c["is_complete"] for c in webshop(p))
    }

    assert skus(all_products(client, "q=mug-white")) == {"MUG-WHITE"}
    organic = skus(all_products(client, "q=organic%20tee"))
    assert "TEE-ORG" in organic and not organic & {"MUG-WHITE", "JKT-RAIN"}
    # LIKE wildcards in q are literal
    assert skus(all_products(client, "q=100%25")) == {"MUG-100%"}
    assert skus(all_products(client, "q=_")) == set()
    # filters combine
    assert skus(all_products(client, "family=mugs&status=approved")) == {"MUG-WHITE", "MUG-BLACK"}


def test_list_filter_errors(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/products?category=nowhere"), 404)
    assert_problem(client.get(f"{API}/products?channel=nowhere"), 404)
    assert_problem(client.get(f"{API}/products?complete=true"), 422)  # needs a channel
    assert_problem(client.get(f"{API}/products?channel=bol&locale=en_US"), 422)  # not bol's
    assert_problem(client.get(f"{API}/products?status=lost"), 422)
    assert_problem(client.get(f"{API}/products?limit=0"), 422)
    assert_problem(client.get(f"{API}/products?cursor=not-ours"), 422)


def test_cursor_pagination_walks_every_product_once(client: TestClient) -> None:
    expected = [p["sku"] for p in client.get(f"{API}/products?limit=500").json()["items"]]
    for limit in (1, 7, 28, 29):
        pages = 0
        seen: list[str] = []
        cursor = None
        while True:
            url = f"{API}/products?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            page = client.get(url).json()
            assert len(page["items"]) <= limit
            seen += [p["sku"] for p in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, limit  # same order, no duplicates, nothing missing
        assert pages == -(-len(expected) // limit)
    # a filter keeps applying across pages
    filtered = all_products(client, "family=tshirts", limit=4)
    assert len(filtered) == len(skus(filtered)) == 20


# --- imports and exports ------------------------------------------------------------------


def test_a_csv_import_reports_each_rejected_row(client: TestClient) -> None:
    csv = (
        b"sku,family,categories,name-en_US,name-nl_NL,brand,gtin\n"
        b"MUG-CSV,mugs,kitchen,Enamel mug,Emaille mok,Hearth,8710000000017\n"
        b"MUG-WHITE,,,,,Hearth Studio,\n"
        b"MUG-BADGTIN,mugs,kitchen,Bad,Slecht,Hearth,8710000000018\n"
    )
    response = client.post(
        f"{API}/imports/products?format=csv", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["kind"] == "products" and report["rows"] == 3
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 0)
    assert report["file_errors"] == []
    assert len(report["rejected"]) == 1
    rejected = report["rejected"][0]
    assert (rejected["line"], rejected["sku"], rejected["column"]) == (4, "MUG-BADGTIN", "gtin")
    assert "GTIN" in rejected["reason"]

    mug = client.get(f"{API}/products/MUG-CSV").json()
    assert mug["values"]["gtin"][0]["data"] == "8710000000017"
    assert client.get(f"{API}/products/MUG-WHITE").json()["values"]["brand"][0]["data"] == (
        "Hearth Studio"
    )
    history = client.get(f"{API}/products/MUG-CSV/history").json()
    assert history[0]["actor"] == "api:test-admin"


def test_an_import_with_a_broken_header_is_refused_whole(client: TestClient) -> None:
    response = client.post(f"{API}/imports/products?format=csv", content=b"family,colour\nx,y\n")
    problem = assert_problem(response, 422)  # refused outright: a 4xx, not a 200 report
    assert problem["errors"] and problem["errors"][0]["location"] == "body"
    response = client.post(f"{API}/imports/products?format=csv&encoding=klingon", content=b"")
    assert_problem(response, 422)


def test_reference_data_imports(client: TestClient) -> None:
    response = client.post(
        f"{API}/imports/categories?format=csv",
        content=b"code,parent,label-en_US\nmugs_tea,mugs_all,Tea mugs\nmugs_all,kitchen,Mugs\n",
    )
    report = response.json()
    assert report["created"] == 2 and report["rejected"] == [], report
    paths = {c["code"]: c["path"] for c in client.get(f"{API}/categories").json()}
    assert paths["mugs_tea"] == "/home/kitchen/mugs_all/mugs_tea/"


def test_an_export_reimports_as_all_unchanged(client: TestClient) -> None:
    count = len(all_products(client))
    for fmt in ("jsonl", "csv"):
        exported = client.get(f"{API}/exports/products?format={fmt}")
        assert exported.status_code == 200
        expected_type = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        assert exported.headers["content-type"].startswith(expected_type)
        if fmt == "jsonl":
            lines = exported.text.splitlines()
            assert len(lines) == count
            assert {json.loads(line)["sku"] for line in lines} == skus(all_products(client))
        response = client.post(f"{API}/imports/products?format={fmt}", content=exported.content)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["rejected"] == [] and report["file_errors"] == [], report
        assert (report["rows"], report["unchanged"]) == (count, count), fmt
        assert (report["created"], report["updated"]) == (0, 0), fmt


def test_the_api_over_an_empty_database(bare_app: FastAPI, admin_token: str) -> None:
    with TestClient(bare_app, headers=auth(admin_token)) as client:
        assert client.get(f"{API}/products").json() == {"items": [], "next_cursor": None}
        assert client.get(f"{API}/exports/products").text == ""
        assert client.get(f"{API}/health").json()["status"] == "ok"
