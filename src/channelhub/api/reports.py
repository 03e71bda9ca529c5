"""Response models shared by the routers that take files and batches."""

from __future__ import annotations

from pydantic import BaseModel


class RejectionOut(BaseModel):
    """One input row that was not written, and why: its line, the column at fault, the reason."""

    line: int | None
    sku: str | None
    column: str | None
    reason: str
