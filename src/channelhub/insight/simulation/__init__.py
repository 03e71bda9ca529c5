"""Replay a retailer's history under multichannel and omnichannel set-ups (``simulate``)."""

from channelhub.insight.simulation.history import History, from_csv, from_hub, with_settings
from channelhub.insight.simulation.model import Comparison, Outcome, replay
from channelhub.insight.simulation.report import (
    affected_csv,
    affected_rows,
    figures_csv,
    ranked_moves,
    summary,
)

__all__ = [
    "Comparison",
    "History",
    "Outcome",
    "affected_csv",
    "affected_rows",
    "figures_csv",
    "from_csv",
    "from_hub",
    "ranked_moves",
    "replay",
    "run",
    "summary",
    "with_settings",
]


def run(history: History, keep_lines: int | None = 100) -> Comparison:
    """Replay a history under every set-up (the split shares come with the history), keeping
    up to ``keep_lines`` lines behind each figure (None: all)."""
    return replay(history.scenario, history.events, history.shares, keep_lines)
