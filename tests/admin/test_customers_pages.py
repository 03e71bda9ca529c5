"""The admin's customers pages over HTTP, on both databases: search, merge suggestions to
confirm or reject, the 360° profile, consent, notes, unmerge, erasure and export; who may see
them, CSRF, unknown ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from channelhub.admin.users import Role, create_user
from channelhub.api.app import create_app
from channelhub.core.database import Database
from channelhub.customers import erasure
from channelhub.customers import service as customers
from channelhub.customers.identity import save_rules
from channelhub.customers.journeys import consent, interactions, segments
from channelhub.customers.journeys.consent import Purpose
from channelhub.customers.model import Address, CustomerRecord
from channelhub.orders import service as orders
from tests.admin.test_pages import PASSWORD, sign_in
from tests.customers.journeys.conftest import buy, make_shop

HOME = Address("Kerkstraat 1", "", "3511 AB", "Utrecht", "NL")


@dataclass(frozen=True)
class People:
    """The customers of the shop: Ann (web, app and a till's loyalty card, merged through
    e-mail and phone, with orders on web and pos), Anne (bol, a pending suggestion with
    Ann) and Piet (web, a pending suggestion with Ann's neighbour Pieter on the app)."""

    ann: int
    app_profile: int  # Ann's app profile, merged into ann by the till's record
    anne: int
    piet: int
    pieter: int
    web_order: int
    pos_order: int


def ingest(db: Database, channel: str, ref: str, **fields: object) -> int:
    record = CustomerRecord(channel=channel, source_ref=ref, **fields)  # type: ignore[arg-type]
    return customers.ingest(db, record).profile_id


def make_people(db: Database) -> People:
    """Customers built through identity resolution and orders through the order pipeline."""
    with db.transaction() as conn:  # suggest between 0.6 and 0.99, link on its own above
        save_rules(conn, {"upper_threshold": 0.99, "lower_threshold": 0.6})
    ann = ingest(db, "web", "c1", email="ann@visser.nl", first_name="Ann", last_name="Visser",
                 birth_date="1980-03-12", address=HOME)  # fmt: skip
    app_profile = ingest(db, "app", "d1", phone="+31613572468", first_name="Ann")
    assert ingest(db, "pos", "card-1", email="ann@visser.nl", phone="+31613572468",
                  loyalty_card="L-1") == ann  # fmt: skip
    anne = ingest(db, "bol", "o9", first_name="Anne", last_name="Viser",
                  birth_date="1980-03-12", address=Address("Kerkstr 1", "", "3511 AB",
                                                           "Utrecht", "NL"))  # fmt: skip
    neighbour = Address("Molenweg 9", "", "1234 CD", "Leiden", "NL")
    piet = ingest(db, "web", "c2", email="piet@bakker.nl", first_name="Piet",
                  last_name="Bakker", birth_date="1971-06-01", address=neighbour)  # fmt: skip
    pieter = ingest(db, "app", "d2", first_name="Pieter", last_name="Bakker",
                    birth_date="1971-06-01", address=neighbour)  # fmt: skip
    web_order = buy(db, "W1", ("MUG-1", 2), profile_id=ann)
    pos_order = buy(db, "P1", ("SHIRT-1", 1), channel="pos", store="ams", profile_id=ann)
    return People(ann, app_profile, anne, piet, pieter, web_order, pos_order)


@pytest.fixture
def shop(db: Database) -> Database:
    make_shop(db)
    for role in Role:
        create_user(db, f"{role.value}1", PASSWORD, role)
    return db


@pytest.fixture
def people(shop: Database) -> People:
    return make_people(shop)


@pytest.fixture
def client(shop: Database) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as c:
        yield c


def pending(db: Database) -> dict[frozenset[int], int]:
    """The pending suggestions' ids by the pair of customers they are about."""
    return {frozenset((s.profile_a, s.profile_b)): s.id for s in customers.suggestions(db)}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("service", True), ("admin", True), ("merchandiser", False), ("stock", False)],
)
def test_only_service_and_admin_see_and_change_customers(
    client: TestClient, shop: Database, people: People, role: str, allowed: bool
) -> None:
    token = sign_in(client, f"{role}1")
    dashboard = client.get("/admin/")
    assert ('href="/admin/customers"' in dashboard.text) is allowed
    ann = people.ann
    for url in ("/admin/customers", f"/admin/customers/{ann}"):
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, (role, url)
        else:
            assert response.status_code == 403 and "does not allow" in response.text, (role, url)
    suggestion = pending(shop)[frozenset((ann, people.anne))]
    changes = [
        (f"/admin/customers/{ann}/notes", {"body": "called back"}),
        (f"/admin/customers/suggestions/{suggestion}/reject", {}),
    ]
    for url, data in changes:
        response = client.post(url, data={"csrf": token, **data})
        assert response.status_code == (200 if allowed else 403), (role, url)
    # Export and erasure are the admin's only, as in the API (erasing is tested below).
    export = client.get(f"/admin/customers/{ann}/export")
    assert export.status_code == (200 if role == "admin" else 403), role
    if role != "admin":
        erase = client.post(
            f"/admin/customers/{ann}/erase", data={"csrf": token, "confirm": "ERASE"}
        )
        assert erase.status_code == 403 and "customers.privacy" in erase.text, role
        assert 'data-testid="erase"' not in client.get(f"/admin/customers/{ann}").text
    assert len(interactions.list_interactions(shop, ann)) == (1 if allowed else 0)
    assert (suggestion in pending(shop).values()) is not allowed
    assert customers.get_profile(shop, ann).erased_at is None


