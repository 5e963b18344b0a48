"""Review: browse pairs with their label state, read every label on one pair, and adjudicate.

A pair is *disputed* when people voted on both sides of it, or when people and the judge decided it
differently. An adjudication is a label event of the ``adjudicated`` source (``labels.adjudication``
makes it the pair's final label for the export); it resolves the pair's open flags in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import pandas as pd

from annotate_app.labels.sources import PEOPLE, SOURCES, Source
from annotate_app.store.base import StoreBase, first_row

LabelState = Literal["any", "unlabeled", "people", "judge only", "adjudicated"]
LABEL_STATES: tuple[LabelState, ...] = get_args(LabelState)
REVIEW_LIMIT = 500

_STATE_SQL: dict[str, str] = {
    "any": "true",
    "unlabeled": "people_labels = 0 AND judge_labels = 0",
    "people": "people_labels > 0",
    "judge only": "people_labels = 0 AND judge_labels > 0",
    "adjudicated": "adjudicated IS NOT NULL",
}


@dataclass(frozen=True)
class ReviewFilter:
    """What the review list shows; every field narrows it, and the defaults show every pair."""

    text: str = ""  # in the prompt or either response, case-insensitive
    model: str | None = None  # either side's model
    source: str | None = None  # a label source that has a label in force on the pair
    state: LabelState = "any"
    disputed: bool = False  # only disputed pairs
    flagged: bool = False  # only pairs with an open flag
    limit: int = REVIEW_LIMIT

    def check(self) -> None:
        if self.state not in LABEL_STATES:
            raise ValueError(f"unknown label state {self.state!r}; use one of {LABEL_STATES}")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"unknown label source {self.source!r}; use one of {SOURCES}")


class ReviewStore(StoreBase):
    def review_pairs(self, flt: ReviewFilter | None = None) -> pd.DataFrame:
        """One row per matching pair: texts, models, vote counts, outcomes, disputed, open flags.

        Flagged pairs come first, then disputed ones not yet adjudicated, then the rest by id.
        """
        flt = flt or ReviewFilter()
        flt.check()
        where, params = [_STATE_SQL[flt.state]], []
        if flt.text.strip():
            where.append(
                "(contains(lower(prompt), ?) OR contains(lower(text_a), ?) "
                "OR contains(lower(text_b), ?))"
            )
            params += [flt.text.strip().lower()] * 3
        if flt.model:
            where.append("(model_a = ? OR model_b = ?)")
            params += [flt.model, flt.model]
        if flt.source:
            where.append(
                "EXISTS (SELECT 1 FROM current_labels c WHERE c.pair_id = listed.pair_id "
                "AND c.kind = 'label' AND c.source = ?)"
            )
            params.append(flt.source)
        if flt.disputed:
            where.append("disputed")
        if flt.flagged:
            where.append("open_flags > 0")
        with self.cursor() as cur:
            return cur.execute(
                "WITH pe AS (SELECT * FROM pair_outcomes WHERE voters = ?), "
                "ai AS (SELECT * FROM pair_outcomes WHERE voters = ?), "
                "adj AS (SELECT * FROM pair_outcomes WHERE voters = ?), "
                "fl AS (SELECT pair_id, count(*) AS n FROM open_flags GROUP BY pair_id), "
                "listed AS (SELECT t.pair_id, t.prompt, t.text_a, t.text_b, t.model_a, t.model_b, "
                "  t.category, p.source AS pair_source, "
                "  coalesce(pe.n_labels, 0) AS people_labels, pe.outcome AS people_outcome, "
                "  coalesce(ai.n_labels, 0) AS judge_labels, ai.outcome AS judge_outcome, "
                "  adj.outcome AS adjudicated, "
                "  coalesce((pe.n_a > 0 AND pe.n_b > 0) OR (pe.outcome IN ('a', 'b') "
                "    AND ai.outcome IN ('a', 'b') AND pe.outcome <> ai.outcome), false) "
                "    AS disputed, "
                "  coalesce(fl.n, 0) AS open_flags "
                "  FROM pair_texts t JOIN pairs p ON p.id = t.pair_id "
                "  LEFT JOIN pe ON pe.pair_id = t.pair_id LEFT JOIN ai ON ai.pair_id = t.pair_id "
                "  LEFT JOIN adj ON adj.pair_id = t.pair_id LEFT JOIN fl ON fl.pair_id = t.pair_id) "
                f"SELECT * FROM listed WHERE {' AND '.join(where)} "
                "ORDER BY open_flags > 0 DESC, disputed AND adjudicated IS NULL DESC, pair_id "
                "LIMIT ?",
                [PEOPLE, Source.AI.value, Source.ADJUDICATED.value, *params, flt.limit],
            ).df()

    def review_models(self) -> list[str]:
        """Every model name on a response, for the review filter."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT DISTINCT model FROM responses WHERE model IS NOT NULL ORDER BY model"
            ).fetchall()
        return [r[0] for r in rows]

    def pair_label_history(self, pair_id: str) -> pd.DataFrame:
        """Every label and skip in force on one pair, from every source, oldest first."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT id, source, annotator, kind, choice, both_bad, left_side, rationale, "
                "p_a, latency_ms, created_at FROM current_labels WHERE pair_id = ? ORDER BY id",
                [pair_id],
            ).df()

    def adjudicate(
        self,
        pair_id: str,
        admin: str,
        *,
        choice: int | None,
        both_bad: bool = False,
        rationale: str | None = None,
    ) -> int:
        """Record the final label of a pair and resolve its open flags; returns the event id."""
        if choice is None and not both_bad:
            raise ValueError("an adjudication needs a choice or both_bad")
        with self.transaction() as cur:
            if first_row(cur.execute("SELECT 1 FROM pairs WHERE id = ?", [pair_id])) is None:
                raise ValueError(f"no pair {pair_id!r} in this project")
            row = first_row(
                cur.execute(
                    "INSERT INTO label_events (pair_id, annotator, source, kind, choice, both_bad, "
                    "rationale) VALUES (?, ?, ?, 'label', ?, ?, ?) RETURNING id",
                    [
                        pair_id,
                        admin,
                        Source.ADJUDICATED.value,
                        None if both_bad else choice,
                        both_bad,
                        rationale or None,
                    ],
                )
            )
            if first_row(cur.execute("SELECT 1 FROM open_flags WHERE pair_id = ?", [pair_id])):
                cur.execute(
                    "INSERT INTO pair_flags (pair_id, annotator, kind, note) "
                    "VALUES (?, ?, 'resolve', 'adjudicated')",
                    [pair_id, admin],
                )
        return int(row[0])
