"""The fault scenario (bench/sync_faults.py) in the suite: errors, 429s, timeouts and a
20-second outage while stock, prices and orders flow, the worker SIGKILLed twice; nothing may
be lost, duplicated or left different. ``CHANNELHUB_FAULT_SECONDS`` makes it longer."""

from __future__ import annotations

import json
import os

import pytest
from bench.sync_faults import run

from tests.conftest import PG_URL, _pg_available

SECONDS = float(os.environ.get("CHANNELHUB_FAULT_SECONDS", "45"))


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_nothing_is_lost_through_faults_and_kills(database: str) -> None:
    if database == "postgresql":
        reason = _pg_available()
        if reason:
            pytest.skip(reason)
    url = PG_URL if database == "postgresql" else None
    report = run(url, SECONDS, workers=2 if database == "postgresql" else 1)
    assert report["kills"] == 2
    assert report["faults_served"] > 0
    assert report["ok"], json.dumps(report, indent=1)
