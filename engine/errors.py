"""The error types the service layer raises, defined below every layer so that faces can catch them.

Faces (CLI, HTTP API, MCP tools, UI) turn these into exit codes, problem documents and messages;
they must not import the core modules that raise them. Each type lives here, where the core and
the faces can both reach it without depending on each other, and needs only the standard library.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding of the loader or validator, phrased so that an author can act on it."""

    severity: Severity
    file: str
    line: int | None
    field: str
    message: str
    hint: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" [{self.field}]" if self.field else ""
        return f"{where}: {self.severity}{field}: {self.message} — {self.hint}"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }


class KbError(Exception):
    """Raised when a pack cannot be used; carries every problem so all can be shown at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(p.render() for p in errors) or "invalid knowledge pack")


class EvidenceError(ValueError):
    """Evidence that names something the pack does not have; says what would be valid."""

    def __init__(self, message: str, details: dict[str, object]) -> None:
        super().__init__(message)
        self.details = details


class ContradictionError(ValueError):
    """The answers together have probability zero under the model: some answer is wrong."""

    def __init__(self, answers: dict[str, str]) -> None:
        listed = ", ".join(f"{q}={a}" for q, a in answers.items())
        super().__init__(
            f"these answers contradict each other under the knowledge base: {listed}; "
            "re-check one of them (or answer 'unknown')"
        )
        self.answers = answers


class StoreError(RuntimeError):
    """The database cannot be reached or prepared; the message says which URL and why."""


class NotFoundError(LookupError):
    """A record that does not exist; the message names what was looked for."""


class ConflictError(ValueError):
    """A write that would duplicate or contradict an existing record."""


class UnknownPackError(LookupError):
    """A pack name that is not bundled; carries the valid names for the error message."""

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__(f"no knowledge pack '{name}'; valid packs: {', '.join(valid) or 'none'}")
        self.name = name
        self.valid = valid


class LearnError(ValueError):
    """Learning cannot proceed (no cases, or cases that the model finds impossible)."""

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


@dataclass(frozen=True)
class CaseProblem:
    """One reason a case cannot be used, located precisely enough to fix without searching."""

    file: str
    line: int | None
    field: str
    message: str
    valid: list[str] = dataclasses.field(default_factory=list)

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        shown = ""
        if self.valid:
            listed = ", ".join(self.valid[:40])
            shown = f"; valid: {listed}" + (", …" if len(self.valid) > 40 else "")
        return f"{where} [{self.field}]: {self.message}{shown}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message,
                "valid": self.valid}


class CaseError(ValueError):
    """Raised with every problem of one or more cases; the first one is the message."""

    def __init__(self, problems: list[CaseProblem]) -> None:
        self.problems = problems
        extra = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__((problems[0].render() if problems else "invalid case") + extra)
