"""Flags on pairs: an annotator marks a pair broken, unsafe or impossible to judge; an admin resolves.

Flags are append-only rows (``pair_flags``): a flag stays open until a later resolution on the same
pair. Open flags send the pair to the review queue and keep it out of every export.
"""

from __future__ import annotations

from typing import Literal, get_args

import pandas as pd

from annotate_app.store.base import StoreBase, first_row

FlagReason = Literal["broken", "unsafe", "cant_judge"]
FLAG_REASONS: tuple[FlagReason, ...] = get_args(FlagReason)
# How each reason reads on a page.
REASON_TITLES: dict[FlagReason, str] = {
    "broken": "broken",
    "unsafe": "unsafe",
    "cant_judge": "can't judge",
}
MAX_NOTE = 2000


class FlagStore(StoreBase):
    def flag_pair(
        self, pair_id: str, annotator: str, reason: FlagReason, note: str | None = None
    ) -> int:
        """Raise a flag on a pair and return its id; it is committed when this returns."""
        if reason not in FLAG_REASONS:
            raise ValueError(
                f"unknown flag reason {reason!r}; use one of {', '.join(FLAG_REASONS)}"
            )
        note = (note or "").strip()[:MAX_NOTE] or None
        with self.transaction() as cur:
            if first_row(cur.execute("SELECT 1 FROM pairs WHERE id = ?", [pair_id])) is None:
                raise ValueError(f"no pair {pair_id!r} in this project")
            row = first_row(
                cur.execute(
                    "INSERT INTO pair_flags (pair_id, annotator, kind, reason, note) "
                    "VALUES (?, ?, 'flag', ?, ?) RETURNING id",
                    [pair_id, annotator, reason, note],
                )
            )
        return int(row[0])

    def resolve_flag(self, pair_id: str, resolver: str, note: str | None = None) -> int:
        """Resolve every open flag on the pair; returns how many were open (0: nothing to do)."""
        with self.transaction() as cur:
            n_open = first_row(
                cur.execute("SELECT count(*) FROM open_flags WHERE pair_id = ?", [pair_id])
            )[0]
            if n_open:
                cur.execute(
                    "INSERT INTO pair_flags (pair_id, annotator, kind, note) "
                    "VALUES (?, ?, 'resolve', ?)",
                    [pair_id, resolver, (note or "").strip()[:MAX_NOTE] or None],
                )
        return int(n_open)

    def open_flags(self) -> pd.DataFrame:
        """Open flags, oldest first: id, pair_id, annotator, reason, note, created_at."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT id, pair_id, annotator, reason, note, created_at FROM open_flags ORDER BY id"
            ).df()

    def flagged_pair_ids(self) -> set[str]:
        """Pairs with at least one open flag: the review queue, and what exports leave out."""
        with self.cursor() as cur:
            return {r[0] for r in cur.execute("SELECT DISTINCT pair_id FROM open_flags").fetchall()}

    def flag_history(self, pair_id: str) -> pd.DataFrame:
        """Every flag and resolution on one pair, oldest first."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT id, annotator, kind, reason, note, created_at FROM pair_flags "
                "WHERE pair_id = ? ORDER BY id",
                [pair_id],
            ).df()
