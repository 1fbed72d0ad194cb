"""Problems found in a knowledge pack, each pointing at a file, a line and a field."""

from __future__ import annotations

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
