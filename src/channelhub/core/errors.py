"""Errors shared by every context; the API turns them into problem+json, the CLI into exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why."""

    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


class ChannelhubError(Exception):
    """Base of every error the hub raises on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems: list[Problem] = problems or []


class NotFound(ChannelhubError):
    status = 404
    title = "Not found"


class Conflict(ChannelhubError):
    status = 409
    title = "Conflict"


class InvalidInput(ChannelhubError):
    status = 422
    title = "Invalid input"


class NotAllowed(ChannelhubError):
    status = 403
    title = "Not allowed"


class Unauthenticated(ChannelhubError):
    status = 401
    title = "Unauthenticated"


@dataclass
class ProblemList:
    """Collects problems while validating, then raises them all at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, location: str, message: str) -> None:
        self.problems.append(Problem(location, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, detail: str) -> None:
        if self.problems:
            raise InvalidInput(detail, list(self.problems))
