"""Consistent copies of a project, made by the process that owns the file, and their check."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from annotate_app.store.base import StoreBase, first_row
from annotate_app.store.db import StoreError, applied_migrations, connect


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class BackupStore(StoreBase):
    def backup_to(self, target: str | Path) -> Path:
        """Copy every table, view and sequence into a new DuckDB file at ``target``.

        ``COPY FROM DATABASE`` reads one snapshot, so labels committed meanwhile are either wholly in
        the copy or wholly not; the copy is written beside the target and renamed into place.
        """
        target = Path(target).resolve()
        if target == self.paths.db.resolve():
            raise ValueError("the backup must not overwrite the project itself")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        tmp.unlink(missing_ok=True)
        with self.cursor() as cur:
            name = first_row(cur.execute("SELECT current_database()"))[0]
            # ATTACH and COPY take no parameters; the path is quoted, the name comes from DuckDB.
            cur.execute(f"ATTACH {_quote(tmp)} AS annotate_backup")
            try:
                cur.execute(f'COPY FROM DATABASE "{name}" TO annotate_backup')
            finally:
                cur.execute("DETACH annotate_backup")
        try:
            verify_project_file(tmp)
        except StoreError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)
        return target


def verify_project_file(path: Path) -> dict[str, int]:
    """Read a project file end to end, or raise ``StoreError`` naming what failed.

    DuckDB checks a block's checksum when it reads the block, and it has no separate integrity
    pragma, so every row of every table is read (hashing each whole row touches every column), then
    every view. Returns the row count per table.
    """
    try:
        con = connect(path, read_only=True)
    except StoreError as exc:
        raise StoreError(f"{path} is not a readable project backup: {exc}") from None
    counts: dict[str, int] = {}
    where = "table"
    try:
        if not applied_migrations(con):
            raise StoreError(f"{path} is not an annotate project (no schema_version table)")
        objects = con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_type, table_name"
        ).fetchall()
        for name, kind in objects:
            where = f"{'view' if kind == 'VIEW' else 'table'} {name}"
            quoted = '"' + name.replace('"', '""') + '"'
            if kind == "VIEW":
                con.execute(f"SELECT count(*) FROM {quoted}").fetchall()
            else:
                counts[name] = con.execute(
                    f"SELECT count(*), bit_xor(hash(t)) FROM {quoted} AS t"
                ).fetchall()[0][0]
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise StoreError(f"{path} is damaged: reading {where} failed ({first})") from None
    finally:
        con.close()
    return counts
