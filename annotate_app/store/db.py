"""Opening a project file: connection settings, lock errors a person can act on, migrations."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import duckdb

_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


class ProjectLockedError(RuntimeError):
    """Another process (usually the running app) holds the project's DuckDB file."""


class StoreError(RuntimeError):
    """A project file that cannot be opened or used, with a message a person can act on."""


def _describe_process(pid: int, exe: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        cmd = " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)
        cmd = " ".join(cmd.split())
    except OSError:
        cmd = exe
    if len(cmd) > 160:
        cmd = cmd[:157] + "..."
    return f"PID {pid} ({cmd})"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the file with network extension installs off; turn lock failures into one clear line."""
    config = {"autoinstall_known_extensions": "false"}
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        match = _LOCK_RE.search(str(exc))
        if match:
            who = _describe_process(int(match["pid"]), match["exe"])
            raise ProjectLockedError(
                f"project {path} is in use by {who}; stop that process (or use the running app) "
                "and try again"
            ) from None
        raise StoreError(f"cannot open project {path}: {exc}") from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot open project {path}: {exc}") from None


def migration_files() -> list[tuple[str, str]]:
    """(name, sql) for every bundled migration, in apply order (file names sort by number)."""
    folder = resources.files("annotate_app.store") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(n.removesuffix(".sql"), (folder / n).read_text(encoding="utf-8")) for n in names]


def applied_migrations(con: duckdb.DuckDBPyConnection) -> set[str]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return set()
    return {row[0] for row in con.execute("SELECT name FROM schema_version").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection, upto: str | None = None) -> list[str]:
    """Apply every migration the file lacks, each in its own transaction. Returns the names applied.

    ``upto`` stops after that migration; tests use it to build an old-format file.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    done = applied_migrations(con)
    applied: list[str] = []
    for name, sql in migration_files():
        if name not in done:
            version = int(name.split("_", 1)[0])
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(sql)
                con.execute(
                    "INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name]
                )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            applied.append(name)
        if name == upto:
            break
    return applied
