"""Benchmark: import N generated products through the hub's import path, completeness included.

Builds a catalog (2 locales, 3 channels with the bol, google_merchant and a webshop rule set,
about 12 attributes), writes a deterministic CSV of N products (a third of them variants of
product models), imports it with ``channelhub.catalog.importing.import_file`` (the code
behind ``channelhub import products``), then inserts the same product rows with a plain
``sqlite3.executemany`` into an empty table of the same shape, in the same run, as the raw
limit. Prints one JSON object as its last line.

    python bench/catalog_import.py --products 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson
from stdnum import ean

from channelhub.catalog import importing, service
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    IdentifierKind,
    Requirement,
    RuleKind,
)
from channelhub.core.database import Database
from channelhub.core.migrate import upgrade

COLUMNS = [
    "sku",
    "kind",
    "family",
    "parent",
    "categories",
    "status",
    "name-en_US",
    "name-nl_NL",
    "description-en_US",
    "description-nl_NL",
    "brand",
    "gtin",
    "images",
    "color",
    "size",
    "material-en_US",
    "material-nl_NL",
    "weight",
    "organic",
]
COLORS = ("black", "white", "navy", "red", "green")
SIZES = ("xs", "s", "m", "l", "xl")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gtin(n: int) -> str:
    body = f"87{n:010d}"
    return body + ean.calc_check_digit(body)


def setup_catalog(db: Database) -> None:
    service.add_locale(db, "en_US")
    service.add_locale(db, "nl_NL")
    for code, kind, locales in (
        ("webshop", ChannelKind.WEBSHOP, ("en_US", "nl_NL")),
        ("bol", ChannelKind.MARKETPLACE, ("nl_NL",)),
        ("google", ChannelKind.FEED, ("en_US",)),
    ):
        service.save_channel(
            db, service.ChannelInput(code, code, kind, ChannelMode.INTEGRATED, locales, "EUR")
        )
    for attribute in (
        Attribute("name", AttributeType.TEXT, localizable=True),
        Attribute("description", AttributeType.TEXTAREA, localizable=True),
        Attribute("brand", AttributeType.TEXT),
        Attribute("gtin", AttributeType.IDENTIFIER, identifier_kind=IdentifierKind.GTIN),
        Attribute("images", AttributeType.MEDIA),
        Attribute("color", AttributeType.SELECT, options=COLORS),
        Attribute("size", AttributeType.SELECT, options=SIZES),
        Attribute("material", AttributeType.TEXT, localizable=True),
        Attribute("weight", AttributeType.MEASUREMENT, units=("GRAM", "KILOGRAM")),
        Attribute("organic", AttributeType.BOOLEAN),
        Attribute("features", AttributeType.MULTISELECT, options=("waterproof", "recycled")),
        Attribute("released", AttributeType.DATE),
    ):
        service.save_attribute(db, attribute)
    codes = (
        "name",
        "description",
        "brand",
        "gtin",
        "images",
        "color",
        "size",
        "material",
        "weight",
        "organic",
        "features",
        "released",
    )
    service.save_family(
        db, Family("clothing", codes, required=("name",), variant_axes=("color", "size"))
    )
    service.save_family(db, Family("home", codes, required=("name",)))
    service.save_category(db, "catalog", None)
    service.save_category(db, "clothing", "catalog")
    service.save_category(db, "home", "catalog")
    service.apply_preset(db, "bol", "bol")
    service.apply_preset(db, "google", "google_merchant")
    service.add_requirements(
        db,
        "webshop",
        [
            Requirement("name", RuleKind.MAX_LENGTH, 120),
            Requirement("description", RuleKind.REQUIRED),
            Requirement("images", RuleKind.MIN_ITEMS, 1),
        ],
    )


def rows(n: int):  # type: ignore[no-untyped-def]
    """Groups of six: one model with two variants, and three simple products."""
    made = 0
    group = 0
    while made < n:
        g = group
        group += 1
        name = f"Product {g}"
        model = f"M{g:08d}"
        base = {
            "name-en_US": f"{name} organic cotton tee",
            "name-nl_NL": f"{name} T-shirt van biologisch katoen",
            "description-en_US": f"A soft tee ({g}), made to last." if g % 7 else "",
            "description-nl_NL": f"Een zacht T-shirt ({g}).",
            "brand": "Nordwear" if g % 5 else "",
            "images": f"https://cdn.example.com/{g}/1.jpg,https://cdn.example.com/{g}/2.jpg",
            "material-en_US": "cotton",
            "material-nl_NL": "katoen",
            "weight": "180 GRAM",
            "organic": "true",
        }
        yield {
            "sku": model,
            "kind": "model",
            "family": "clothing",
            "categories": "clothing",
            "status": "approved",
        } | base
        made += 1
        for v in range(2):
            if made >= n:
                return
            yield {
                "sku": f"{model}-{v}",
                "parent": model,
                "color": COLORS[(g + v) % 5],
                "size": SIZES[v],
                "gtin": gtin(made),
            }
            made += 1
        for s in range(3):
            if made >= n:
                return
            yield {
                "sku": f"S{g:08d}-{s}",
                "kind": "simple",
                "family": "home",
                "categories": "home",
                "status": "approved",
                "gtin": gtin(made),
                "color": COLORS[s],
            } | base
            made += 1


def write_file(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.DictWriter(sink, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows(n):
            writer.writerow({c: row.get(c, "") for c in COLUMNS})


def raw_insert_rate(path: Path, folder: Path, batch: int) -> float:
    """Rows/s of a plain executemany of the same product rows (values as JSON text)."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE NOT NULL, kind TEXT,"
        ' parent TEXT, family TEXT, status TEXT, "values" TEXT, search_text TEXT)'
    )
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        prepared = []
        for row in reader:
            values = {
                k: v
                for k, v in row.items()
                if "-" in k
                or k in ("brand", "gtin", "images", "color", "size", "weight", "organic")
            }
            prepared.append(
                (
                    row["sku"],
                    row["kind"],
                    row["parent"],
                    row["family"],
                    row["status"],
                    orjson.dumps(values).decode(),
                    row["sku"].lower(),
                )
            )
    started = time.perf_counter()
    for i in range(0, len(prepared), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            'INSERT INTO products (sku, kind, parent, family, status, "values", search_text)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            prepared[i : i + batch],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(prepared) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--workers", type=int, default=2, help="import processes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="chbench-"))
    url = args.database_url or f"sqlite:///{folder / 'hub.db'}"
    os.environ["CHANNELHUB_IMPORT_BATCH_SIZE"] = str(args.batch_size)
    db = Database(url)
    upgrade(db)
    setup_catalog(db)
    source = folder / "products.csv"
    write_file(source, args.products)
    rss_before = peak_rss_mb()

    started = time.perf_counter()
    report = importing.import_file(
        db, "products", source, "csv", actor="bench", workers=args.workers
    )
    elapsed = time.perf_counter() - started
    rss_after = peak_rss_mb()
    with db.read() as conn:
        gaps = conn.exec_driver_sql("SELECT count(*) FROM product_gaps").scalar()
        stored = conn.exec_driver_sql("SELECT count(*) FROM products").scalar()
    db.dispose()
    if report.file_errors or report.rejected:
        print(f"import problems: {report.file_errors or report.rejected[:5]}", file=sys.stderr)

    raw = raw_insert_rate(source, folder, args.batch_size) if url.startswith("sqlite") else None
    rate = report.created / elapsed
    result = {
        "benchmark": "catalog_import",
        "database": url.split(":", 1)[0],
        "products": args.products,
        "workers": args.workers,
        "created": report.created,
        "rejected": len(report.rejected),
        "stored_products": stored,
        "incomplete_channel_locales": gaps,
        "seconds": round(elapsed, 2),
        "products_per_s": round(rate),
        "raw_executemany_rows_per_s": round(raw) if raw else None,
        "ratio_to_raw": round(rate / raw, 3) if raw else None,
        "peak_rss_mb_before_import": round(rss_before, 1),
        "peak_rss_mb_after_import": round(rss_after, 1),
        "file_mb": round(source.stat().st_size / 1e6, 1),
    }
    if not args.keep:
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
