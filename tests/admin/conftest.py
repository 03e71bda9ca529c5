"""Admin tests hash passwords with cheap Argon2 parameters: the real ones cost ~100 ms each."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "channelhub.admin.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024)
    )
