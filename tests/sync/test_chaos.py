"""The chaos scenario (bench/chaos.py) in the suite, shorter: worker processes on PostgreSQL
under stock, price and order traffic, SIGKILLed at random, a sandbox outage and poison messages
in the inbox. No worker may die by itself, no effect may be lost or doubled, only the poison
may be dead-lettered, and everything converges. ``CHANNELHUB_CHAOS_SECONDS`` makes it longer."""

from __future__ import annotations

import json
import os

import pytest
from bench.chaos import run

from tests.conftest import PG_URL, _pg_available

SECONDS = float(os.environ.get("CHANNELHUB_CHAOS_SECONDS", "40"))


@pytest.mark.slow
def test_workers_survive_kills_outages_and_poison_on_postgresql() -> None:
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    report = run(PG_URL, SECONDS, workers=3, outage=10.0, kills=2)
    summary = json.dumps(report, indent=1)
    assert report["kills"] == 2, summary
    assert report["worker_deaths"] == 0, summary
    assert report["converged"], summary
    assert report["lost_effects"] == 0, summary
    assert report["duplicated_effects"] == 0, summary
    assert report["other_dead_letters"] == 0, summary
    assert report["poison_dead"] == report["poison"] == 4, summary
