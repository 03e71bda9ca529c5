"""The web admin over HTTP: sign-in, what each role may see and change, CSRF, and the main
flows (edit a product, adjust stock, return an order in a store), on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from channelhub.admin.users import Role, authenticate, create_user, update_user
from channelhub.api.app import create_app
from channelhub.catalog.browse import get_product
from channelhub.core.database import Database
from channelhub.core.errors import Conflict, InvalidInput
from channelhub.inventory.service import available
from channelhub.orders import service as orders
from channelhub.orders.fulfilment import ship
from tests.factories import mug, save
from tests.inventory.factories import make_world, stock
from tests.orders.factories import order

PASSWORD = "correct horse battery"


@pytest.fixture
def shop(db: Database) -> Database:
    make_world(db)
    save(db, mug("MUG-1"), mug("MUG-2"))
    stock(db, "wh", MUG_1=10, MUG_2=4)
    for role in Role:
        create_user(db, f"{role.value}1", PASSWORD, role)
    return db


@pytest.fixture
def client(shop: Database) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as c:
        yield c


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, username: str) -> str:
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "csrf": csrf(page.text),
            "username": username,
            "password": PASSWORD,
            "next": "/admin/",
        },
    )
    assert response.status_code == 200 and f"{username} (" in response.text, response.text[:500]
    return csrf(response.text)


def test_pages_need_a_sign_in_and_a_wrong_password_is_refused(client: TestClient) -> None:
    response = client.get("/admin/products", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/products"
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"csrf": csrf(page.text), "username": "admin1", "password": "wrong password!"},
    )
    assert "wrong user name or password" in response.text
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_a_form_without_the_session_token_is_refused(client: TestClient, shop: Database) -> None:
    sign_in(client, "stock1")
    response = client.post(
        "/admin/stock/adjust",
        data={
            "csrf": "forged",
            "sku": "MUG-1",
            "location": "wh",
            "kind": "adjustment",
            "quantity": "-5",
        },
    )
    assert response.status_code == 403 and "expired" in response.text
    assert available(shop, "web", ["MUG-1"])["MUG-1"] == 10


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("admin", ["/admin/users", "/admin/sync", "/admin/audit", "/admin/channels"], []),
        ("merchandiser", ["/admin/products", "/admin/audit"], ["/admin/users", "/admin/sync"]),
        ("stock", ["/admin/stock", "/admin/orders"], ["/admin/audit", "/admin/channels"]),
        ("service", ["/admin/orders", "/admin/products"], ["/admin/users", "/admin/sync"]),
    ],
)
def test_each_role_sees_only_its_pages(
    client: TestClient, role: str, allowed: list[str], refused: list[str]
) -> None:
    sign_in(client, f"{role}1")
    for url in ["/admin/", *allowed]:
        assert client.get(url).status_code == 200, (role, url)
    for url in refused:
        response = client.get(url)
        assert response.status_code == 403 and "does not allow" in response.text, (role, url)


def test_a_merchandiser_edits_content_and_a_service_user_cannot(
    client: TestClient, shop: Database
) -> None:
    token = sign_in(client, "merchandiser1")
    page = client.get("/admin/products/MUG-1")
    assert page.status_code == 200 and 'name="v:name:en_US:"' in page.text
    response = client.post(
        "/admin/products/MUG-1",
        data={"csrf": token, "v:name:en_US:": "Stoneware mug", "v:brand::": "Hearth"},
    )
    assert "saved 1 value(s)" in response.text
    names = get_product(shop, "MUG-1").values["name"]
    assert {(v.locale, v.data) for v in names} >= {("en_US", "Stoneware mug")}
    assert "Stoneware mug" in client.get("/admin/products/MUG-1").text  # and in its history
    client.post("/admin/logout", data={"csrf": token})
    token = sign_in(client, "service1")
    response = client.post("/admin/products/MUG-1", data={"csrf": token, "v:brand::": "X"})
    assert response.status_code == 403
    assert get_product(shop, "MUG-1").values["brand"][0].data == "Hearth"


def test_stock_users_adjust_and_transfer_and_errors_show_on_the_page(
    client: TestClient, shop: Database
) -> None:
    token = sign_in(client, "stock1")
    response = client.post(
        "/admin/stock/adjust",
        data={
            "csrf": token,
            "sku": "MUG-1",
            "location": "wh",
            "kind": "adjustment",
            "quantity": "-3",
        },
    )
    assert "adjustment of -3 MUG-1 at wh recorded" in response.text
    assert available(shop, "web", ["MUG-1"])["MUG-1"] == 7
    response = client.post(
        "/admin/stock/transfer",
        data={"csrf": token, "sku": "MUG-1", "from": "wh", "to": "ams", "quantity": "2"},
    )
    assert "moved 2 MUG-1 from wh to ams" in response.text
    assert 'data-cell="MUG-1@ams">2' in client.get("/admin/stock?q=MUG").text
    response = client.post(
        "/admin/stock/transfer",
        data={"csrf": token, "sku": "MUG-1", "from": "wh", "to": "ams", "quantity": "99"},
    )
    assert 'class="flash error"' in response.text
    assert available(shop, "web", ["MUG-1"])["MUG-1"] == 7


def test_service_takes_back_an_online_order_in_a_store(client: TestClient, shop: Database) -> None:
    result = orders.import_order(shop, order("W-1", ("MUG-2", 2)))
    order_id = result.order_id or 0
    ship(shop, order_id, "test")
    token = sign_in(client, "service1")
    page = client.get(f"/admin/orders/{order_id}")
    assert "Timeline" in page.text and "W-1" in page.text
    response = client.post(
        f"/admin/orders/{order_id}/return",
        data={"csrf": token, "line:1": "1", "location": "ams", "reason": "too small"},
    )
    assert "return of 1 unit(s) recorded" in response.text
    assert orders.get_order(shop, order_id).lines[0].returned == 1
    response = client.post(
        f"/admin/orders/{order_id}/return",
        data={"csrf": token, "line:1": "5", "location": "ams"},
    )
    assert 'class="flash error"' in response.text
    assert orders.get_order(shop, order_id).lines[0].returned == 1


def test_users_and_the_last_admin(client: TestClient, shop: Database) -> None:
    token = sign_in(client, "admin1")
    response = client.post(
        "/admin/users",
        data={"csrf": token, "username": "Eva", "password": "short", "role": "stock"},
    )
    assert "at least 10 characters" in response.text
    response = client.post(
        "/admin/users",
        data={"csrf": token, "username": "Eva", "password": PASSWORD, "role": "stock"},
    )
    assert "user Eva created" in response.text
    assert authenticate(shop, "eva", PASSWORD) is not None
    with pytest.raises(Conflict, match="no active admin"):
        update_user(shop, "admin1", role=Role.SERVICE)
    with pytest.raises(InvalidInput, match="role"):
        create_user(shop, "bob", PASSWORD, "boss")
    update_user(shop, "eva", active=False)
    assert authenticate(shop, "eva", PASSWORD) is None


def test_dashboard_and_audit_render(client: TestClient, shop: Database) -> None:
    orders.import_order(shop, order("W-2", ("MUG-1", 1)))
    sign_in(client, "admin1")
    page = client.get("/admin/?days=7")
    assert page.status_code == 200 and "<svg" in page.text
    assert re.search(r'data-testid="orders">1<', page.text)
    audit = client.get("/admin/audit")
    assert audit.status_code == 200 and 'data-testid="scores"' in audit.text