def test_search_by_name_email_phone_and_card(client: TestClient, people: People) -> None:
    sign_in(client, "service1")
    everyone = client.get("/admin/customers")
    listed = re.findall(r'data-customer="(\d+)"', everyone.text)
    assert listed == [str(p) for p in (people.ann, people.anne, people.piet, people.pieter)]
    for query in ("ann@visser.nl", "+31613572468", "L-1", "visser", "Visser"):
        found = client.get("/admin/customers", params={"q": query})
        table = found.text.split('data-testid="customers"')[1].split("</table>")[0]
        assert re.findall(r'data-customer="(\d+)"', table) == [str(people.ann)], query
        assert "Ann Visser" in table and "ann@visser.nl" in table
    nobody = client.get("/admin/customers", params={"q": "nobody@nowhere.nl"})
    assert "no customer matches nobody@nowhere.nl" in nobody.text


def test_suggestions_side_by_side_then_confirm_and_reject(
    client: TestClient, shop: Database, people: People
) -> None:
    token = sign_in(client, "service1")
    ids = pending(shop)
    ann_anne = ids[frozenset((people.ann, people.anne))]
    piet_pieter = ids[frozenset((people.piet, people.pieter))]
    page = client.get("/admin/customers")
    block = page.text.split(f'data-testid="suggestion-{ann_anne}"')[1].split("</section>")[0]
    assert "web · c1" in block and "bol · o9" in block
    assert re.search(r'verdict-close"><td>name</td><td>Ann Visser</td><td>Anne Viser</td>', block)
    assert re.search(r'verdict-same"><td>birth date</td><td>1980-03-12</td><td>1980-03-12', block)
    assert 'verdict-missing"><td>e-mail</td><td>ann@visser.nl</td><td></td>' in block

    response = client.post(f"/admin/customers/suggestions/{ann_anne}/confirm", data={"csrf": token})
    assert f"suggestion {ann_anne} confirmed" in response.text
    assert customers.get_profile(shop, people.anne).id == people.ann
    assert f'data-testid="suggestion-{ann_anne}"' not in response.text  # no longer pending
    log = customers.merge_log(shop, people.ann)
    assert log[-1]["method"] == "confirmed" and log[-1]["actor"] == "admin:service1"

    response = client.post(
        f"/admin/customers/suggestions/{piet_pieter}/reject", data={"csrf": token}
    )
    assert f"suggestion {piet_pieter} rejected" in response.text
    assert customers.get_profile(shop, people.pieter).id == people.pieter
    assert customers.suggestions(shop, "rejected")[0].decided_by == "admin:service1"

    again = client.post(f"/admin/customers/suggestions/{piet_pieter}/confirm", data={"csrf": token})
    assert 'class="flash error"' in again.text and "already rejected" in again.text
    assert customers.get_profile(shop, people.pieter).id == people.pieter


