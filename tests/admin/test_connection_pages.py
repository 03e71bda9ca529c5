"""Channels and connections over HTTP: a connection's form generated from its connector's
configuration schema, secrets write-only, "test connection" against the bol.com sandbox with
its answer on the page, errors next to their fields, the mapping preview, and who may do it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from channelhub.admin.config_form import form_fields, read_form
from channelhub.admin.users import Role, create_user
from channelhub.api.app import create_app
from channelhub.core.database import Database
from channelhub.core.settings import get_settings
from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import create_app as bol_app
from channelhub.sandbox.server import serve_in_thread
from channelhub.sync import registry
from channelhub.sync.connections import get_connection, list_connections, load_connection
from channelhub.sync.mapping import MappingSpec
from tests.admin.test_pages import PASSWORD, sign_in
from tests.factories import gtin, make_catalog, mug, save, value

SECRET = "sandbox-secret"


@pytest.fixture(scope="module")
def bol_url() -> Iterator[str]:
    with serve_in_thread(bol_app(BolState())) as url:
        yield url


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Connection secrets are encrypted with the hub's key."""
    monkeypatch.setenv("CHANNELHUB_SECRET_KEY", "test-secret-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def shop(db: Database) -> Database:
    make_catalog(db)
    mok = [value("name", "Mok", "nl_NL"), value("brand", "Hearth"), value("gtin", gtin(1))]
    save(db, mug("MUG-1", values=mok))
    for role in Role:
        create_user(db, f"{role.value}1", PASSWORD, role)
    return db


@pytest.fixture
def client(shop: Database) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as c:
        yield c


def bol_form(token: str, bol_url: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf": token,
        "connection.code": "bol-nl",
        "connection.channel": "bol",
        "connection.enabled": "1",
        "connection.subscriptions.stock": "1",
        "connection.subscriptions.prices": "1",
        "connection.poll_seconds": "",
        "connection.reconcile_seconds": "",
        "config.client_id": "sandbox-client",
        "config.client_secret": SECRET,
        "config.api_url": bol_url,
        "config.login_url": bol_url,
        "config.fulfilment_method": "FBR",
        "config.min_days_to_customer": "1",
        "config.max_days_to_customer": "3",
        "config.countries.NL": "1",
        "config.order_page_size": "",
        "mapping.title": "{{ name }} ({{ brand }})",
        "mapping.locale": "nl_NL",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def error_at(html: str, field: str) -> str:
    """The error shown inside the field's own box."""
    box = re.search(
        rf'<div class="field invalid[^"]*" data-field="{re.escape(field)}">(.*?)</div>', html, re.S
    )
    assert box, f"no error shown at {field}"
    found = re.search(r'<span class="error" role="alert">([^<]+)</span>', box.group(1))
    assert found, box.group(1)
    return found.group(1)


def test_every_connector_gets_a_form_with_its_secrets_write_only() -> None:
    for platform in registry.platforms():
        model = registry.connector_class(platform).config_model
        fields = {f.name: f for f in form_fields(model)}
        assert list(fields) == list(model.model_fields), platform
        secret = {n for n, f in model.model_fields.items() if "Secret" in str(f.annotation)}
        assert {n for n, f in fields.items() if f.is_secret} == secret, platform
    bol = {f.name: f for f in form_fields(registry.connector_class("bol").config_model)}
    assert bol["fulfilment_method"].options == ("FBR", "FBB")
    assert bol["countries"].kind == "choices" and bol["client_id"].required
    assert bol["min_days_to_customer"].maximum == 14


def test_reading_a_posted_form() -> None:
    fields = form_fields(registry.connector_class("woocommerce").config_model)
    read = read_form(
        fields,
        {"c.consumer_key": " ck_1 ", "c.consumer_secret": "", "c.webhook_secret.remove": "1"},
        "c",
        creating=False,
    )
    # A blank secret is left out (kept); a removed optional secret becomes None.
    assert "consumer_secret" not in read.values and read.values["webhook_secret"] is None
    assert read.values["consumer_key"] == "ck_1" and read.values["webhook_url"] is None
    square = form_fields(registry.connector_class("square").config_model)
    read = read_form(
        square,
        {"s.locations": "ams = L1\nrtm = L2", "s.order_states": "OPEN, COMPLETED"},
        "s",
        True,
    )
    assert read.values["locations"] == {"ams": "L1", "rtm": "L2"}
    assert read.values["order_states"] == ["OPEN", "COMPLETED"]
    bad = read_form(square, {"s.locations": "ams L1"}, "s", True)
    assert bad.problems[0].location == "s.locations" and "key = value" in bad.problems[0].message
    mapping = read_form(form_fields(MappingSpec), {"m.values": "{oops"}, "m", True)
    assert "not valid JSON" in mapping.problems[0].message


@pytest.mark.parametrize("role", [Role.ADMIN, Role.INTEGRATOR])
def test_an_admin_adds_edits_and_tests_a_connection(
    client: TestClient, shop: Database, bol_url: str, role: Role
) -> None:
    token = sign_in(client, f"{role.value}1")
    page = client.get("/admin/channels")
    assert 'data-testid="add-connection"' in page.text and "<option>bol</option>" in page.text
    form = client.get("/admin/connections/new?platform=bol")
    assert form.status_code == 200
    assert 'name="config.client_secret" value=""' in form.text and 'type="password"' in form.text
    assert 'name="config.countries.BE" value="1" checked' in form.text  # the schema's default

    created = client.post("/admin/connections/new?platform=bol", data=bol_form(token, bol_url))
    shown = re.findall(r"alert[^>]*>([^<]+)<", created.text)
    assert "connection bol-nl saved" in created.text, shown
    record = load_connection(shop, "bol-nl")
    assert record.config.client_secret.get_secret_value() == SECRET  # type: ignore[attr-defined]
    assert record.config.countries == ("NL",) and record.config.max_days_to_customer == 3  # type: ignore[attr-defined]
    assert {k.value for k in record.subscriptions} == {"stock", "prices"}
    assert SECRET not in created.text and "a value is stored" in created.text

    # Edit: the secret's input comes back blank; left blank, the stored secret is kept.
    edit = bol_form(token, bol_url, **{"config.client_secret": "", "config.order_page_size": "20"})
    saved = client.post("/admin/connections/bol-nl", data=edit)
    assert "connection bol-nl saved" in saved.text and SECRET not in saved.text
    record = load_connection(shop, "bol-nl")
    assert record.config.client_secret.get_secret_value() == SECRET  # type: ignore[attr-defined]
    assert record.config.order_page_size == 20  # type: ignore[attr-defined]

    # Test connection: the sandbox's answer is shown on the connection's page.
    tested = client.post("/admin/connections/bol-nl/test", data={"csrf": token})
    answer = re.search(r'data-testid="answer"[^>]*>(.*?)</div>', tested.text, re.S)
    assert answer and "bol.com retailer account reached: 0 offers" in answer.group(1)
    assert 'class="answer ok"' in tested.text
    wrong = bol_form(token, bol_url, **{"config.client_secret": "not-the-secret"})
    client.post("/admin/connections/bol-nl", data=wrong)
    tested = client.post("/admin/connections/bol-nl/test", data={"csrf": token})
    assert 'class="answer error"' in tested.text and "401" in tested.text
    assert "not-the-secret" not in tested.text

    # The mapping preview: the title template applied to one product, nothing sent.
    preview = client.get("/admin/connections/bol-nl?sku=MUG-1")
    assert re.search(r"<th>title</th><td>Mok \(Hearth\)</td>", preview.text), preview.text[-2000:]
    assert "MUG-9" in client.get("/admin/connections/bol-nl?sku=MUG-9").text  # its error


def test_errors_show_next_to_their_fields_and_nothing_is_stored(
    client: TestClient, shop: Database, bol_url: str
) -> None:
    token = sign_in(client, "admin1")
    bad = bol_form(
        token,
        bol_url,
        **{"config.client_id": "", "config.min_days_to_customer": "30"},
    )
    response = client.post("/admin/connections/new?platform=bol", data=bad)
    assert response.status_code == 422
    assert error_at(response.text, "config.client_id") == "Field required"
    assert "less than or equal to 14" in error_at(response.text, "config.min_days_to_customer")
    assert SECRET not in response.text  # a secret typed is not sent back
    assert 'value="30"' in response.text  # what was typed is
    assert list_connections(shop) == []
    response = client.post(
        "/admin/connections/new?platform=bol",
        data=bol_form(token, bol_url, **{"mapping.title": "{{"}),
    )
    assert response.status_code == 422
    assert "is not valid" in error_at(response.text, "mapping.title")
    response = client.post(
        "/admin/connections/new?platform=bol",
        data=bol_form(
            token, bol_url, **{"connection.code": "Bol NL", "connection.poll_seconds": "often"}
        ),
    )
    assert "a-z, 0-9" in error_at(response.text, "connection.code")
    assert "whole number" in error_at(response.text, "connection.poll_seconds")
    client.post("/admin/connections/new?platform=bol", data=bol_form(token, bol_url))
    again = client.post("/admin/connections/new?platform=bol", data=bol_form(token, bol_url))
    assert "exists already" in error_at(again.text, "connection.code")
    assert get_connection(shop, "bol-nl").config["max_days_to_customer"] == 3
    unknown = client.get("/admin/connections/new?platform=ebay")
    assert "unknown platform" in unknown.text
    assert client.get("/admin/connections/nope").status_code == 404


@pytest.mark.parametrize("role", [Role.MERCHANDISER, Role.STOCK, Role.SERVICE])
def test_only_admins_and_integrators_see_and_change_connections(
    client: TestClient, shop: Database, bol_url: str, role: Role
) -> None:
    token = sign_in(client, f"{role.value}1")
    for url in ("/admin/channels", "/admin/connections/new?platform=bol", "/admin/connections/x"):
        assert client.get(url).status_code == 403, url
    response = client.post("/admin/connections/new?platform=bol", data=bol_form(token, bol_url))
    assert response.status_code == 403 and list_connections(shop) == []
    assert client.post("/admin/connections/x/test", data={"csrf": token}).status_code == 403


def test_a_forged_connection_form_is_refused(
    client: TestClient, shop: Database, bol_url: str
) -> None:
    sign_in(client, "admin1")
    response = client.post("/admin/connections/new?platform=bol", data=bol_form("forged", bol_url))
    assert response.status_code == 403 and "expired" in response.text
    assert list_connections(shop) == []
