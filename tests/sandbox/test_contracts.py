"""The platforms' contracts kept inside the package: the folder and its README agree, every file
is the verbatim copy its README row names, large ones are stored gzipped and read transparently,
and nothing in the project reads the team's reference library beside the repository."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from channelhub.sandbox.contracts import (
    CONTRACTS_DIR,
    ContractNotFound,
    contract_names,
    contract_path,
    load_contract_json,
    load_contract_yaml,
    read_contract_bytes,
    read_contract_text,
)

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|(?P<cells>.*)\|\s*$")


def readme_rows() -> dict[str, list[str]]:
    """File -> its table cells, from the README beside the contracts."""
    rows: dict[str, list[str]] = {}
    for line in (CONTRACTS_DIR / "README.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match["file"]] = [cell.strip() for cell in match["cells"].split("|")]
    return rows


def kept_files() -> list[str]:
    platforms = sorted(p.name for p in CONTRACTS_DIR.iterdir() if p.is_dir() and p.name[0] != "_")
    return sorted(f"{p}/{name}" for p in platforms for name in contract_names(p))


def test_every_kept_contract_has_its_readme_row_and_every_row_its_file() -> None:
    assert kept_files(), "no contracts found"
    assert sorted(readme_rows()) == kept_files()


@pytest.mark.parametrize("file", sorted(readme_rows()))
def test_each_contract_is_the_copy_its_row_describes(file: str) -> None:
    cells = readme_rows()[file]
    source, licence, size, sha256 = cells[2], cells[5], cells[6], cells[7]
    assert source and licence, f"{file}: its row names no source or licence"
    platform, name = file.split("/", 1)
    content = read_contract_bytes(platform, name)
    assert len(content) == int(size), file
    assert hashlib.sha256(content).hexdigest() == sha256, file


def test_files_over_100_kb_are_stored_gzipped_and_read_as_plain_text() -> None:
    for file in kept_files():
        platform, name = file.split("/", 1)
        stored = contract_path(platform, name)
        if stored.suffix != ".gz":
            assert stored.stat().st_size <= 100_000, f"{file} should be stored gzipped"
    stored = contract_path("square", "api.json")
    assert stored.name == "api.json.gz"
    assert read_contract_bytes("square", "api.json") == gzip.decompress(stored.read_bytes())
    assert load_contract_json("square", "api.json")["openapi"] == "3.0.0"
    assert load_contract_yaml("magento", "admin-schema-2.4.9.yaml")["swagger"] == "2.0"
    assert read_contract_text("shopify", "admin_schema_2026-01_public.graphql").count("type ") > 100


def test_a_missing_contract_is_a_clear_error_naming_what_is_kept() -> None:
    with pytest.raises(ContractNotFound, match=r"'orders-v99\.json'.*retailer-v10\.json"):
        read_contract_bytes("bol", "orders-v99.json")
    with pytest.raises(ContractNotFound, match="kept for zalando: none"):
        contract_path("zalando", "orders.yaml")
    with pytest.raises(ValueError, match="inside the platform's folder"):
        contract_path("bol", "../shopify/admin_schema_2026-01_public.graphql")


def test_nothing_reads_the_reference_library_beside_the_repository() -> None:
    # Built from pieces so that this file does not match itself.
    patterns = [
        "/work/" + "shared",
        '"shared" / ' + '"specs"',
        '"shared/' + "specs",
        "SPECS" + "_DIR",
    ]
    found = []
    for folder in ("src", "tests", "bench", "peers"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {p}" for p in patterns if p in text]
    assert found == []
