"""The files connector on a local folder and on a real SFTP server, on both databases:
outbound files written atomically through the engine, inbound orders, stock counts and
shipment confirmations applied whole or not at all, bad files moved aside with the reason."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import Any

import asyncssh
import orjson
import pytest
from pydantic import ValidationError

from channelhub.automation import service as automation
from channelhub.automation.file_inbox import FileResult, process_all
from channelhub.connectors.files import FilesConfig
from channelhub.core.database import Database
from channelhub.inventory.service import stock_levels
from channelhub.orders.model import OrderStatus
from channelhub.orders.service import find_order, list_orders
from channelhub.sync.connections import ConnectionInput, save_connection
from channelhub.sync.model import JobKind
from channelhub.sync.operations import check_connection
from tests.automation.conftest import settle
from tests.connectors.conftest import dead_letters
from tests.connectors.files.conftest import SFTP_PASSWORD, SFTP_USER, SftpServer
from tests.inventory.factories import stock
from tests.sync.conftest import drain

NAME = re.compile(r"^stock-\d{8}T\d{12}Z-[0-9a-f]{8}\.(csv|json)$")
ORDERS_CSV = (
    "order_id,created_at,currency,line_id,sku,quantity,unit_price,customer_email\n"
    "ERP-1,2026-11-20T10:00:00+00:00,EUR,1,MUG-1,2,9.95,ann@example.com\n"
    "ERP-1,2026-11-20T10:00:00+00:00,EUR,2,MUG-2,1,12.50,ann@example.com\n"
    "ERP-2,2026-11-20T11:00:00+00:00,EUR,1,MUG-3,1,7.00,bob@example.com\n"
)


def connect(db: Database, code: str, config: dict[str, Any]) -> None:
    save_connection(
        db,
        ConnectionInput(
            code=code,
            platform="files",
            channel="web",
            config=config,
            subscriptions=(JobKind.STOCK, JobKind.LISTINGS),
        ),
    )


def pick_up(db: Database) -> list[FileResult]:
    return asyncio.run(process_all(db))


def on_hand(db: Database, sku: str, location: str = "wh") -> int:
    return sum(s.on_hand for s in stock_levels(db, sku=sku, location=location))


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_stock_and_listings_files_are_written_atomically_through_the_engine(
    world: Database, tmp_path: Path, deliveries: str
) -> None:
    connect(world, "erp", {"root": str(tmp_path)})
    stock(world, "wh", MUG_1=7, MUG_2=3)
    drain(world)
    outgoing = tmp_path / "outgoing"
    names = sorted(p.name for p in outgoing.iterdir())
    assert not [n for n in names if n.startswith(".")]  # no temporary file left behind
    stock_files = [n for n in names if n.startswith("stock-")]
    assert stock_files and all(NAME.match(n) for n in stock_files)
    rows = [r for n in stock_files for r in read_csv(outgoing / n)]
    assert sorted((r["sku"], int(r["quantity"])) for r in rows) == [("MUG-1", 7), ("MUG-2", 3)]
    listings = [r for n in names if n.startswith("listings-") for r in read_csv(outgoing / n)]
    assert sorted(r["sku"] for r in listings) == ["MUG-1", "MUG-2", "MUG-3"]  # each once
    assert dead_letters(world) == []


def test_json_format(world: Database, tmp_path: Path) -> None:
    connect(world, "erp", {"root": str(tmp_path), "format": "json"})
    stock(world, "wh", MUG_3=2)
    drain(world)
    (name,) = [p for p in (tmp_path / "outgoing").iterdir() if p.name.startswith("stock-")]
    assert name.suffix == ".json"
    assert orjson.loads(name.read_bytes()) == {
        "topic": "stock",
        "items": [{"sku": "MUG-3", "quantity": 2}],
    }


def test_inbound_orders_counts_and_shipments(world: Database, tmp_path: Path) -> None:
    connect(world, "erp", {"root": str(tmp_path)})
    stock(world, "wh", MUG_1=5, MUG_2=5, MUG_3=5)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "orders-1.csv").write_text(ORDERS_CSV)
    (incoming / "notes.txt").write_text("not ours: left alone")
    results = pick_up(world)
    assert [(r.name, r.outcome, r.records) for r in results] == [("orders-1.csv", "processed", 2)]
    first = find_order(world, "web", "ERP-1")
    assert [(line.sku, line.quantity) for line in first.lines] == [("MUG-1", 2), ("MUG-2", 1)]
    assert (tmp_path / "processed" / "orders-1.csv").exists()
    assert (incoming / "notes.txt").exists()
    # The same file again: recognised, nothing imported twice.
    (incoming / "orders-1.csv").write_text(ORDERS_CSV)
    assert [r.outcome for r in pick_up(world)] == ["skipped"]
    assert len(list_orders(world, channel="web")[0]) == 2
    # Absolute counts per location from the ERP.
    counts = {"items": [{"sku": "MUG-1", "location": "wh", "quantity": 40}]}
    (incoming / "stock-2.json").write_bytes(orjson.dumps(counts))
    (incoming / "shipments-3.csv").write_text("order_id,carrier,tracking\nERP-1,postnl,3SABC123\n")
    results = pick_up(world)
    assert [(r.name, r.outcome) for r in results] == [
        ("shipments-3.csv", "processed"),
        ("stock-2.json", "processed"),
    ]
    assert on_hand(world, "MUG-1") == 40 - 0  # the count replaced what was there
    shipped = find_order(world, "web", "ERP-1")
    assert shipped.status == OrderStatus.SHIPPED
    assert shipped.shipments[-1]["tracking"] == "postnl 3SABC123"


def test_a_bad_file_is_moved_aside_with_the_line_and_nothing_is_applied(
    world: Database, tmp_path: Path
) -> None:
    connect(world, "erp", {"root": str(tmp_path)})
    stock(world, "wh", MUG_1=5)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    bad_orders = ORDERS_CSV.replace("MUG-3,1,7.00", "MUG-3,many,7.00")
    (incoming / "orders-9.csv").write_text(bad_orders)
    (incoming / "stock-9.csv").write_text("sku,location,quantity\nMUG-1,wh,3\nMUG-2,nowhere,4\n")
    (incoming / "shipments-9.csv").write_text("order_id,tracking\nNOPE-1,X\n")
    results = {r.name: r for r in pick_up(world)}
    assert {r.outcome for r in results.values()} == {"failed"}
    orders_error = (tmp_path / "failed" / "orders-9.csv.error.txt").read_text()
    assert "line 4: quantity 'many' is not a whole number" in orders_error
    assert list_orders(world, channel="web")[0] == []  # ERP-1 was fine, but the file is one unit
    stock_error = (tmp_path / "failed" / "stock-9.csv.error.txt").read_text()
    assert "nowhere" in stock_error
    assert on_hand(world, "MUG-1") == 5  # the good first line was not applied either
    assert "line 2: no order NOPE-1 on web" in results["shipments-9.csv"].error
    assert (tmp_path / "failed" / "orders-9.csv").exists()
    assert not [p for p in incoming.iterdir() if p.suffix == ".csv"]


def test_an_order_file_with_an_unknown_sku_names_the_order(world: Database, tmp_path: Path) -> None:
    connect(world, "erp", {"root": str(tmp_path), "format": "json"})
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    document = {
        "orders": [
            {
                "external_id": "J-1",
                "created_at": "2026-11-20T10:00:00+00:00",
                "currency": "EUR",
                "lines": [
                    {"external_line_id": "1", "sku": "GHOST", "quantity": 1, "unit_price": "1"}
                ],
            },
            {"external_id": "J-2", "currency": "EUR", "lines": []},
        ]
    }
    (incoming / "orders-1.json").write_bytes(orjson.dumps(document))
    (result,) = pick_up(world)
    assert result.outcome == "failed"
    assert "orders[1]" in (result.error or "") and "created_at" in (result.error or "")
    document["orders"] = document["orders"][:1]
    (incoming / "orders-2.json").write_bytes(orjson.dumps(document))
    (result,) = pick_up(world)
    assert result.error == "orders[0]: order J-1: unknown SKU 'GHOST'"


def test_an_order_is_forwarded_to_an_erp_as_a_file(world: Database, tmp_path: Path) -> None:
    connect(world, "erp", {"root": str(tmp_path)})
    automation.save_rule(
        world,
        {
            "code": "bol-to-erp",
            "event": "order.created",
            "conditions": [{"field": "channel", "op": "eq", "value": "bol"}],
            "actions": [{"type": "forward_order", "connection": "erp"}],
        },
    )
    stock(world, "wh", MUG_1=5)
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "orders-bol.csv").write_text(ORDERS_CSV)
    # Orders arrive on bol through the same file pipeline of a second connection.
    save_connection(
        world,
        ConnectionInput(
            code="bol-files",
            platform="files",
            channel="bol",
            config={"root": str(tmp_path / "bol")},
        ),
    )
    (tmp_path / "bol" / "incoming").mkdir(parents=True)
    (tmp_path / "bol" / "incoming" / "orders-1.csv").write_text(ORDERS_CSV)
    pick_up(world)
    settle(world)
    written = [p for p in (tmp_path / "outgoing").iterdir() if p.name.startswith("orders-")]
    rows = [r for p in written for r in read_csv(p)]
    assert {(r["source_channel"], r["order_id"], r["sku"]) for r in rows} == {
        ("bol", "ERP-1", "MUG-1"),
        ("bol", "ERP-1", "MUG-2"),
        ("bol", "ERP-2", "MUG-3"),
    }


def test_sftp_needs_a_login() -> None:
    with pytest.raises(ValidationError, match="sftp needs host and username"):
        FilesConfig.model_validate({"transport": "sftp", "root": "x", "host": "127.0.0.1"})
    with pytest.raises(ValidationError, match="a password or a private_key"):
        FilesConfig.model_validate({"transport": "sftp", "root": "x", "host": "h", "username": "u"})


def test_over_sftp_with_a_password(world: Database, sftp_server: SftpServer) -> None:
    connect(
        world,
        "erp",
        {
            "transport": "sftp",
            "host": "127.0.0.1",
            "port": sftp_server.port,
            "username": SFTP_USER,
            "password": SFTP_PASSWORD,
            "host_key": sftp_server.host_key,
            "root": "exchange",
        },
    )
    stock(world, "wh", MUG_1=6)
    drain(world)
    root = sftp_server.root / "exchange"
    written = [p for p in (root / "outgoing").iterdir() if p.name.startswith("stock-")]
    assert written and all(NAME.match(p.name) for p in written)
    assert {r["sku"]: r["quantity"] for p in written for r in read_csv(p)} == {"MUG-1": "6"}
    (root / "incoming").mkdir(exist_ok=True)
    (root / "incoming" / "stock-erp.csv").write_text("sku,location,quantity\nMUG-1,wh,11\n")
    (root / "incoming" / "stock-bad.csv").write_text("sku,location,quantity\nMUG-1,wh,-1\n")
    results = {r.name: r.outcome for r in pick_up(world)}
    assert results == {"stock-bad.csv": "failed", "stock-erp.csv": "processed"}
    assert on_hand(world, "MUG-1") == 11
    assert (root / "processed" / "stock-erp.csv").exists()
    error = (root / "failed" / "stock-bad.csv.error.txt").read_text()
    assert "line 2: quantity -1 is out of range" in error


def test_over_sftp_with_a_key_and_a_pinned_host_key(
    world: Database, sftp_server: SftpServer
) -> None:
    config = {
        "transport": "sftp",
        "host": "127.0.0.1",
        "port": sftp_server.port,
        "username": SFTP_USER,
        "private_key": sftp_server.client_key,
        "host_key": sftp_server.host_key,
        "root": "exchange",
    }
    connect(world, "erp", config)
    (sftp_server.root / "exchange" / "incoming").mkdir(parents=True)
    (sftp_server.root / "exchange" / "incoming" / "orders-1.csv").write_text(ORDERS_CSV)
    check = asyncio.run(check_connection(world, "erp"))
    assert check.ok and "1 file(s) waiting in incoming" in check.detail
    wrong = {**config, "password": "wrong-password", "private_key": None}
    connect(world, "erp-wrong", wrong)
    refused = asyncio.run(check_connection(world, "erp-wrong"))
    assert not refused.ok and "login refused" in refused.detail
    other_host = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    connect(world, "erp-spoofed", {**config, "host_key": other_host.strip()})
    spoofed = asyncio.run(check_connection(world, "erp-spoofed"))
    assert not spoofed.ok  # a server that is not the pinned one is refused
