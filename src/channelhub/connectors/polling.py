"""The order-poll cursor of platforms that list orders "modified after a time", oldest first,
a page at a time, with timestamps of whole seconds (WooCommerce, Magento).

Each poll re-reads the cursor's last second, because more orders may carry that same second;
the page number only advances when a whole page lies inside that second, so no order is
skipped however many share it. The cursor is JSON, ``{"after": <time>, "page": <n>}``, with the
time written in the platform's own format: cursors already stored by the engine stay readable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channelhub.connectors.base import ChannelOrder, PermanentError


@dataclass(frozen=True)
class PollPosition:
    """Where an order poll stands: the newest change seen (None: from the beginning) and the
    page to read next of the orders changed since then."""

    after: datetime | None
    page: int = 1

    def advanced(
        self, batch: Sequence[ChannelOrder], total_pages: int
    ) -> tuple[PollPosition, bool]:
        """The position after reading ``batch`` (page ``self.page`` of ``total_pages``), and
        whether to read another page now."""
        newest = max((order.updated_at or order.created_at for order in batch), default=None)
        if newest is not None and (self.after is None or newest > self.after):
            return PollPosition(newest, 1), total_pages > 1
        if self.page < total_pages:
            return PollPosition(self.after, self.page + 1), True  # a whole page in that second
        return PollPosition(self.after, 1), False


@dataclass(frozen=True)
class PollCursorFormat:
    """One platform's cursor: its name for error messages and how it reads and writes times
    (``parse_time(value, where)`` raises ``PermanentError`` on a bad value)."""

    platform: str
    parse_time: Callable[[Any, str], datetime]
    time_text: Callable[[datetime], str]

    def read(self, cursor: str | None, since: datetime | None) -> PollPosition:
        """The position ``cursor`` holds; without a cursor (or a time in it), ``since``."""
        if not cursor:
            return PollPosition(since)
        try:
            data = json.loads(cursor)
            after = self.parse_time(data["after"], "cursor time") if data.get("after") else since
            return PollPosition(after, max(1, int(data.get("page", 1))))
        except (ValueError, KeyError, TypeError, AttributeError, PermanentError) as error:
            raise PermanentError(f"unreadable {self.platform} order cursor: {cursor!r}") from error

    def write(self, position: PollPosition) -> str | None:
        """The cursor to hand back to the engine; None while nothing has been seen."""
        if position.after is None:
            return None
        return json.dumps({"after": self.time_text(position.after), "page": position.page})
