"""The live demo's dead letters: bol.com was sent the same shipment twice. The hub sends a
shipped order's shipped total per line whenever a fulfilment job for it runs, and a second
job for the same order (a second event, one that arrived while the first job was in flight,
a replay) posted those units again; bol.com's process then failed with "Order item ... has
no 1 open to ship" and the job was dead-lettered. The connector now asks bol.com what is
already shipped and sends only the rest."""

from __future__ import annotations

import time

from channelhub.core.database import Database
from channelhub.core.events import record_event
from channelhub.orders.fulfilment import ship
from channelhub.orders.service import get_order
from channelhub.sandbox.bol import BolState, create_app
from channelhub.sandbox.server import serve_in_thread
from tests.connectors.bol.test_engine_roundtrip import bol_world, connect, fast_sync, imported
from tests.connectors.conftest import dead_letters
from tests.factories import gtin
from tests.sync.conftest import drain

__all__ = ["fast_sync"]  # the module's autouse fixture, shared


def test_a_second_event_for_a_shipped_bol_order_ships_nothing_again(db: Database) -> None:
    bol_world(db)
    state = BolState(process_delay=0.05)
    with serve_in_thread(create_app(state)) as url:
        connect(db, state, url)
        drain(db, timeout=60)
        order_id = state.add_order([(gtin(1), 1, 12.95)])
        [order] = imported(db, 1)
        shipped = ship(db, order.id, "test", tracking="3SBOL1")
        drain(db, timeout=60)
        time.sleep(0.1)
        drain(db, timeout=60)
        assert len(state.shipments) == 1

        # The same order's status event again, as the dispatcher fans it out a second time.
        with db.transaction() as conn:
            record_event(
                conn,
                "orders.status_changed",
                f"bol:{order_id}",
                {
                    "order_id": order.id,
                    "channel": "bol",
                    "external_id": order_id,
                    "from": "routed",
                    "to": shipped.status.value,
                    "note": "again",
                },
            )
        drain(db, timeout=60)
        time.sleep(0.1)
        drain(db, timeout=60)

        posts = [
            path for method, path in state.requests if method == "POST" and "shipments" in path
        ]
        assert len(posts) == 1
        assert len(state.shipments) == 1
        assert state.orders[order_id]["orderItems"][0]["quantityShipped"] == 1
        assert get_order(db, order.id).status.value == "shipped"
    assert dead_letters(db) == []
