"""Google Merchant Center feeds (XML and TSV) for a large catalog, through the hub's real code.

Seeds N products (default 1,000,000) with values in two locales (en_US, nl_NL), a price each
on the Google channel and stock in a warehouse, straight into the store with driver-level
executemany. Then, at two sizes (N/10 and N, to show memory stays flat), publishes an XML
feed (en_US) and a TSV feed (nl_NL) with ``channelhub.feeds.service.publish`` (the code the
API and the CLI run: chunked reads, price resolution, ATP, validation, hashing, file), each in
a child process whose peak RSS is measured. In the same run it measures the raw rate of
writing the same items as escaped XML strings to a file (no database, no validation), and the
ratio. Finally it changes 1% of the products and times a delta version.

    python bench/feed_generation.py                     # SQLite, 1,000,000 products
    python bench/feed_generation.py --products 100000
    python bench/feed_generation.py --products 200000 --database-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import select, text

from channelhub.catalog import service as catalog
from channelhub.catalog import store as catalog_store
from channelhub.catalog.model import (
    Attribute,
    AttributeType,
    ChannelKind,
    ChannelMode,
    Family,
    IdentifierKind,
    is_valid_gtin,
)
from channelhub.core.bulk import BulkInsert
from channelhub.core.database import Database
from channelhub.core.migrate import upgrade
from channelhub.feeds import service as feeds
from channelhub.feeds.model import FeedFormat, FeedKind, VersionKind
from channelhub.feeds.writers import escape_xml
from channelhub.inventory import service as inventory
from channelhub.inventory import store as inventory_store
from channelhub.inventory.model import Address, LocationKind
from channelhub.inventory.service import ChannelLink, LocationInput
from channelhub.pricing import service as pricing
from channelhub.pricing import store as pricing_store

BATCH = 20_000
LINK = "https://shop.example.com/{language}/p/{sku}"


def gtin_of(n: int) -> str:
    body = f"871{n:09d}"
    for digit in "0123456789":
        if is_valid_gtin(body + digit):
            return body + digit
    raise AssertionError(body)


def values_of(n: int) -> dict[str, dict[str, Any]]:
    """Product n's stored values (the catalog's format: attribute -> scope -> data)."""
    return {
        "name": {
            "*|en_US": f"Stoneware mug {n} & saucer",
            "*|nl_NL": f"Stenen mok {n} met schotel",
        },
        "description": {
            "*|en_US": f"A hand-glazed stoneware mug <{n % 97}> holding 350 ml. Dishwasher safe.",
            "*|nl_NL": f"Een geglazuurde stenen mok <{n % 97}> van 350 ml. Vaatwasserbestendig.",
        },
        "brand": {"*|*": "Hearth & Co"},
        "gtin": {"*|*": gtin_of(n)},
        "images": {
            "*|*": [f"https://cdn.example.com/p/{n}/1.jpg", f"https://cdn.example.com/p/{n}/2.jpg"]
        },
        "color": {"*|*": ("black", "white", "red")[n % 3]},
    }


def setup(db: Database) -> None:
    upgrade(db)
    catalog.add_locale(db, "en_US")
    catalog.add_locale(db, "nl_NL")
    catalog.save_channel(
        db,
        catalog.ChannelInput(
            "google", "Google", ChannelKind.FEED, ChannelMode.INTEGRATED, ("en_US", "nl_NL"), "EUR"
        ),
    )
    for attribute in (
        Attribute("name", AttributeType.TEXT, localizable=True),
        Attribute("description", AttributeType.TEXTAREA, localizable=True),
        Attribute("brand", AttributeType.TEXT),
        Attribute("gtin", AttributeType.IDENTIFIER, identifier_kind=IdentifierKind.GTIN),
        Attribute("images", AttributeType.MEDIA),
        Attribute("color", AttributeType.SELECT, options=("black", "white", "red")),
    ):
        catalog.save_attribute(db, attribute)
    catalog.save_family(
        db, Family("mugs", ("name", "description", "brand", "gtin", "images", "color"))
    )
    catalog.save_category(db, "home", None)
    catalog.save_category(db, "kitchen", "home")
    inventory.save_location(
        db,
        LocationInput(
            "wh", "Warehouse", LocationKind.WAREHOUSE, Address("Dam 1", "Amsterdam", "1012", "NL")
        ),
    )
    inventory.link_channel(db, "google", [ChannelLink("wh")])
    pricing.save_price_list(db, "google_eur", "google")
    for code, feed_format, locale in (
        ("gxml", FeedFormat.XML, "en_US"),
        ("gtsv", FeedFormat.TSV, "nl_NL"),
    ):
        feeds.create_feed(
            db,
            feeds.FeedInput(
                code,
                f"Google {locale}",
                FeedKind.GOOGLE_PRODUCTS,
                feed_format,
                "google",
                locale,
                {
                    "link_template": LINK,
                    "values": {"color": {"black": "Black", "white": "White", "red": "Red"}},
                },
            ),
        )


def seed(db: Database, start: int, stop: int) -> float:
    """Products start..stop-1 with prices, stock and a category; returns seconds taken."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    with db.read() as conn:
        family_id = conn.execute(select(catalog_store.families.c.id)).scalar_one()
        category_id = conn.execute(
            select(catalog_store.categories.c.id).where(
                catalog_store.categories.c.code == "kitchen"
            )
        ).scalar_one()
        list_id = conn.execute(select(pricing_store.price_lists.c.id)).scalar_one()
        location_id = conn.execute(select(inventory_store.locations.c.id)).scalar_one()
    for low in range(start, stop, BATCH):
        high = min(stop, low + BATCH)
        with db.transaction() as conn:
            products = BulkInsert(
                conn,
                catalog_store.products,
                [
                    "id",
                    "sku",
                    "kind",
                    "parent_id",
                    "family_id",
                    "status",
                    "values",
                    "search_text",
                    "completeness",
                    "version",
                    "created_at",
                    "created_by",
                    "updated_at",
                    "source",
                ],
            )
            products.run(
                [
                    (
                        n,
                        f"SKU-{n:08d}",
                        "simple",
                        None,
                        family_id,
                        "approved",
                        values_of(n),
                        f"sku-{n:08d}",
                        {},
                        1,
                        now,
                        "bench",
                        now,
                        "bench",
                    )
                    for n in range(low + 1, high + 1)
                ]
            )
            BulkInsert(conn, catalog_store.product_categories, ["product_id", "category_id"]).run(
                [(n, category_id) for n in range(low + 1, high + 1)]
            )
            BulkInsert(
                conn,
                pricing_store.prices,
                ["price_list_id", "sku", "base_minor", "sale_minor", "updated_at"],
            ).run(
                [
                    (
                        list_id,
                        f"SKU-{n:08d}",
                        995 + n % 5000,
                        (895 + n % 4000) if n % 10 == 0 else None,
                        now,
                    )
                    for n in range(low + 1, high + 1)
                ]
            )
            BulkInsert(
                conn,
                inventory_store.stock_levels,
                ["sku", "location_id", "pool", "on_hand", "reserved", "safety", "updated_at"],
            ).run(
                [
                    (f"SKU-{n:08d}", location_id, "", n % 7, 0, 0, now)
                    for n in range(low + 1, high + 1)
                ]
            )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return time.perf_counter() - began


