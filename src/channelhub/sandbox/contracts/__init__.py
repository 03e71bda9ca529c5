"""The platforms' published API contracts, kept inside the package (see README.md beside it).

Sandboxes and tests read them only through these functions, never from a folder beside the
repository, so a clone or an installed wheel carries everything it needs. Large files are stored
gzipped (``name.gz``); callers name the plain file and get the plain content.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONTRACTS_DIR",
    "ContractNotFound",
    "contract_names",
    "contract_path",
    "load_contract_json",
    "load_contract_yaml",
    "read_contract_bytes",
    "read_contract_text",
]

CONTRACTS_DIR = Path(__file__).resolve().parent
_GZIP_SUFFIX = ".gz"


class ContractNotFound(FileNotFoundError):
    """A contract that is not kept here: names the platform, the file and what there is."""


def contract_path(platform: str, name: str) -> Path:
    """The stored file of ``platform``'s contract ``name`` (the ``.gz`` one when compressed)."""
    parts = Path(platform, name).parts
    if Path(platform).is_absolute() or Path(name).is_absolute() or ".." in parts:
        raise ValueError(f"contract {platform}/{name}: give a name inside the platform's folder")
    plain = CONTRACTS_DIR.joinpath(*parts)
    for candidate in (plain, plain.with_name(plain.name + _GZIP_SUFFIX)):
        if candidate.is_file():
            return candidate
    kept = ", ".join(contract_names(platform)) or "none"
    raise ContractNotFound(
        f"no contract {name!r} for {platform!r} in {CONTRACTS_DIR} (kept for {platform}: {kept})"
    )


def contract_names(platform: str) -> list[str]:
    """The plain names of the contracts kept for ``platform`` (empty for an unknown one)."""
    folder = CONTRACTS_DIR / platform
    if not folder.is_dir():
        return []
    return sorted(
        str(path.relative_to(folder)).removesuffix(_GZIP_SUFFIX)
        for path in folder.rglob("*")
        if path.is_file()
    )


def read_contract_bytes(platform: str, name: str) -> bytes:
    """The contract's plain content, decompressed when it is stored gzipped."""
    path = contract_path(platform, name)
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(_GZIP_SUFFIX) else data


def read_contract_text(platform: str, name: str) -> str:
    """The contract as text (UTF-8)."""
    return read_contract_bytes(platform, name).decode("utf-8")


def load_contract_json(platform: str, name: str) -> Any:
    """The contract parsed as JSON (a fresh object on every call: callers may change it)."""
    return json.loads(read_contract_bytes(platform, name))


def load_contract_yaml(platform: str, name: str) -> Any:
    """The contract parsed as YAML with the C loader when there is one (Medusa's takes seconds
    with the pure-Python one)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(read_contract_bytes(platform, name), Loader=loader)
