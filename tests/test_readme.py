"""The README's worked catalog example runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def worked_example_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### A worked example", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("channelhub "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_worked_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CHANNELHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    commands = worked_example_commands()
    assert len(commands) >= 15
    runner = CliRunner()
    for args in commands:
        if "-o" in args:
            args[args.index("-o") + 1] = str(tmp_path / "products.csv")
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert (tmp_path / "products.csv").read_text().startswith("sku,kind,family")


def test_an_unmigrated_database_gets_a_clear_word(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from channelhub.cli.main import run; run()", "product", "list"],
        env={"CHANNELHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "channelhub db upgrade" in result.stderr