def _raw_fields(n: int) -> tuple[tuple[str, str], ...]:
    values = values_of(n)
    sku = f"SKU-{n:08d}"
    images = values["images"]["*|*"]
    return (
        ("id", sku),
        ("title", values["name"]["*|en_US"]),
        ("description", values["description"]["*|en_US"]),
        ("link", f"https://shop.example.com/en/p/{sku}"),
        ("image_link", images[0]),
        ("additional_image_link", images[1]),
        ("availability", "in_stock" if n % 7 else "out_of_stock"),
        ("price", f"{(995 + n % 5000) / 100:.2f} EUR"),
        ("brand", values["brand"]["*|*"]),
        ("gtin", values["gtin"]["*|*"]),
        ("condition", "new"),
        ("product_type", "home > kitchen"),
        ("color", values["color"]["*|*"].title()),
    )


def raw_rate(count: int, path: Path) -> tuple[float, float]:
    """Items/s (wall clock, CPU time) of writing the same items as escaped XML strings to a
    file: the raw limit.

    The items' values are prepared batch by batch outside the timed part; only escaping,
    formatting, encoding and writing are timed.
    """
    timed = cpu = 0.0
    with path.open("wb") as out:
        out.write(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n'
        )
        for low in range(1, count + 1, BATCH):
            batch = [_raw_fields(n) for n in range(low, min(count, low + BATCH - 1) + 1)]
            began, cpu_began = time.perf_counter(), time.process_time()
            parts = [
                (
                    "<item>\n"
                    + "".join(f"<g:{k}>{escape_xml(v)}</g:{k}>\n" for k, v in fields)
                    + "</item>\n"
                ).encode()
                for fields in batch
            ]
            out.write(b"".join(parts))
            timed += time.perf_counter() - began
            cpu += time.process_time() - cpu_began
        out.write(b"</channel>\n</rss>\n")
    return count / timed, count / cpu


