"""POS use cases below the API: the last-unit race, recovery after a crash, returns by SKU."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict
from channelhub.inventory import service as inventory
from channelhub.orders import fulfilment
from channelhub.orders.model import ReturnCondition
from channelhub.orders.service import ImportResult, find_order, import_order
from channelhub.pos import service
from channelhub.pos import store as pos_store
from channelhub.pos.idempotency import PENDING, Recorded
from channelhub.pos.model import (
    OrderLineLeft,
    ReturnLine,
    Sale,
    SaleLine,
    TillReturn,
    spread_return,
)
from tests.orders.factories import order


def test_a_return_by_sku_spreads_over_lines_and_says_what_is_wrong() -> None:
    left = [OrderLineLeft(1, "A", 1), OrderLineLeft(2, "B", 3), OrderLineLeft(3, "A", 2)]
    ok = spread_return("W-1 (web)", [ReturnLine("A", 2), ReturnLine("B", 1)], left)
    assert ok.items == [
        (1, 1, ReturnCondition.RESELLABLE),
        (3, 1, ReturnCondition.RESELLABLE),
        (2, 1, ReturnCondition.RESELLABLE),
    ]
    assert not ok.problems
    bad = spread_return("W-1 (web)", [ReturnLine("A", 4), ReturnLine("Z", 1)], left)
    assert [where for where, _ in bad.problems] == ["lines[0].quantity", "lines[1].sku"]


def test_racing_a_web_order_for_the_last_unit_one_side_loses_cleanly(retailer: Database) -> None:
    start = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def web() -> None:
        start.wait()
        outcome["web"] = import_order(retailer, order("W-RACE", ("MUG-2", 1)))

    def till() -> None:
        start.wait()
        sale = Sale((SaleLine("MUG-2", 1),), transaction_id="T-RACE")
        try:
            outcome["till"] = service.record_sale(retailer, "store_ams", sale, None, "test")
        except Conflict as refused:
            outcome["till"] = refused

    threads = [threading.Thread(target=web), threading.Thread(target=till)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    web_result, till_result = outcome["web"], outcome["till"]
    assert isinstance(web_result, ImportResult)
    web_won = web_result.status == "routed"
    if web_won:
        assert isinstance(till_result, Conflict)
    else:
        assert web_result.status == "backordered"
        assert isinstance(till_result, Recorded) and till_result.status_code == 201
    levels = inventory.stock_levels(retailer, sku="MUG-2", location="ams")
    on_hand, reserved = sum(s.on_hand for s in levels), sum(s.reserved for s in levels)
    assert (on_hand, reserved) == ((1, 1) if web_won else (0, 0))
    assert inventory.check_ledger(retailer) == []


def test_a_return_cut_short_by_a_crash_is_not_repeated(retailer: Database) -> None:
    placed = import_order(retailer, order("W-7", ("MUG-1", 2)))
    assert placed.order_id is not None
    fulfilment.ship(retailer, placed.order_id, "test")
    back = TillReturn("W-7", (ReturnLine("MUG-1", 1),), return_id="R-7")
    first = service.record_return(retailer, "store_ams", back, None, "test")
    # The process died after the return was stored but before its answer was: the claim is
    # still pending, and its lease has run out.
    p = pos_store.pos_requests.c
    with retailer.transaction() as conn:
        conn.execute(
            update(pos_store.pos_requests)
            .where(p.key == "R-7")
            .values(state=PENDING, response=None, updated_at=utcnow() - timedelta(minutes=5))
        )
    again = service.record_return(retailer, "store_ams", back, None, "test")
    assert again.body == first.body
    assert len(find_order(retailer, "web", "W-7").returns) == 1


def test_a_key_still_at_work_is_not_run_twice(retailer: Database) -> None:
    sale = Sale((SaleLine("MUG-1", 1),), transaction_id="T-BUSY")
    service.record_sale(retailer, "store_ams", sale, None, "test")
    p = pos_store.pos_requests.c
    with retailer.transaction() as conn:
        conn.execute(update(pos_store.pos_requests).where(p.key == "T-BUSY").values(state=PENDING))
    with pytest.raises(Conflict, match="still being recorded"):
        service.record_sale(retailer, "store_ams", sale, None, "test")
