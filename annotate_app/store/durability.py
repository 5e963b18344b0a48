"""Noticing a lost WAL: the running app keeps a mark of the newest label event it has seen.

Labels committed since the last checkpoint live only in ``<project>.duckdb.wal``. If that file is
deleted after an unclean stop, DuckDB opens the project as of its last checkpoint without a word.
The app's service thread therefore writes ``wal-mark.json`` in the project's work folder whenever
the newest event id changes (about once a second), and marks it clean after the checkpoint of a
clean close. On the next start, a mark that is not clean and names a newer event than the file
holds means acknowledged labels were lost: the caller says so loudly instead of starting silently.
Labels from the last second before the stop may not be covered by the mark.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from annotate_app.config import ProjectPaths
from annotate_app.store.base import StoreBase, first_row

MARK = "wal-mark.json"


@dataclass(frozen=True)
class WalMark:
    newest_event: int | None
    clean: bool


def _mark_path(paths: ProjectPaths):
    return paths.work_dir / MARK


def newest_event(store: StoreBase) -> int | None:
    with store.cursor() as cur:
        row = first_row(cur.execute("SELECT max(id) FROM label_events"))
    return None if row is None or row[0] is None else int(row[0])


def read_mark(paths: ProjectPaths) -> WalMark | None:
    try:
        raw = json.loads(_mark_path(paths).read_text(encoding="utf-8"))
        return WalMark(raw["newest_event"], bool(raw["clean"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_mark(paths: ProjectPaths, mark: WalMark) -> None:
    path = _mark_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(
        json.dumps({"newest_event": mark.newest_event, "clean": mark.clean}), encoding="utf-8"
    )
    os.replace(tmp, path)


def lost_labels(store: StoreBase) -> str | None:
    """A message when the previous run's acknowledged labels are missing from the file, else None."""
    mark = read_mark(store.paths)
    if mark is None or mark.clean or mark.newest_event is None:
        return None
    have = newest_event(store)
    if have is not None and have >= mark.newest_event:
        return None
    wal = store.paths.db.name + ".wal"
    return (
        f"label events after #{have or 0} up to #{mark.newest_event} were saved by the previous "
        f"run but are not in {store.paths.db}: its write-ahead log ({wal}) was deleted or replaced "
        "after an unclean stop. Restore the WAL or a backup if you have one; otherwise those "
        "labels are lost"
    )


class WalMarker:
    """The service thread's side: keep the mark up to date, and clean on a clean close."""

    def __init__(self, store: StoreBase) -> None:
        self.store = store
        self._written: int | None = None

    def update(self) -> None:
        newest = newest_event(self.store)
        if newest != self._written:
            write_mark(self.store.paths, WalMark(newest, clean=False))
            self._written = newest

    def closed_cleanly(self) -> None:
        write_mark(self.store.paths, WalMark(newest_event(self.store), clean=True))
