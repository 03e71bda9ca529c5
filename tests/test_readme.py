"""The README and the docs stay true: the worked catalog example (docs/catalog.md) runs as
written, every `make` target and `channelhub` command the README shows exists, every relative
link of the README and the docs pages leads to a file, the README stays a newcomer's page (at
most 250 lines) and its map names every package."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def worked_example_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    section = text.split("## A worked example", 1)[1].split("\n## ", 1)[0]
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


def readme_commands(program: str) -> list[list[str]]:
    """The ``program ...`` lines of the README's shell blocks, comments cut off."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith(program + " "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_readme_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))
    shown = {args[0] for args in readme_commands("make")}
    assert {"demo", "test"} <= shown
    assert shown <= targets
    assert "demo-check" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_channelhub_commands_exist() -> None:
    commands = readme_commands("channelhub")
    assert commands
    runner = CliRunner()
    for args in commands:
        words = list(itertools.takewhile(lambda a: not a.startswith("-"), args))
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, (args, result.output)
        for option in (a.split("=", 1)[0] for a in args if a.startswith("--")):
            assert option in result.output, (args, option)


def test_relative_links_of_the_readme_and_the_docs_lead_to_files() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_readme_is_short_and_maps_every_package() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    packages = {
        p.name for p in (ROOT / "src" / "channelhub").iterdir() if (p / "__init__.py").exists()
    }
    mapped = set(re.findall(r"^\| `([a-z_]+)/` \|", text, flags=re.M))
    assert mapped == packages
