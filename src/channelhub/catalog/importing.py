"""Streaming imports of products, attributes, families and categories (CSV, JSON Lines, XLSX).

Rows are read one at a time and written in batches, so memory stays flat however large the
file. A bad row never stops the good ones and never half-writes a product: the report names
each rejected row's line, column and reason. A file whose header cannot be understood
(no ``sku`` column, unknown columns) is refused whole before anything is written.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from channelhub.catalog import service, store
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    Family,
    IdentifierKind,
    InvalidValue,
    ProductKind,
    Status,
    parse_text_value,
)
from channelhub.catalog.products import (
    ProductInput,
    Rejection,
    SaveResult,
    ValueInput,
    prepare_batch,
    save_batch,
    write_prepared,
)
from channelhub.catalog.snapshot import CatalogSnapshot, load_snapshot
from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError
from channelhub.core.settings import get_settings

PRODUCT_FIELDS = ("sku", "family", "parent", "kind", "categories", "status")
Progress = Callable[[int, int], None]  # (rows done, bytes read)


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.file_errors

    def add(self, result: SaveResult) -> None:
        self.created += len(result.created)
        self.updated += len(result.updated)
        self.unchanged += len(result.unchanged)
        self.rejected.extend(result.rejected)


class FileError(Exception):
    """The file as a whole cannot be imported (header, format)."""


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, Any]
    error: str | None = None
    error_column: str | None = None


# --- reading files ------------------------------------------------------------------------


def _codec(encoding: str) -> str:
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _bad_cell(cells: dict[str, str]) -> str | None:
    """The first column whose text did not decode (it holds surrogate escapes)."""
    try:
        "".join(cells.values()).encode("utf-8")
        return None
    except UnicodeEncodeError:
        for column, text in cells.items():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return column
    return None  # pragma: no cover


def _nul_at(value: object, where: str = "") -> str | None:
    """Where a NUL character sits in a row's cells (PostgreSQL cannot store one; SQLite
    would, so refusing it keeps the two alike), or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, where) if isinstance(key, str) and "\x00" in key else None
            found = found or _nul_at(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_at(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


NUL_REFUSED = "NUL characters are not allowed"


def read_csv(path: Path, encoding: str, position: list[int]) -> tuple[list[str], Iterator[Row]]:
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding=_codec(encoding), errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise FileError("the file is empty: a header row is needed") from None
    except csv.Error as error:
        raise FileError(f"the header row cannot be read: {error}") from None
    except UnicodeError as error:
        raise FileError(f"the file cannot be read as {encoding}: {error}") from None
    header = [h.strip() for h in header]
    if _bad_cell(dict(enumerate(header))) is not None:  # type: ignore[arg-type]
        raise FileError(
            f"the header is not valid {encoding}; re-save the file as UTF-8 or give its encoding"
        )

    def rows() -> Iterator[Row]:
        try:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    yield Row(reader.line_num, {}, f"the row cannot be read as CSV: {error}")
                    continue
                except UnicodeError as error:
                    # The decoder cannot go on (e.g. UTF-16 without a byte-order mark).
                    yield Row(
                        reader.line_num + 1,
                        {},
                        f"the rest of the file cannot be read as {encoding}: {error}",
                    )
                    return
                position[0] = raw.tell()
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    known = dict(zip(header, cells, strict=False))
                    yield Row(
                        line,
                        {"sku": known["sku"]} if "sku" in known else {},
                        f"the row has {len(cells)} cells, the header {len(header)}",
                    )
                    continue
                row = dict(zip(header, cells, strict=True))
                bad = _bad_cell(row)
                if bad is not None:
                    yield Row(
                        line,
                        {},
                        f"not valid {encoding}: re-save the file as UTF-8 or give its encoding",
                        bad,
                    )
                    continue
                nul = _nul_at(row)
                if nul is not None:
                    yield Row(line, {"sku": row["sku"]} if "sku" in row else {}, NUL_REFUSED, nul)
                    continue
                yield Row(line, row)
        finally:
            raw.close()

    return header, rows()


def read_jsonl(path: Path, encoding: str, position: list[int]) -> Iterator[Row]:
    with path.open("rb") as raw:
        for number, data in enumerate(raw, start=1):
            position[0] += len(data)
            if not data.strip():
                continue
            try:
                text = data.decode(_codec(encoding) if number == 1 else encoding)
            except UnicodeDecodeError as error:
                yield Row(
                    number,
                    {},
                    f"not valid {encoding} at byte {error.start}: re-save the file as UTF-8",
                )
                continue
            try:
                cells = orjson.loads(text)
            except orjson.JSONDecodeError as error:
                yield Row(number, {}, f"not valid JSON: {error}")
                continue
            if not isinstance(cells, dict):
                yield Row(number, {}, "each line must be a JSON object")
                continue
            nul = _nul_at(cells)
            if nul is not None:
                yield Row(number, {}, NUL_REFUSED, nul)
                continue
            yield Row(number, cells)


def read_xlsx(path: Path, position: list[int]) -> tuple[list[str], Iterator[Row]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not XLSX
        raise FileError(f"not a readable XLSX file: {error}") from None
    sheet = book.worksheets[0]
    rows_iter = sheet.iter_rows(values_only=True)
    try:
        header = ["" if h is None else str(h).strip() for h in next(rows_iter)]
    except StopIteration:
        book.close()
        raise FileError("the sheet is empty: a header row is needed") from None

    def cell_text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if hasattr(value, "date") and hasattr(value, "isoformat"):
            return str(value.date().isoformat())
        return str(value)

    def rows() -> Iterator[Row]:
        try:
            for number, values in enumerate(rows_iter, start=2):
                cells = [cell_text(v) for v in values]
                if not any(c.strip() for c in cells):
                    continue
                cells += [""] * (len(header) - len(cells))
                if len(cells) > len(header) and any(cells[len(header) :]):
                    yield Row(number, {}, "the row has cells beyond the header")
                    continue
                yield Row(number, dict(zip(header, cells[: len(header)], strict=True)))
        finally:
            book.close()

    return header, rows()


def _open(
    path: Path, fmt: str, encoding: str, position: list[int]
) -> tuple[list[str] | None, Iterator[Row]]:
    if not path.exists():
        raise FileError(f"{path} does not exist")
    if fmt == "csv":
        return read_csv(path, encoding, position)
    if fmt == "jsonl":
        return None, read_jsonl(path, encoding, position)
    if fmt == "xlsx":
        return read_xlsx(path, position)
    raise FileError(f"unknown format {fmt!r}: use csv, jsonl or xlsx")


def usable_encoding(encoding: str) -> bool:
    """Whether ``encoding`` names a codec that can decode text with surrogate escapes."""
    try:
        b"sku".decode(encoding, errors="surrogateescape")
        "sku".encode(encoding)
    except (LookupError, ValueError, UnicodeError, TypeError):
        return False
    return True


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"ndjson": "jsonl", "json": "jsonl", "tsv": "csv"}.get(suffix, suffix)


# --- products -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueColumn:
    column: str
    attribute: Attribute
    locale: str | None
    channel: str | None


def parse_header(header: list[str], snapshot: CatalogSnapshot) -> dict[str, ValueColumn]:
    """Map attribute columns: code, code-locale, code-channel and code-locale-channel."""
    problems: list[str] = []
    if "sku" not in header:
        problems.append("the header has no 'sku' column")
    seen: set[str] = set()
    columns: dict[str, ValueColumn] = {}
    for name in header:
        if name in seen:
            problems.append(f"column {name!r} appears twice")
            continue
        seen.add(name)
        if name in PRODUCT_FIELDS:
            continue
        code, *scope = name.split("-")
        attribute = snapshot.attributes.get(code)
        if attribute is None or len(scope) > 2:
            problems.append(f"column {name!r} is neither a product field nor an attribute")
            continue
        locale = channel = None
        if len(scope) == 2:
            locale, channel = scope
        elif len(scope) == 1:
            if scope[0] in snapshot.locales:
                locale = scope[0]
            else:
                channel = scope[0]
        if locale is not None and locale not in snapshot.locales:
            problems.append(f"column {name!r}: locale {locale!r} is not enabled")
            continue
        if channel is not None and channel not in snapshot.channels:
            problems.append(f"column {name!r}: {channel!r} is neither a locale nor a channel")
            continue
        columns[name] = ValueColumn(name, attribute, locale, channel)
    if problems:
        raise FileError("; ".join(problems))
    return columns


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def product_from_cells(row: Row, columns: dict[str, ValueColumn]) -> ProductInput:
    """A CSV or XLSX row as a product input; a cell that cannot be read raises InvalidRow."""
    cells = row.cells
    item = ProductInput(sku=cells.get("sku", "").strip(), line=row.line)
    if cells.get("family", "").strip():
        item.family = cells["family"].strip()
    if cells.get("parent", "").strip():
        item.parent = cells["parent"].strip()
    if cells.get("kind", "").strip():
        item.kind = _enum(ProductKind, cells["kind"], "kind")
    if "categories" in cells:
        item.categories = _split(cells["categories"])
    if cells.get("status", "").strip():
        item.status = _enum(Status, cells["status"], "status")
    for name, spec in columns.items():
        text = cells.get(name, "")
        data: Any = None
        if text.strip():
            try:
                data = parse_text_value(spec.attribute, text)
            except InvalidValue as error:
                raise InvalidRow(name, str(error)) from None
        item.values.append(ValueInput(spec.attribute.code, data, spec.locale, spec.channel, name))
    return item


class InvalidRow(Exception):
    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _enum(kind: Any, text: str, column: str) -> Any:
    try:
        return kind(text.strip().lower())
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise InvalidRow(column, f"{text.strip()!r} is not one of {allowed}") from None


_JSON_FIELDS = {*PRODUCT_FIELDS, "values"}


def product_from_json(row: Row) -> ProductInput:
    """A JSON Lines object (the API's product shape plus ``sku``) as a product input."""
    cells = row.cells
    unknown = sorted(set(cells) - _JSON_FIELDS)
    if unknown:
        raise InvalidRow(unknown[0], f"unknown field {unknown[0]!r}")
    sku = cells.get("sku")
    if not isinstance(sku, str):
        raise InvalidRow("sku", "sku must be text")
    item = ProductInput(sku=sku, line=row.line)
    for name in ("family", "parent"):
        value = cells.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidRow(name, f"{name} must be text")
        setattr(item, name, value)
    if cells.get("kind") is not None:
        item.kind = _enum(ProductKind, str(cells["kind"]), "kind")
    if cells.get("status") is not None:
        item.status = _enum(Status, str(cells["status"]), "status")
    if "categories" in cells:
        categories = cells["categories"]
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise InvalidRow("categories", "categories must be a list of codes")
        item.categories = categories
    values = cells.get("values", {})
    if not isinstance(values, dict):
        raise InvalidRow("values", "values must be an object of attribute -> list")
    for code, items in values.items():
        if not isinstance(items, list):
            raise InvalidRow(
                f"values.{code}", "each attribute holds a list of {locale, channel, data}"
            )
        for i, entry in enumerate(items):
            where = f"values.{code}[{i}]"
            if (
                not isinstance(entry, dict)
                or "data" not in entry
                or set(entry) - {"locale", "channel", "data"}
            ):
                raise InvalidRow(where, "a value is {locale, channel, data}")
            locale, channel = entry.get("locale"), entry.get("channel")
            if not (locale is None or isinstance(locale, str)) or not (
                channel is None or isinstance(channel, str)
            ):
                raise InvalidRow(where, "locale and channel are text or null")
            item.values.append(ValueInput(code, entry["data"], locale, channel, where))
    return item


def import_products(
    db: Database,
    path: Path,
    fmt: str,
    actor: str,
    encoding: str = "utf-8",
    batch_size: int | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> ImportReport:
    """Upsert products by SKU from a file, batch by batch; see the module docstring.

    With ``workers`` > 1 the file is split over that many processes by product model: every
    process reads the whole file and takes the rows whose model (a variant's parent, or the
    product itself) hashes to it, so a model and its variants stay in one process and in
    file order. The database serializes their writes; parsing and validation run in parallel.
    """
    source = f"import:{uuid.uuid4().hex[:12]}"
    size = batch_size or get_settings().import_batch_size
    if workers <= 1:
        return _import_shard(db, path, fmt, actor, encoding, size, source, 0, 1, progress)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
        futures = [
            pool.submit(
                _import_shard_in_process,
                db.url,
                path,
                fmt,
                actor,
                encoding,
                size,
                source,
                shard,
                workers,
            )
            for shard in range(1, workers)
        ]
        report = _import_shard(db, path, fmt, actor, encoding, size, source, 0, workers, progress)
        for future in futures:
            other = future.result()
            report.rows += other.rows
            report.created += other.created
            report.updated += other.updated
            report.unchanged += other.unchanged
            report.rejected.extend(other.rejected)
    report.rejected.sort(key=lambda r: r.line or 0)
    return report


def _import_shard_in_process(
    url: str,
    path: Path,
    fmt: str,
    actor: str,
    encoding: str,
    size: int,
    source: str,
    shard: int,
    shards: int,
) -> ImportReport:
    db = Database(url)
    try:
        return _import_shard(db, path, fmt, actor, encoding, size, source, shard, shards, None)
    finally:
        db.dispose()


def _shard_of(row: Row, shards: int) -> int:
    key = row.cells.get("parent") or row.cells.get("sku") or ""
    return zlib.crc32(str(key).encode("utf-8", "surrogateescape")) % shards


def _import_shard(
    db: Database,
    path: Path,
    fmt: str,
    actor: str,
    encoding: str,
    size: int,
    source: str,
    shard: int,
    shards: int,
    progress: Progress | None,
) -> ImportReport:
    report = ImportReport("products")
    position = [0]
    with db.read() as conn:
        snapshot = load_snapshot(conn)
    try:
        header, rows = _open(path, fmt, encoding, position)
        columns = parse_header(header, snapshot) if header is not None else {}
    except FileError as error:
        if shard == 0:
            report.file_errors.append(str(error))
        return report
    batch: list[ProductInput] = []
    seen = 0
    for row in rows:
        seen += 1
        if row.error is not None:
            if shard == 0:  # a row that cannot be read belongs to no model: one shard reports it
                report.rows += 1
                report.rejected.append(
                    Rejection(row.line, _sku_of(row), row.error_column, row.error)
                )
            continue
        if shards > 1 and _shard_of(row, shards) != shard:
            continue
        report.rows += 1
        try:
            item = product_from_json(row) if header is None else product_from_cells(row, columns)
        except InvalidRow as error:
            report.rejected.append(Rejection(row.line, _sku_of(row), error.column, error.reason))
            continue
        batch.append(item)
        if len(batch) >= size:
            report.add(_write_batch(db, snapshot, batch, actor, source))
            batch = []
            if progress:
                progress(seen, position[0])
    if batch:
        report.add(_write_batch(db, snapshot, batch, actor, source))
    if progress:
        progress(seen, position[0])
    report.rejected.sort(key=lambda r: r.line or 0)
    return report


def _sku_of(row: Row) -> str | None:
    sku = row.cells.get("sku")
    return sku if isinstance(sku, str) else None


def _write_batch(
    db: Database, snapshot: CatalogSnapshot, batch: list[ProductInput], actor: str, source: str
) -> SaveResult:
    """Validate outside the write lock, then write in a short transaction.

    If a product changed in between (another process of this import, or any other writer),
    the batch is redone inside one transaction, and if the database still refuses it, row by
    row, so one bad row costs only itself.
    """
    try:
        with db.read() as conn:
            kept, repeats = _drop_repeats(conn, batch, source)
            prepared = prepare_batch(conn, snapshot, kept)
        with db.transaction() as conn:
            result = write_prepared(conn, snapshot, prepared, actor, source)
            result.rejected.extend(repeats)
            return result
    except (DBAPIError, ChannelhubError):
        pass
    try:
        with db.transaction() as conn:
            kept, repeats = _drop_repeats(conn, batch, source)
            result = save_batch(conn, snapshot, kept, actor, source)
            result.rejected.extend(repeats)
            return result
    except (DBAPIError, ChannelhubError):
        pass
    result = SaveResult()
    for item in batch:
        try:
            with db.transaction() as conn:
                kept, repeats = _drop_repeats(conn, [item], source)
                result.extend(save_batch(conn, snapshot, kept, actor, source))
                result.rejected.extend(repeats)
        except (DBAPIError, ChannelhubError) as error:
            reason = (
                error.detail
                if isinstance(error, ChannelhubError)
                else f"the database refused the product: {error.orig or error}"
            )
            result.rejected.append(Rejection(item.line, item.sku, None, reason))
    return result


def _drop_repeats(
    conn: Connection, batch: list[ProductInput], source: str
) -> tuple[list[ProductInput], list[Rejection]]:
    """Rows whose SKU an earlier batch of this same import already wrote are duplicates.

    Each product records the write that last changed it, so asking the products table keeps
    memory flat: no set of every SKU seen is held.
    """
    skus = [i.sku for i in batch]
    written = set(
        conn.execute(
            select(store.products.c.sku).where(
                store.products.c.sku.in_(skus), store.products.c.source == source
            )
        ).scalars()
    )
    if not written:
        return batch, []
    kept: list[ProductInput] = []
    repeats: list[Rejection] = []
    for item in batch:
        if item.sku in written:
            repeats.append(
                Rejection(item.line, item.sku, "sku", "SKU appears earlier in this file")
            )
        else:
            kept.append(item)
    return kept, repeats


# --- attributes, families, categories -----------------------------------------------------


def _labels(cells: dict[str, Any]) -> dict[str, str]:
    labels = cells.get("labels")
    if isinstance(labels, dict):
        return {str(k): str(v) for k, v in labels.items()}
    return {k[len("label-") :]: str(v) for k, v in cells.items() if k.startswith("label-") and v}


def _list(cells: dict[str, Any], name: str) -> list[str]:
    value = cells.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        if not all(isinstance(x, str) for x in value):
            raise InvalidRow(name, f"{name} must be a list of texts")
        return value
    if isinstance(value, str):
        return _split(value)
    raise InvalidRow(name, f"{name} must be a list")


def _flag(cells: dict[str, Any], name: str) -> bool:
    value = cells.get(name, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "0", "false", "no", "n"):
        return False
    if text in ("1", "true", "yes", "y"):
        return True
    raise InvalidRow(name, f"{value!r} is not true or false")


def _text(cells: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = cells.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRow(name, f"{name} is required")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidRow(name, f"{name} must be text")
    return str(value).strip()


def _attribute(cells: dict[str, Any]) -> Callable[[Database], object]:
    code = _text(cells, "code", required=True) or ""
    kind = _enum(AttributeType, _text(cells, "type", required=True) or "", "type")
    max_length_text = _text(cells, "max_length")
    try:
        max_length = int(max_length_text) if max_length_text is not None else None
    except ValueError:
        raise InvalidRow("max_length", f"{max_length_text!r} is not a whole number") from None
    identifier = _text(cells, "identifier_kind")
    attribute = Attribute(
        code=code,
        type=kind,
        localizable=_flag(cells, "localizable"),
        scopable=_flag(cells, "scopable"),
        labels=_labels(cells),
        options=tuple(_list(cells, "options")),
        max_length=max_length,
        units=tuple(_list(cells, "units")),
        identifier_kind=_enum(IdentifierKind, identifier, "identifier_kind")
        if identifier
        else None,
    )
    return lambda db: service.save_attribute(db, attribute)


def _family(cells: dict[str, Any]) -> Callable[[Database], object]:
    family = Family(
        code=_text(cells, "code", required=True) or "",
        attributes=tuple(_list(cells, "attributes")),
        required=tuple(_list(cells, "required")),
        variant_axes=tuple(_list(cells, "variant_axes")),
        labels=_labels(cells),
    )
    return lambda db: service.save_family(db, family)


def _category(cells: dict[str, Any]) -> Callable[[Database], object]:
    code = _text(cells, "code", required=True) or ""
    parent = _text(cells, "parent")
    labels = _labels(cells)
    return lambda db: service.save_category(db, code, parent, labels)


_REFERENCE = {
    "attributes": (
        _attribute,
        {
            "code",
            "type",
            "localizable",
            "scopable",
            "labels",
            "options",
            "max_length",
            "units",
            "identifier_kind",
        },
    ),
    "families": (_family, {"code", "attributes", "required", "variant_axes", "labels"}),
    "categories": (_category, {"code", "parent", "labels"}),
}


def import_reference(
    db: Database,
    kind: str,
    path: Path,
    fmt: str,
    encoding: str = "utf-8",
    progress: Progress | None = None,
) -> ImportReport:
    """Import attributes, families or categories, one transaction per row.

    Categories may name a parent that comes later in the file: rows waiting for a parent are
    tried again until no more can be placed.
    """
    report = ImportReport(kind)
    parse, allowed = _REFERENCE[kind]
    position = [0]
    try:
        header, rows = _open(path, fmt, encoding, position)
    except FileError as error:
        report.file_errors.append(str(error))
        return report
    if header is not None:
        stray = [h for h in header if h not in allowed and not h.startswith("label-")]
        if "code" not in header:
            stray.insert(0, "(no 'code' column)")
        if stray:
            report.file_errors.append(f"unknown columns: {', '.join(stray)}")
            return report
    waiting: list[tuple[Row, Callable[[Database], object]]] = []
    for row in rows:
        report.rows += 1
        if row.error is not None:
            report.rejected.append(Rejection(row.line, None, row.error_column, row.error))
            continue
        if header is None:
            stray = sorted(set(row.cells) - allowed)
            if stray:
                report.rejected.append(
                    Rejection(row.line, None, stray[0], f"unknown field {stray[0]!r}")
                )
                continue
        try:
            waiting.append((row, parse(row.cells)))
        except InvalidRow as error:
            report.rejected.append(Rejection(row.line, _code_of(row), error.column, error.reason))
        if progress and report.rows % 100 == 0:
            progress(report.rows, position[0])
    while waiting:
        failed: list[tuple[Row, Callable[[Database], object], ChannelhubError]] = []
        for row, save in waiting:
            try:
                save(db)
                report.created += 1
            except ChannelhubError as error:
                failed.append((row, save, error))
            except DBAPIError as error:
                refusal = ChannelhubError(f"the database refused the row: {error.orig or error}")
                failed.append((row, save, refusal))
        if len(failed) == len(waiting) or kind != "categories":
            for row, _save, refusal in failed:
                problems = "; ".join(f"{p.location}: {p.message}" for p in refusal.problems)
                reason = f"{refusal.detail} ({problems})" if problems else refusal.detail
                report.rejected.append(Rejection(row.line, _code_of(row), None, reason))
            break
        waiting = [(row, save) for row, save, _error in failed]
    if progress:
        progress(report.rows, position[0])
    report.rejected.sort(key=lambda r: r.line or 0)
    return report


def _code_of(row: Row) -> str | None:
    code = row.cells.get("code")
    return code if isinstance(code, str) else None


def import_file(
    db: Database,
    kind: str,
    path: Path,
    fmt: str | None,
    actor: str,
    encoding: str = "utf-8",
    progress: Progress | None = None,
    workers: int = 1,
) -> ImportReport:
    """Import any kind of catalog file; the format is guessed from the extension if not given.

    ``workers`` > 1 imports products in that many processes (see ``import_products``).
    """
    fmt = fmt or guess_format(path)
    if not usable_encoding(encoding):
        return ImportReport(kind, file_errors=[f"{encoding!r} is not a text encoding we can read"])
    if kind == "products":
        return import_products(db, path, fmt, actor, encoding, progress=progress, workers=workers)
    if kind in _REFERENCE:
        return import_reference(db, kind, path, fmt, encoding, progress=progress)
    return ImportReport(
        kind,
        file_errors=[f"cannot import {kind!r}: use products, attributes, families or categories"],
    )
