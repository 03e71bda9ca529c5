"""Fault injection shared by the sandboxes: errors, timeouts, 429 storms and outages."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    """What a sandbox does wrong on purpose. Rates are probabilities per request."""

    error_rate: float = 0.0  # answer 500/502/503
    timeout_rate: float = 0.0  # hang for ``timeout_seconds`` before answering
    throttle_rate: float = 0.0  # answer 429 with Retry-After
    timeout_seconds: float = 30.0
    outage_until: float = 0.0  # monotonic time until which every request gets 503
    seed: int | None = None
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._random.seed(self.seed)

    def outage(self, seconds: float) -> None:
        self.outage_until = time.monotonic() + seconds

    def clear(self) -> None:
        self.error_rate = self.timeout_rate = self.throttle_rate = 0.0
        self.outage_until = 0.0

    def in_outage(self) -> bool:
        return time.monotonic() < self.outage_until

    def draw(self) -> str | None:
        """None, or which fault this request gets: 'outage', 'error', 'throttle', 'timeout'."""
        if self.in_outage():
            return "outage"
        roll = self._random.random()
        if roll < self.error_rate:
            return "error"
        roll -= self.error_rate
        if roll < self.throttle_rate:
            return "throttle"
        roll -= self.throttle_rate
        if roll < self.timeout_rate:
            return "timeout"
        return None

    async def stall(self) -> None:
        await asyncio.sleep(self.timeout_seconds)


@dataclass
class TokenBucket:
    """The platform-side limit a sandbox enforces: ``rate`` per second, up to ``capacity``."""

    rate: float
    capacity: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, cost: float = 1.0) -> float:
        """0 when allowed (and spent), else the seconds until ``cost`` tokens are available."""
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


#: What a handler raises when a request's JSON is not of the types the platform's contract
#: gives it (a string where a list belongs, a list of nulls, an object as a code). Platforms
#: check requests against their schema before any handler runs and answer 400, so each
#: sandbox turns these into its platform's 400 too, never a 500. The checks each sandbox makes
#: itself come first and name the field; this is the net under them.
MISTYPED_REQUEST: tuple[type[Exception], ...] = (
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    ValueError,
)
