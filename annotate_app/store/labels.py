"""Append-only label events and the reads built on them (current labels, skipped pairs)."""

from __future__ import annotations

import pandas as pd

from annotate_app.labels.sources import SOURCES
from annotate_app.store.base import StoreBase, first_row

__all__ = ["SOURCES", "LabelStore"]


class LabelStore(StoreBase):
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