def test_the_profile_shows_everything_about_the_customer(
    client: TestClient, shop: Database, people: People
) -> None:
    consent.record_consent(shop, people.ann, Purpose.SMS, True, "app", "in the app")
    interactions.log_interaction(
        shop, people.ann, interactions.InteractionKind.TICKET, "web", "Late parcel", "Where?", "kim"
    )
    assert segments.compute_segments(shop) >= 1
    sign_in(client, "service1")
    page = client.get(f"/admin/customers/{people.ann}").text

    def section(testid: str) -> str:
        return page.split(f'data-testid="{testid}"')[1].split("</table>")[0]

    golden = section("golden")
    assert re.search(r"<td>email</td><td>ann@visser.nl.*?</td>\s*<td>pos · card-1", golden, re.S)
    assert re.search(r"<td>address</td><td>Kerkstraat 1, 3511 AB Utrecht, NL", golden)
    assert re.search(r"<td>birth_date</td><td>1980-03-12.*?</td>\s*<td>web · c1", golden, re.S)
    records = section("records")
    assert all(f"<td>{c}</td><td>{r}</td>" in records for c, r in
               [("web", "c1"), ("app", "d1"), ("pos", "card-1")])  # fmt: skip
    assert f"also known as customer {people.app_profile}" in page
    bought = section("orders")
    assert f'href="/admin/orders/{people.web_order}">W1<' in bought
    assert f'href="/admin/orders/{people.pos_order}">P1<' in bought
    assert "<td>web</td>" in bought and "<td>pos</td>" in bought
    assert "order W1 on web" in section("timeline") and "Late parcel" in section("timeline")
    balance = int(re.search(r'data-testid="loyalty-balance">(\d+)<', page).group(1))  # type: ignore[union-attr]
    assert balance > 0 and balance == sum(
        int(p) for p in re.findall(r'class="num">\+(\d+)</td>', section("ledger"))
    )
    consents = section("consents")
    assert re.search(r"<td>sms</td><td class=\"yes\">granted</td><td>app</td>", consents)
    assert re.search(r"<td>marketing_email</td><td class=\"no\">not asked</td>", consents)
    assert "in the app" in section("consent-history")
    member_of = segments.segments_of(shop, people.ann).segments
    assert member_of and all(f'<span class="tag">{s}</span>' in page for s in member_of)
    assert "Late parcel" in section("notes") and "kim" in section("notes")
    merge_log = section("merge-log")
    assert merge_log.count(">unmerge</button>") == 2
    assert "shares phone +31613572468" in merge_log
    assert f'href="/admin/customers/{people.ann}/export"' not in page  # the admin's only


def test_consent_is_granted_and_withdrawn_from_the_profile(
    client: TestClient, shop: Database, people: People
) -> None:
    token = sign_in(client, "service1")
    url = f"/admin/customers/{people.ann}/consents"
    response = client.post(
        url,
        data={"csrf": token, "purpose": "marketing_email", "answer": "grant", "source": "phone"},
    )
    assert "consent marketing_email granted" in response.text
    response = client.post(
        url,
        data={"csrf": token, "purpose": "marketing_email", "answer": "withdraw",
              "source": "phone", "note": "asked to stop"},
    )  # fmt: skip
    assert "consent marketing_email withdrawn" in response.text
    current, history = consent.consents(shop, people.ann)
    assert [(e.purpose, e.granted, e.source) for e in history] == [
        (Purpose.MARKETING_EMAIL, True, "phone"),
        (Purpose.MARKETING_EMAIL, False, "phone"),
    ]
    assert history[1].note == "asked to stop · by admin:service1"
    assert not next(s.granted for s in current if s.purpose == Purpose.MARKETING_EMAIL)
    for bad in (
        {"purpose": "telepathy", "answer": "grant", "source": "phone"},
        {"purpose": "sms", "answer": "maybe", "source": "phone"},
        {"purpose": "sms", "answer": "grant", "source": ""},
    ):
        response = client.post(url, data={"csrf": token, **bad})
        assert 'class="flash error"' in response.text, bad
    assert len(consent.consents(shop, people.ann)[1]) == 2


