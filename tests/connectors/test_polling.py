"""The shared order-poll cursor: how it reads, writes and advances, in each platform's format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from channelhub.connectors.base import ChannelOrder, ChannelOrderLine, PermanentError
from channelhub.connectors.magento.connector import ORDER_CURSOR as MAGENTO_CURSOR
from channelhub.connectors.polling import PollCursorFormat, PollPosition
from channelhub.connectors.woocommerce.connector import ORDER_CURSOR as WOO_CURSOR

NOON = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def order(
    external_id: str, updated_at: datetime | None, created_at: datetime = NOON
) -> ChannelOrder:
    line = ChannelOrderLine("1", "SKU-1", 1, Decimal(5))
    return ChannelOrder(external_id, created_at, "EUR", (line,), updated_at=updated_at)


@pytest.mark.parametrize(
    ("cursor_format", "written"),
    [
        (WOO_CURSOR, '{"after": "2026-11-20T12:00:00", "page": 3}'),
        (MAGENTO_CURSOR, '{"after": "2026-11-20 12:00:00", "page": 3}'),
    ],
)
def test_each_platform_keeps_its_own_time_format(
    cursor_format: PollCursorFormat, written: str
) -> None:
    """Cursors the engine stored before stay readable, and new ones are written the same way."""
    position = PollPosition(NOON, 3)
    assert cursor_format.write(position) == written
    assert cursor_format.read(written, since=None) == position


def test_no_cursor_starts_from_the_configured_time() -> None:
    since = NOON - timedelta(days=30)
    assert WOO_CURSOR.read(None, since) == PollPosition(since, 1)
    assert WOO_CURSOR.read("", None) == PollPosition(None, 1)


def test_a_cursor_without_a_time_starts_from_the_configured_time() -> None:
    since = NOON - timedelta(days=1)
    assert MAGENTO_CURSOR.read('{"after": null, "page": 2}', since) == PollPosition(since, 2)


def test_a_page_below_one_is_read_as_the_first() -> None:
    cursor = json.dumps({"after": "2026-11-20T12:00:00", "page": 0})
    assert WOO_CURSOR.read(cursor, None).page == 1


def test_nothing_seen_writes_no_cursor() -> None:
    assert WOO_CURSOR.write(PollPosition(None, 1)) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "[1, 2]",
        '{"page": 1, "after": "yesterday"}',
        '{"after": "2026-11-20T12:00:00", "page": "first"}',
    ],
)
def test_an_unreadable_cursor_is_a_permanent_error_naming_the_platform(cursor: str) -> None:
    with pytest.raises(PermanentError) as caught:
        WOO_CURSOR.read(cursor, None)
    assert str(caught.value) == f"unreadable WooCommerce order cursor: {cursor!r}"


def test_a_newer_change_moves_the_cursor_to_it_and_back_to_page_one() -> None:
    position = PollPosition(NOON, 2)
    later = NOON + timedelta(minutes=5)
    batch = [order("1", NOON + timedelta(minutes=1)), order("2", later)]
    assert position.advanced(batch, total_pages=3) == (PollPosition(later, 1), True)
    assert position.advanced(batch, total_pages=1) == (PollPosition(later, 1), False)


def test_an_order_without_an_update_time_counts_by_its_creation() -> None:
    created = NOON + timedelta(hours=1)
    batch = [order("1", None, created_at=created)]
    assert PollPosition(None).advanced(batch, 1) == (PollPosition(created, 1), False)


def test_a_whole_page_inside_the_cursors_second_reads_the_next_page() -> None:
    """Many orders can share the cursor's second: the next page, not a later time, goes on."""
    position = PollPosition(NOON, 1)
    same_second = [order(str(i), NOON) for i in range(3)]
    assert position.advanced(same_second, total_pages=2) == (PollPosition(NOON, 2), True)


def test_the_last_page_with_nothing_newer_stops_and_rewinds_the_page() -> None:
    position = PollPosition(NOON, 2)
    assert position.advanced([order("1", NOON)], total_pages=2) == (PollPosition(NOON, 1), False)
    assert position.advanced([], total_pages=1) == (PollPosition(NOON, 1), False)
