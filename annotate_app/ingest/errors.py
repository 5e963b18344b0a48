"""Errors that say where the problem is: file, line (or row), field, and what was expected."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from annotate_app.accounts.names import invisible_characters


@dataclass(frozen=True)
class RowError:
    file: str
    line: int | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        file = shown(self.file)
        where = file if self.line is None else f"{file}:{self.line}"
        what = f"field '{shown(self.field)}': " if self.field else ""
        return f"{where}: {what}{shown(self.problem)}"

    def as_dict(self) -> dict:
        return asdict(self)


def shown(text: str) -> str:
    """Text for a one-line message: control and invisible characters (a newline in a file name,
    a bidi override in a key) are written as escapes, so they cannot split or disguise the line."""
    bad = {i for i, _ in invisible_characters(text)}
    if not bad:
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if i in bad else ch for i, ch in enumerate(text)
    )


class IngestError(Exception):
    """The file (or some rows of it) cannot be imported; nothing was written.

    ``skippable``: the errors are invalid rows that ``--skip-invalid`` would leave out, so the
    message may suggest it; a file-level problem or a passed limit is not.
    """

    def __init__(self, errors: list[RowError], skippable: bool = False) -> None:
        self.errors = errors
        self.skippable = skippable
        first = str(errors[0]) if errors else "unknown error"
        more = f" (and {len(errors) - 1} more invalid rows)" if len(errors) > 1 else ""
        super().__init__(first + more)
