"""A connector can report that some items of a batch failed and the others took effect: the
engine finishes the others and retries, or gives up on, each failed key alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest
from sqlalchemy import select

from channelhub.connectors.base import (
    Accepted,
    Capability,
    Connector,
    ConnectorConfig,
    PartialFailure,
    PermanentError,
    StockLevel,
    TransientError,
)
from channelhub.core.database import Database
from channelhub.sync import registry
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.store import jobs
from tests.inventory.factories import stock
from tests.sync.conftest import drain

RECEIVED: dict[str, int] = {}


class PickyConfig(ConnectorConfig):
    name: str = "picky"


class PickyConnector(Connector):
    """Takes every SKU but MUG-2 (refused for good) and MUG-3 (not yet, every time)."""

    platform: ClassVar[str] = "picky"
    api_version: ClassVar[str] = "test"
    capabilities = frozenset({Capability.PUSH_STOCK})
    config_model = PickyConfig
    max_batch = 10

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        failures = {}
        for level in levels:
            if level.sku == "MUG-2":
                failures[level.sku] = PermanentError("MUG-2 is blocked on this channel")
            elif level.sku == "MUG-3":
                failures[level.sku] = TransientError("MUG-3 is not listed yet")
            else:
                RECEIVED[level.sku] = level.quantity
        if failures:
            raise PartialFailure(failures, Accepted(detail="the rest went through"))
        return Accepted()


def test_only_the_failed_keys_of_a_batch_are_retried_or_dead(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.CONNECTORS, "picky", f"{__name__}:PickyConnector")
    RECEIVED.clear()
    save_connection(
        world,
        ConnectionInput(
            code="picky", platform="picky", channel="web", config={}, subscriptions=(JobKind.STOCK,)
        ),
    )
    stock(world, "wh", MUG_1=5, MUG_2=3, MUG_3=1)
    drain(world)
    assert RECEIVED == {"MUG-1": 5}
    with world.read() as conn:
        states = {
            key: (state, error)
            for key, state, error in conn.execute(
                select(jobs.c.key, jobs.c.state, jobs.c.last_error).order_by(jobs.c.id)
            )
        }
    assert states["MUG-1"][0] == "done"
    assert states["MUG-2"][0] == "dead" and "blocked" in (states["MUG-2"][1] or "")
    # MUG-3 kept failing alone (the test settings allow 4 attempts) and ended dead too.
    assert states["MUG-3"][0] == "dead" and "not listed yet" in (states["MUG-3"][1] or "")
