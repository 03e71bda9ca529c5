"""Outbound event webhooks on both databases: signed with a timestamp, delivered at least
once with retries, dead after the last attempt, logged; and the receiver's verification."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from channelhub.automation import webhooks
from channelhub.automation.events import start_at_now
from channelhub.automation.service import READER, handle_events
from channelhub.automation.store import subscriptions
from channelhub.automation.webhooks import WebhookInput
from channelhub.connectors.webhook import sign_timestamped, verify_timestamped
from channelhub.core.database import Database
from channelhub.core.errors import InvalidInput
from tests.automation.conftest import HOOK_SECRET, Recorder, settle
from tests.inventory.factories import stock


def subscribe(db: Database, recorder: Recorder, events: tuple[str, ...]) -> None:
    webhooks.save_webhook(db, WebhookInput("erp", recorder.url, HOOK_SECRET, events))


def test_events_reach_a_subscriber_signed_and_once(world: Database, recorder: Recorder) -> None:
    subscribe(world, recorder, ("stock.changed",))
    stock(world, "wh", MUG_1=4, MUG_2=2)
    settle(world)
    assert sorted(d["data"]["sku"] for d in recorder.received) == ["MUG-1", "MUG-2"]
    assert all(recorder.verified)
    first = recorder.received[0]
    assert first["event"] == "stock.changed" and first["id"].startswith("evt_")
    mug = next(d for d in recorder.received if d["data"]["sku"] == "MUG-1")
    assert mug["data"]["on_hand"] == 4 and mug["data"]["available"] == 4
    headers = recorder.headers[0]
    assert headers["x-channelhub-event"] == "stock.changed"
    assert headers["x-channelhub-signature"].startswith("sha256=")
    settle(world)  # nothing new: nothing sent again
    assert len(recorder.received) == 2
    log = webhooks.list_deliveries(world, "erp")
    assert {(d.state, d.attempts, d.last_status) for d in log} == {("done", 1, 200)}


def test_a_failing_receiver_gets_the_event_again_until_it_answers(
    world: Database, recorder: Recorder
) -> None:
    recorder.fail_first = 2  # two 500s, then success
    start_at_now(world, READER)  # the catalog's creation is history: not sent
    subscribe(world, recorder, ("*",))
    stock(world, "wh", MUG_1=1)
    settle(world)
    assert [d["data"]["sku"] for d in recorder.received] == ["MUG-1"]
    (delivery,) = webhooks.list_deliveries(world)
    assert (delivery.state, delivery.attempts) == ("done", 3)


def test_a_receiver_that_never_answers_gets_a_dead_letter_that_can_be_replayed(
    world: Database, recorder: Recorder
) -> None:
    recorder.fail_first = 100
    subscribe(world, recorder, ("stock.changed",))
    stock(world, "wh", MUG_1=1)
    settle(world)
    (dead,) = webhooks.list_deliveries(world, state="dead")
    assert dead.attempts == 3 and dead.last_status == 500
    assert "500" in (dead.last_error or "")
    recorder.fail_first = 0
    webhooks.replay_delivery(world, dead.id)
    settle(world)
    assert [d["data"]["sku"] for d in recorder.received] == ["MUG-1"]
    assert webhooks.list_deliveries(world)[0].state == "done"


def test_a_4xx_is_not_retried(world: Database, recorder: Recorder) -> None:
    recorder.fail_first, recorder.status_when_failing = 100, 410
    subscribe(world, recorder, ("stock.changed",))
    stock(world, "wh", MUG_1=1)
    settle(world)
    (dead,) = webhooks.list_deliveries(world)
    assert (dead.state, dead.attempts, dead.last_status) == ("dead", 1, 410)


def test_a_subscription_is_checked(sqlite_db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        webhooks.save_webhook(sqlite_db, WebhookInput("Bad", "ftp://x", "short", ("order.eaten",)))
    assert {p.location for p in caught.value.problems} == {"code", "url", "secret", "events"}


def test_verification_refuses_forgeries_and_replays() -> None:
    body = orjson.dumps({"id": "evt_1", "event": "order.created", "data": {}})
    now = int(time.time())
    good = {
        "X-Channelhub-Timestamp": str(now),
        "X-Channelhub-Signature": sign_timestamped(HOOK_SECRET, now, body),
    }
    assert verify_timestamped(HOOK_SECRET, good, body)
    assert not verify_timestamped("another-secret-000000", good, body)
    assert not verify_timestamped(HOOK_SECRET, good, body + b" ")
    stale = now - 3600
    old = {
        "X-Channelhub-Timestamp": str(stale),
        "X-Channelhub-Signature": sign_timestamped(HOOK_SECRET, stale, body),
    }
    assert not verify_timestamped(HOOK_SECRET, old, body)  # a replay an hour later
    moved = {**good, "X-Channelhub-Timestamp": str(now + 1)}
    assert not verify_timestamped(HOOK_SECRET, moved, body)  # the timestamp is signed
    assert not verify_timestamped(HOOK_SECRET, {}, body)


def test_the_documented_receiver_code_verifies_a_real_delivery(
    world: Database, recorder: Recorder
) -> None:
    doc = Path(__file__).parents[2] / "docs" / "connectors" / "files-and-webhooks.md"
    (snippet,) = re.findall(r"```python\n(.*?)```", doc.read_text(), re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(doc), "exec"), namespace)
    verify = namespace["verify"]
    subscribe(world, recorder, ("stock.changed",))
    stock(world, "wh", MUG_1=1)
    settle(world)
    headers, body = recorder.headers[0], recorder.raw[0]
    assert verify(HOOK_SECRET, headers, body)
    assert not verify(HOOK_SECRET, headers, body.replace(b"MUG-1", b"MUG-2"))
    assert not verify("not-the-secret-at-all", headers, body)


def test_a_delivery_that_raises_the_unexpected_is_kept_failed_not_raised(
    world: Database, recorder: Recorder
) -> None:
    """Issue 21: one delivery must not stop the loop, whatever it raises (here a subscription
    whose stored secret no longer decrypts); the others are delivered."""
    subscribe(world, recorder, ("stock.changed",))
    webhooks.save_webhook(world, WebhookInput("broken", recorder.url, HOOK_SECRET, ("*",)))
    with world.transaction() as conn:
        conn.execute(
            update(subscriptions).where(subscriptions.c.code == "broken").values(secret="garbage")
        )
    stock(world, "wh", MUG_1=4)
    handle_events(world)
    asyncio.run(webhooks.deliver_due(world))  # raised InvalidToken before
    broken = webhooks.list_deliveries(world, "broken")
    assert broken and all(d.state == "failed" for d in broken)
    assert all("Traceback" in (d.last_error or "") for d in broken)
    assert [d["data"]["sku"] for d in recorder.received] == ["MUG-1"]
