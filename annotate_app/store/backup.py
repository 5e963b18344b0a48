"""Consistent copies of a project, made by the process that owns the file."""

from __future__ import annotations

import os
from pathlib import Path

from annotate_app.store.base import StoreBase, first_row


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
        os.replace(tmp, target)
        return target
