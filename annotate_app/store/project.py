"""Project settings, annotator accounts, jobs and the headline counts."""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd

from annotate_app.labels.sources import SOURCES
from annotate_app.store.base import StoreBase, first_row

# Every page run and every label sync reads the settings and the signed-in account. Only this
# process writes either (DuckDB lets one process hold the file), and its writes below drop the cached
# copy, so a change shows at once; the age limit bounds what a read racing a write may keep.
CACHE_MAX_AGE_S = 1.0


class ProjectStore(StoreBase):
    _settings_cached: tuple[float, list[tuple[str, str]]] | None = None
    _annotators_cached: dict[str, tuple[float, dict | None]] | None = None

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.cursor() as cur:
            row = first_row(cur.execute("SELECT value FROM settings WHERE key = ?", [key]))
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM settings WHERE key = ?", [key])
            cur.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [key, json.dumps(value)])
        self._settings_cached = None

    def all_settings(self) -> dict[str, Any]:
        cached, now = self._settings_cached, time.monotonic()
        if cached is None or now - cached[0] > CACHE_MAX_AGE_S:
            with self.cursor() as cur:
                rows = cur.execute("SELECT key, value FROM settings").fetchall()
            cached = self._settings_cached = (now, rows)
        return {k: json.loads(v) for k, v in cached[1]}  # a fresh copy for every caller

    def upsert_annotator(
        self,
        name: str,
        role: str = "annotator",
        password_hash: str | None = None,
        active: bool = True,
    ) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM annotators WHERE name = ?", [name])
            cur.execute(
                "INSERT INTO annotators (name, role, password_hash, active) VALUES (?, ?, ?, ?)",
                [name, role, password_hash, active],
            )
        self._annotators_cached = None

    def set_annotator_active(self, name: str, active: bool) -> None:
        with self.cursor() as cur:
            cur.execute("UPDATE annotators SET active = ? WHERE name = ?", [active, name])
        self._annotators_cached = None

    def get_annotator(self, name: str) -> dict | None:
        cached, now = self._annotators_cached, time.monotonic()
        if cached is None or len(cached) > 10_000:  # names tried at sign-in are cached too
            cached = self._annotators_cached = {}
        found = cached.get(name)
        if found is None or now - found[0] > CACHE_MAX_AGE_S:
            found = cached[name] = (now, self._read_annotator(name))
        return None if found[1] is None else dict(found[1])

    def _read_annotator(self, name: str) -> dict | None:
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT name, role, password_hash, active FROM annotators WHERE name = ?",
                    [name],
                )
            )
        if row is None:
            return None
        return {"name": row[0], "role": row[1], "password_hash": row[2], "active": row[3]}

    def annotators_frame(self) -> pd.DataFrame:
        """Accounts with their human label counts and median seconds per label."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT a.name, a.role, a.active, count(l.id) AS labels, "
                "median(l.latency_ms) / 1000.0 AS median_seconds "
                "FROM annotators a LEFT JOIN current_labels l "
                "ON l.annotator = a.name AND l.source = 'human' AND l.kind = 'label' "
                "GROUP BY a.name, a.role, a.active, a.created_at ORDER BY a.created_at, a.name"
            ).df()

    def stats(self) -> dict[str, Any]:
        with self.cursor() as cur:
            counts = {
                t: first_row(cur.execute(f"SELECT count(*) FROM {t}"))[0]
                for t in ("prompts", "responses", "pairs", "annotators")
            }
            by_source = dict(
                cur.execute(
                    "SELECT source, count(*) FROM current_labels WHERE kind = 'label' "
                    "GROUP BY source ORDER BY source"
                ).fetchall()
            )
            labeled = first_row(
                cur.execute(
                    "SELECT count(DISTINCT pair_id) FROM current_labels WHERE kind = 'label'"
                )
            )[0]
            events = first_row(cur.execute("SELECT count(*) FROM label_events"))[0]
        return {
            **counts,
            "labels": {s: int(by_source.get(s, 0)) for s in SOURCES},
            "labeled_pairs": int(labeled),
            "open_pairs": int(counts["pairs"] - labeled),
            "label_events": int(events),
        }
