"""What every CLI command shares: the database, error reporting, progress bars."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError

console = Console()
errors = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_REJECTED = 1
EXIT_INVALID = 2


def database() -> Database:
    return Database()


def handle_errors(func: F) -> F:
    """Turn the hub's errors into a clear message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ChannelhubError as error:
            errors.print(f"[red]error:[/red] {error.detail}")
            for problem in error.problems:
                errors.print(f"  - {problem.location}: {problem.message}")
            raise typer.Exit(EXIT_INVALID) from None

    return wrapper  # type: ignore[return-value]


def byte_progress() -> Progress:
    """A progress bar over the bytes of a file being read."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    )


def count_progress() -> Progress:
    """A progress bar over a known number of items."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
    )