def test_a_service_note_is_added(client: TestClient, shop: Database, people: People) -> None:
    token = sign_in(client, "service1")
    url = f"/admin/customers/{people.ann}/notes"
    response = client.post(
        url, data={"csrf": token, "subject": "Gift wrap", "body": "prefers gift wrap"}
    )
    assert "note added" in response.text and "prefers gift wrap" in response.text
    (note,) = interactions.list_interactions(shop, people.ann)
    assert (note.kind.value, note.author, note.channel, note.subject, note.status.value) == (
        "note", "service1", "admin", "Gift wrap", "closed",
    )  # fmt: skip
    empty = client.post(url, data={"csrf": token, "body": "   "})
    assert 'class="flash error"' in empty.text and "body" in empty.text
    assert len(interactions.list_interactions(shop, people.ann)) == 1


def test_unmerge_splits_the_customer_and_the_merged_id_redirects(
    client: TestClient, shop: Database, people: People
) -> None:
    token = sign_in(client, "service1")
    moved = client.get(f"/admin/customers/{people.app_profile}", follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/admin/customers/{people.ann}"
    followed = client.get(moved.headers["location"])
    assert f"customer {people.app_profile} was merged into customer {people.ann}" in followed.text

    phone_link = next(
        e["id"] for e in customers.merge_log(shop, people.ann) if e["identifier_kind"] == "phone"
    )
    url = f"/admin/customers/{people.ann}/links/{phone_link}/unmerge"
    response = client.post(url, data={"csrf": token})
    assert f"merge link {phone_link} undone" in response.text
    assert customers.get_profile(shop, people.app_profile).id != people.ann
    assert (
        client.get(f"/admin/customers/{people.app_profile}", follow_redirects=False).status_code
        == 200
    )
    again = client.post(url, data={"csrf": token})
    assert "already undone" in again.text

    other = client.post(f"/admin/customers/{people.piet}/links/{phone_link}/unmerge",
                        data={"csrf": token})  # fmt: skip
    assert f"not in the merge log of customer {people.piet}" in other.text


def test_erasure_needs_the_typed_confirmation(
    client: TestClient, shop: Database, people: People
) -> None:
    token = sign_in(client, "admin1")
    url = f"/admin/customers/{people.ann}/erase"
    for typed in ("", "erase", str(people.piet), "yes"):
        response = client.post(url, data={"csrf": token, "confirm": typed})
        assert f"nothing erased: type {people.ann} or ERASE" in response.text, typed
        assert customers.get_profile(shop, people.ann).erased_at is None
    response = client.post(url, data={"csrf": token, "confirm": "ERASE"})
    assert f"customer {people.ann} erased" in response.text
    assert 'data-testid="erased"' in response.text and 'data-testid="erase"' not in response.text
    erased = customers.get_profile(shop, people.ann)
    assert erased.erased_at is not None and erased.golden == {} and erased.identifiers == []
    assert orders.get_order(shop, people.web_order).customer["name"] == "erased"
    assert [a["action"] for a in erasure.audit_log(shop, people.ann)] == ["erase"]
    assert erasure.audit_log(shop, people.ann)[0]["actor"] == "admin:admin1"
    listed = client.get("/admin/customers").text
    assert f'<tr data-customer="{people.ann}" class="erased">' in listed

    # the profile id typed is a confirmation too
    response = client.post(
        f"/admin/customers/{people.piet}/erase", data={"csrf": token, "confirm": str(people.piet)}
    )
    assert f"customer {people.piet} erased" in response.text
    assert customers.get_profile(shop, people.piet).erased_at is not None


def test_the_export_downloads_the_json_of_the_api(
    client: TestClient, shop: Database, people: People
) -> None:
    sign_in(client, "admin1")
    response = client.get(f"/admin/customers/{people.ann}/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="customer-{people.ann}.json"'
    )
    document = response.json()
    assert document["profile"]["id"] == people.ann
    assert sorted(o["external_id"] for o in document["orders"]) == ["P1", "W1"]
    assert erasure.audit_log(shop, people.ann)[0]["action"] == "export"


def test_forms_without_the_session_token_are_refused(
    client: TestClient, shop: Database, people: People
) -> None:
    sign_in(client, "admin1")
    suggestion = pending(shop)[frozenset((people.ann, people.anne))]
    posts = [
        (f"/admin/customers/{people.ann}/erase", {"confirm": "ERASE"}),
        (f"/admin/customers/{people.ann}/notes", {"body": "forged"}),
        (f"/admin/customers/{people.ann}/consents",
         {"purpose": "sms", "answer": "grant", "source": "x"}),
        (f"/admin/customers/suggestions/{suggestion}/confirm", {}),
        (f"/admin/customers/{people.ann}/links/1/unmerge", {}),
    ]  # fmt: skip
    for url, data in posts:
        for token in ({}, {"csrf": "forged"}):
            response = client.post(url, data={**token, **data})
            assert response.status_code == 403 and "expired" in response.text, url
    profile = customers.get_profile(shop, people.ann)
    assert profile.erased_at is None and profile.merged_ids == [people.app_profile]
    assert interactions.list_interactions(shop, people.ann) == []
    assert consent.consents(shop, people.ann)[1] == []
    assert suggestion in pending(shop).values()


def test_unknown_ids_answer_not_found(client: TestClient, people: People) -> None:
    token = sign_in(client, "admin1")
    for url in ("/admin/customers/999999", f"/admin/customers/{2**70}",
                "/admin/customers/0", "/admin/customers/999999/export"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 404 and "does not exist" in response.text, url
    response = client.post("/admin/customers/suggestions/999999/confirm", data={"csrf": token})
    assert "match suggestion 999999 does not exist" in response.text
    response = client.post(f"/admin/customers/{2**70}/notes", data={"csrf": token, "body": "x"})
    assert response.status_code == 404 and "does not exist" in response.text
    response = client.post(
        "/admin/customers/999999/erase", data={"csrf": token, "confirm": "ERASE"}
    )
    assert response.status_code == 404


def test_the_dashboard_shows_customers_across_channels(
    client: TestClient, shop: Database, people: People
) -> None:
    """Ann bought on the web (2 x 10.00) and in the store (25.00): one multichannel customer,
    online and store; her till sale was not researched online (she had no cart)."""
    sign_in(client, "merchandiser1")
    page = client.get("/admin/?days=7").text

    def section(testid: str) -> str:
        found = re.search(rf'data-testid="{testid}">(.*?)</table>', page, re.S)
        assert found, testid
        return found.group(1)

    groups = section("customer-groups")
    assert re.search(
        r"<td>multichannel</td><td class=\"num\">1</td><td class=\"num\">2</td>\s*"
        r"<td class=\"num\">45.00 EUR</td><td class=\"num\">45.00</td>",
        groups,
    ), groups
    assert "<td>online and store</td>" in groups
    journeys = section("journeys")
    assert re.search(r"researched online bought in store</td><td class=\"num\">0<", journeys)
    assert "<td>web</td>" in section("segment-mix") and "/ customer" in page


def test_a_long_history_shows_its_newest_part(
    client: TestClient, shop: Database, people: People
) -> None:
    """Every order names its customer, so a regular has a channel record per order: the
    profile shows the newest 25 and says how many there are."""
    for n in range(30):
        ingest(shop, "bol", f"order:B{n}", email="ann@visser.nl")
    sign_in(client, "service1")
    page = client.get(f"/admin/customers/{people.ann}").text
    records = re.search(r'data-testid="records">(.*?)</table>', page, re.S)
    assert records and records.group(1).count("<tr>") == 1 + 25  # the header and 25 records
    assert "order:B29" in records.group(1) and "order:B0<" not in records.group(1)
    assert re.search(r"the newest 25 of 3\d records", page)
