"""Order polling does not lose an order placed in the same second as the previous poll's
watermark (bol.com's times have whole seconds). Found by the demo's timed run: 3 of 188 bol.com
orders never reached the hub."""

from __future__ import annotations

import pytest

from channelhub.sandbox.bol import BolState
from channelhub.sandbox.bol import state as sandbox_state

from .conftest import in_process, run

EAN = "8712345678906"


def test_an_order_placed_in_the_watermark_second_after_a_poll_still_arrives(
    state: BolState, app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_state, "now_iso", lambda: "2026-12-06T03:10:21+00:00")

    async def scenario() -> None:
        bol, http = in_process(app)
        async with http:
            first = state.add_order([(EAN, 1, 12.5)])
            page = await bol.fetch_orders(None)
            assert [o.external_id for o in page.orders] == [first]
            second = state.add_order([(EAN, 2, 12.5)])  # the same second as the watermark
            page = await bol.fetch_orders(page.cursor)
            assert [o.external_id for o in page.orders] == [second]
            page = await bol.fetch_orders(page.cursor)
            assert page.orders == ()  # each once
            third = state.add_order([(EAN, 1, 12.5)])
            page = await bol.fetch_orders(page.cursor)
            assert [o.external_id for o in page.orders] == [third]

    run(scenario())
