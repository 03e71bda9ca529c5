"""Admin sign-in done properly (issue 21, finding 6), on both databases: sign-in throttled per
user name and per address (429 with Retry-After), the password checked off the event loop,
server-side sessions that end on sign-out, a password change and disabling, and the Secure
cookie flag behind HTTPS."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from channelhub.admin import sessions, users
from channelhub.admin.users import Role, create_user, update_user
from channelhub.api.app import create_app
from channelhub.core.database import Database, utcnow
from channelhub.core.settings import get_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def shop(db: Database) -> Database:
    create_user(db, "ann", PASSWORD, Role.ADMIN)
    create_user(db, "bob", PASSWORD, Role.ADMIN)
    return db


@pytest.fixture
def client(shop: Database) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as c:
        yield c


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def try_sign_in(client: TestClient, username: str, password: str) -> Any:
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"csrf": csrf(page.text), "username": username, "password": password},
        follow_redirects=False,
    )


def signed_in(client: TestClient) -> bool:
    return client.get("/admin/", follow_redirects=False).status_code == 200


def test_wrong_passwords_lock_the_user_and_the_right_one_waits(client: TestClient) -> None:
    answers = [try_sign_in(client, "ann", f"wrong password {i}") for i in range(12)]
    assert answers[0].status_code == 303  # wrong: back to the form
    locked = [a for a in answers if a.status_code == 429]
    assert len(locked) >= 6, [a.status_code for a in answers]
    assert int(locked[-1].headers["Retry-After"]) >= 1
    # the right password does not get in while the name is locked
    right = try_sign_in(client, "ann", PASSWORD)
    assert right.status_code == 429 and "too many failed sign-ins" in right.text
    assert not signed_in(client)
    # another user from the same address is not locked out by ann's failures (yet)
    assert try_sign_in(client, "bob", PASSWORD).status_code == 303
    assert signed_in(client)


def test_the_lock_grows_then_lapses_and_an_address_is_locked_too(shop: Database) -> None:
    now = utcnow()
    for i in range(sessions.USER_FREE + 3):
        at = now + timedelta(seconds=40 * i)  # each try after the previous lock has lapsed
        assert sessions.sign_in(shop, "ann", "wrong", "10.0.0.1", at) is None
    waits = sessions.locked_for(shop, "ann", "10.0.0.2", at)
    assert waits == 2**3  # doubled with each failure past the free ones
    with pytest.raises(sessions.TooManyAttempts):
        sessions.sign_in(shop, "ann", PASSWORD, "10.0.0.2", at)
    later = at + timedelta(seconds=waits)
    assert sessions.sign_in(shop, "ann", PASSWORD, "10.0.0.2", later) is not None
    # many names tried from one address lock the address, whatever the name
    for i in range(sessions.ADDRESS_FREE):
        sessions.sign_in(shop, f"guess{i}", "wrong", "10.9.9.9", later)
    with pytest.raises(sessions.TooManyAttempts):
        sessions.sign_in(shop, "bob", PASSWORD, "10.9.9.9", later)


def test_the_password_is_checked_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[bool] = []

    class Watched(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
            return super().verify(hash, password)

    monkeypatch.setattr(users, "_hasher", Watched(time_cost=1, memory_cost=1024))
    assert try_sign_in(client, "ann", PASSWORD).status_code == 303
    assert on_loop == [False]


def test_a_session_ends_on_sign_out_and_its_cookie_is_worth_nothing(client: TestClient) -> None:
    try_sign_in(client, "ann", PASSWORD)
    assert signed_in(client)
    stolen = dict(client.cookies)
    page = client.get("/admin/")
    client.post("/admin/logout", data={"csrf": csrf(page.text)})
    assert not signed_in(client)
    client.cookies.clear()
    client.cookies.update(stolen)  # the cookie from before the sign-out, replayed
    assert not signed_in(client)


@pytest.mark.parametrize("change", ["password", "disable"])
def test_a_password_change_or_disabling_ends_the_users_sessions(
    client: TestClient, shop: Database, change: str
) -> None:
    try_sign_in(client, "bob", PASSWORD)
    assert signed_in(client)
    if change == "password":
        update_user(shop, "bob", password="another long password")
    else:
        update_user(shop, "bob", active=False)
    assert not signed_in(client)


def test_the_session_cookie_is_secure_when_the_setting_says_so(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANNELHUB_ADMIN_SECURE_COOKIES", "true")
    get_settings.cache_clear()
    try:
        with TestClient(create_app(shop), base_url="https://hub.example") as client:
            answer = try_sign_in(client, "ann", PASSWORD)
    finally:
        get_settings.cache_clear()
    cookie = answer.headers["set-cookie"]
    assert "channelhub_admin=" in cookie and "secure" in cookie.lower()
