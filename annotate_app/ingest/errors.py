"""Errors that say where the problem is: file, line (or row), field, and what was expected."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RowError:
    file: str
    line: int | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {what}{self.problem}"

    def as_dict(self) -> dict:
        return asdict(self)


class IngestError(Exception):
    """The file (or some rows of it) cannot be imported; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        first = str(errors[0]) if errors else "unknown error"
        more = f" (and {len(errors) - 1} more invalid rows)" if len(errors) > 1 else ""
        super().__init__(first + more)
