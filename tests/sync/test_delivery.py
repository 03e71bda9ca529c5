"""End to end: a stock change reaches a receiver through the dispatcher and the worker."""

from __future__ import annotations

from channelhub.core.database import Database
from channelhub.inventory import service as inventory
from tests.inventory.factories import stock
from tests.sync.conftest import Receiver, connect, drain


def test_stock_change_reaches_the_channel(world: Database, receiver: Receiver) -> None:
    connect(world, receiver)
    stock(world, "wh", MUG_1=5, MUG_2=3)
    drain(world)
    assert receiver.state.stock == inventory.available(world, "web", ["MUG-1", "MUG-2"])
    assert receiver.state.stock["MUG-1"] == 5
