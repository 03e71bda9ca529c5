"""Price import from CSV: streamed, validated row by row, written in batches.

Columns: ``sku``, ``base_price`` (required), ``price_list`` (required unless a default price
list is given), ``sale_price``, ``sale_starts_at``, ``sale_ends_at`` (ISO 8601 with an offset).
Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from channelhub.core.database import Database
from channelhub.pricing.prices import PriceInput, SaveReport, save_prices

COLUMNS = ("price_list", "sku", "base_price", "sale_price", "sale_starts_at", "sale_ends_at")
REQUIRED = ("sku", "base_price")
#: A cell longer than this is refused rather than read into memory.
MAX_CELL = 10_000


@dataclass
class ImportReport:
    prices: SaveReport
    file_errors: list[str] = field(default_factory=list)


def _header_problems(header: list[str] | None, has_default: bool) -> list[str]:
    if not header:
        return ["the file is empty or has no header row"]
    problems = []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)[:200]}; use {', '.join(COLUMNS)}")
    if len(set(header)) != len(header):
        problems.append("a column appears twice in the header")
    required = [*REQUIRED, *([] if has_default else ["price_list"])]
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    return problems


def _rows(reader: csv.DictReader[str]) -> Iterator[PriceInput]:
    for row in reader:
        line = reader.line_num
        cells = {k: (v or "") for k, v in row.items() if isinstance(k, str)}
        item = PriceInput(
            sku=cells.get("sku", "").strip(),
            base_price=cells.get("base_price", "").strip(),
            sale_price=cells.get("sale_price", "").strip() or None,
            sale_starts_at=cells.get("sale_starts_at", "").strip() or None,
            sale_ends_at=cells.get("sale_ends_at", "").strip() or None,
            price_list=cells.get("price_list", "").strip() or None,
            line=line,
        )
        if None in row:
            item.unreadable = (None, "the row has more fields than the header")
        elif any(v is None for v in row.values()):
            item.unreadable = (None, "the row has fewer fields than the header")
        elif any(len(v) > MAX_CELL or "\x00" in v for v in cells.values()):
            item.unreadable = (None, "a cell is too long or holds a NUL character")
        elif not item.base_price:
            item.unreadable = ("base_price", "base price is empty")
        yield item


def import_prices(
    db: Database,
    source: Path | IO[str],
    price_list: str | None = None,
    *,
    atomic: bool = False,
    encoding: str = "utf-8-sig",
    actor: str = "import",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a price CSV; each bad row is reported with its line, column and reason."""
    if isinstance(source, Path):
        try:
            with source.open(encoding=encoding, newline="") as handle:
                return _import(db, handle, price_list, atomic, actor, progress)
        except OSError as error:
            return ImportReport(SaveReport(), [f"cannot read {source}: {error.strerror}"])
        except LookupError:
            return ImportReport(SaveReport(), [f"unknown encoding {encoding!r}"])
    return _import(db, source, price_list, atomic, actor, progress)


def _import(
    db: Database,
    handle: IO[str],
    price_list: str | None,
    atomic: bool,
    actor: str,
    progress: Callable[[int], None] | None,
) -> ImportReport:
    reader = csv.DictReader(handle)
    try:
        header = [c.strip() for c in reader.fieldnames] if reader.fieldnames else None
    except (UnicodeDecodeError, csv.Error) as error:
        return ImportReport(SaveReport(), [f"the header cannot be read: {error}"])
    problems = _header_problems(header, price_list is not None)
    if problems:
        return ImportReport(SaveReport(), problems)
    reader.fieldnames = header
    report = ImportReport(SaveReport())
    try:
        report.prices = save_prices(
            db, _rows(reader), price_list, atomic=atomic, actor=actor, progress=progress
        )
    except (UnicodeDecodeError, csv.Error) as error:
        where = f"near line {reader.line_num}"
        done = "nothing was written" if atomic else "rows before it may have been written"
        report.file_errors.append(f"the file cannot be read {where} ({error}); {done}")
    return report