def _child(url: str, code: str, kind: str, directory: str, cache: bool, queue: Any) -> None:
    db = Database(url)
    began, cpu = time.perf_counter(), time.process_time()
    publication = feeds.publish_measured(db, code, VersionKind(kind), Path(directory), cache=cache)
    version = publication.version
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        {
            "items": version.items,
            "rejected": version.rejected,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "peak_rss_mb": round(rss_mb, 1),
            "bytes": version.size,
            "cached": publication.cached,
            "rendered": publication.rendered,
        }
    )
    db.dispose()


def publish_in_child(
    url: str, code: str, kind: VersionKind, directory: Path, cache: bool = False
) -> dict[str, Any]:
    """Publish in a fresh process, so its peak RSS is the generation's alone. ``cache=False``
    (the default here) is a cold build: every item built from the catalog."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_child, args=(url, code, kind.value, str(directory), cache, queue)
    )
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def change_one_percent(db: Database, count: int, offset: int = 0) -> int:
    """Rename every 100th product (a catalog write: new values, new updated_at)."""
    now = datetime.now(UTC)
    ids = list(range(1 + offset, count + 1, 100))
    with db.transaction() as conn:
        for low in range(0, len(ids), BATCH):
            rows = []
            for n in ids[low : low + BATCH]:
                values = values_of(n)
                values["name"]["*|en_US"] = f"Renamed mug {n}"
                values["name"]["*|nl_NL"] = f"Hernoemde mok {n}"
                rows.append({"v": values, "t": now, "i": n})
            conn.execute(
                text(
                    'UPDATE products SET "values" = :v, updated_at = :t WHERE id = :i'
                ).bindparams(),
                [{"v": json.dumps(r["v"]), "t": r["t"], "i": r["i"]} for r in rows],
            )
    return len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="the database already holds this benchmark's --products products (a run before)",
    )
    parser.add_argument(
        "--xml-only",
        action="store_true",
        help="only the XML feed at N: no N/10 size, no TSV feed, no second cold full",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feedbench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    db = Database(url)
    if not args.seeded:
        setup(db)
    sizes = sorted({max(1, args.products // 10), args.products})
    if args.xml_only:
        sizes = [args.products]
    results: dict[str, Any] = {
        "products": args.products,
        "locales": 2,
        "database": db.engine.dialect.name,
    }
    seeded = args.products if args.seeded else 0
    for size in sizes:
        if size > seeded:
            seconds = seed(db, seeded, size)
            print(f"seeded {size - seeded:,} products in {seconds:.1f}s", flush=True)
            seeded = size
        runs = {}
        for code in ("gxml",) if args.xml_only else ("gxml", "gtsv"):
            run = publish_in_child(url, code, VersionKind.FULL, workdir / "out")
            run["items_per_s"] = round(run["items"] / run["seconds"])
            run["cpu_items_per_s"] = round(run["items"] / run["cpu_seconds"])
            runs[code] = run
            print(
                f"{size:>9,} products  {code} COLD (no item cache): "
                f"{run['items']:,} items in {run['seconds']:.2f}s = "
                f"{run['items_per_s']:,} items/s ({run['cpu_items_per_s']:,}/s of CPU), "
                f"peak RSS {run['peak_rss_mb']} MB",
                flush=True,
            )
        results[f"n{size}"] = runs
    # Steady state: a second cold full publication, when every hash is already stored.
    steady = (
        dict(results[f"n{args.products}"]["gxml"])
        if args.xml_only
        else publish_in_child(url, "gxml", VersionKind.FULL, workdir / "out")
    )
    steady["items_per_s"] = round(steady["items"] / steady["seconds"])
    steady["cpu_items_per_s"] = round(steady["items"] / steady["cpu_seconds"])
    print(
        f"second full gxml COLD (no item cache, hashes stored): {steady['items_per_s']:,} "
        f"items/s ({steady['cpu_items_per_s']:,}/s of CPU)",
        flush=True,
    )
    raw, raw_cpu = raw_rate(args.products, workdir / "raw.xml")
    print(f"raw escaped-XML writing: {raw:,.0f} items/s ({raw_cpu:,.0f}/s of CPU)", flush=True)
    changed = change_one_percent(db, args.products)
    delta = publish_in_child(url, "gxml", VersionKind.DELTA, workdir / "out")
    print(
        f"delta after changing {changed:,} products: "
        f"{delta['items']:,} items in {delta['seconds']:.2f}s",
        flush=True,
    )
    # The regular publication: a full version with the item cache warm, after the 1% change
    # (the delta above does not re-render for the full version: its items are cached then).
    change_one_percent(db, args.products, offset=50)
    warm = publish_in_child(url, "gxml", VersionKind.FULL, workdir / "out", cache=True)
    warm["items_per_s"] = round(warm["items"] / warm["seconds"])
    warm["cpu_items_per_s"] = round(warm["items"] / warm["cpu_seconds"])
    warm["rendered_share"] = round(warm["rendered"] / max(1, warm["items"]), 4)
    print(
        f"full gxml WARM (item cache, after changing {changed:,} more products): "
        f"{warm['items']:,} items in {warm['seconds']:.2f}s = {warm['items_per_s']:,} items/s "
        f"({warm['cpu_items_per_s']:,}/s of CPU), {warm['rendered']:,} re-rendered "
        f"({warm['rendered_share']:.2%}), peak RSS {warm['peak_rss_mb']} MB",
        flush=True,
    )
    xml = results[f"n{args.products}"]["gxml"]
    tsv = results[f"n{args.products}"].get("gtsv", {"items_per_s": None})
    small = results[f"n{sizes[0]}"]["gxml"]
    summary = {
        **results,
        "cold_xml_items_per_s": xml["items_per_s"],
        "cold_tsv_items_per_s": tsv["items_per_s"],
        "cold_xml_second_full_items_per_s": steady["items_per_s"],
        "raw_xml_items_per_s": round(raw),
        "cold_ratio": round(xml["items_per_s"] / raw, 3),
        "cold_ratio_second_full": round(steady["items_per_s"] / raw, 3),
        "cold_xml_cpu_items_per_s": xml["cpu_items_per_s"],
        "raw_xml_cpu_items_per_s": round(raw_cpu),
        "cold_cpu_ratio": round(xml["cpu_items_per_s"] / raw_cpu, 3),
        "peak_rss_mb_small": small["peak_rss_mb"],
        "peak_rss_mb_large": xml["peak_rss_mb"],
        "delta_changed_products": changed,
        "delta_items": delta["items"],
        "delta_s": round(delta["seconds"], 3),
        "delta_cpu_s": round(delta["cpu_seconds"], 3),
        "warm_xml_items_per_s": warm["items_per_s"],
        "warm_ratio": round(warm["items_per_s"] / raw, 3),
        "warm_rendered": warm["rendered"],
        "warm_rendered_share": warm["rendered_share"],
        "warm_peak_rss_mb": warm["peak_rss_mb"],
    }
    db.dispose()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
