"""The shared connection and the two ways to use it: a short cursor, or a short transaction.

DuckDB allows one read-write process per file, so the app (or one CLI command) owns the connection and
every unit of work takes its own ``cursor()``: a cursor is safe to use from its own thread, while the
shared connection is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from annotate_app.config import ProjectPaths
from annotate_app.store.db import connect, migrate


def first_row(result: duckdb.DuckDBPyConnection) -> tuple | None:
    """The first row, with the result read to the end: on duckdb 2.x a half-read result (as
    ``fetchone`` leaves it) blocks the next statement on that cursor."""
    rows = result.fetchall()
    return rows[0] if rows else None


class StoreBase:
    def __init__(self, db: str | Path | ProjectPaths, read_only: bool = False) -> None:
        self.paths = db if isinstance(db, ProjectPaths) else ProjectPaths(db=Path(db))
        self.paths.db.parent.mkdir(parents=True, exist_ok=True)
        self.read_only = read_only
        self._closed = False
        self.con = connect(self.paths.db, read_only=read_only)
        if not read_only:
            migrate(self.con)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: any exception rolls back every statement made through the cursor."""
        with self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def checkpoint(self) -> None:
        """Write the WAL into the ``.duckdb`` file, so the file alone holds every committed row.

        DuckDB keeps recent commits in ``<file>.wal`` beside the file until a checkpoint; the two
        belong together, and the WAL must never be deleted while it exists.
        """
        with self.cursor() as cur:
            cur.execute("CHECKPOINT")

    def close(self) -> None:
        """Checkpoint and close: a cleanly closed project is one self-contained file."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self.read_only:
                self.checkpoint()
        finally:
            self.con.close()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
