"""Append-only label events and the reads built on them (current labels, skipped pairs)."""

from __future__ import annotations

import json

import pandas as pd

from annotate_app.labels.sources import SOURCES
from annotate_app.store.base import StoreBase, first_row

__all__ = ["SOURCES", "LabelStore"]


class LabelStore(StoreBase):
    def add_label(
        self,
        pair_id: str,
        annotator: str,
        *,
        choice: int | None,
        both_bad: bool = False,
        source: str = "human",
        left_side: str | None = None,
        rationale: str | None = None,
        aspects: dict | None = None,
        latency_ms: int | None = None,
    ) -> int:
        """Record one label and return its event id; it is committed when this returns."""
        if choice is None and not both_bad:
            raise ValueError("a label needs a choice or both_bad")
        with self.transaction() as cur:
            row = first_row(
                cur.execute(
                    "INSERT INTO label_events (pair_id, annotator, source, kind, choice, both_bad, "
                    "left_side, rationale, aspects, latency_ms) "
                    "VALUES (?, ?, ?, 'label', ?, ?, ?, ?, ?, ?) RETURNING id",
                    [
                        pair_id,
                        annotator,
                        source,
                        choice,
                        both_bad,
                        left_side,
                        rationale or None,
                        json.dumps(aspects) if aspects else None,
                        latency_ms,
                    ],
                )
            )
            cur.execute(
                "DELETE FROM leases WHERE pair_id = ? AND annotator = ?", [pair_id, annotator]
            )
        return int(row[0])

    def label_events(self, annotator: str | None = None) -> pd.DataFrame:
        """The audit log, oldest first."""
        where, params = ("WHERE annotator = ?", [annotator]) if annotator else ("", [])
        with self.cursor() as cur:
            return cur.execute(f"SELECT * FROM label_events {where} ORDER BY id", params).df()

    def current_labels(self, source: str | None = None) -> pd.DataFrame:
        where, params = ("AND source = ?", [source]) if source else ("", [])
        with self.cursor() as cur:
            return cur.execute(
                f"SELECT * FROM current_labels WHERE kind = 'label' {where} ORDER BY id", params
            ).df()

    def skipped_only_pairs(self, sources: list[str]) -> int:
        """Pairs the chosen sources skipped and never labeled: an export leaves them out and says so."""
        with self.cursor() as cur:
            return first_row(
                cur.execute(
                    "SELECT count(DISTINCT pair_id) FROM current_labels s WHERE kind = 'skip' "
                    "AND source IN (SELECT unnest(?::VARCHAR[])) AND NOT EXISTS (SELECT 1 FROM "
                    "current_labels l WHERE l.pair_id = s.pair_id AND l.kind = 'label' "
                    "AND l.source IN (SELECT unnest(?::VARCHAR[])))",
                    [sources, sources],
                )
            )[0]
