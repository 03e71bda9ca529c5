"""Pacing recurring work by its cost: work that took ``cost`` seconds waits ``factor`` times
that before it runs again (or its result is kept that long), within bounds. Cheap work then
stays fresh, and costly work takes at most 1/``factor`` of a core however large the shop."""

from __future__ import annotations


def paced(cost: float, least: float, most: float, factor: float) -> float:
    """Seconds to wait after work that took ``cost`` seconds: ``factor`` times it, at least
    ``least`` and at most ``most``."""
    return min(most, max(least, cost * factor))
