"""Aggregate reads for the dashboard, agreement, leaderboard and exports.

Every aggregate that can be done in DuckDB is done here, so the dashboard pulls a few hundred rows
instead of the label log. All filters are one static statement with parameters: an empty filter value
means "no restriction".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from annotate_app.store.base import StoreBase, first_row


@dataclass(frozen=True)
class LabelFilter:
    """Which current labels an aggregate covers; empty tuples and None mean everything."""

    start: date | None = None  # first day included
    end: date | None = None  # last day included
    annotators: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def params(self) -> list:
        return [
            self.start,
            self.start,
            self.end,
            self.end,
            list(self.annotators),
            list(self.annotators),
            list(self.sources),
            list(self.sources),
            list(self.categories),
            list(self.categories),
        ]


# Current labels (not skips) restricted by a LabelFilter. The category test is a semi-join, so
# unfiltered reads never touch the (large) pairs and prompts tables.
_FILTERED = """
WITH f AS (
    SELECT l.id, l.pair_id, l.annotator, l.source, l.choice, l.both_bad, l.left_side,
           l.latency_ms, l.p_a, l.judge_id, l.metadata, l.created_at
    FROM current_labels l
    WHERE l.kind = 'label'
      AND (?::DATE IS NULL OR CAST(l.created_at AS DATE) >= ?::DATE)
      AND (?::DATE IS NULL OR CAST(l.created_at AS DATE) <= ?::DATE)
      AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], l.annotator))
      AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], l.source))
      AND (len(?::VARCHAR[]) = 0 OR l.pair_id IN (
            SELECT p.id FROM pairs p JOIN prompts pr ON pr.id = p.prompt_id
            WHERE list_contains(?::VARCHAR[], pr.category)))
)
"""

_EVENT_COLS = (
    "pair_id",
    "annotator",
    "source",
    "kind",
    "choice",
    "both_bad",
    "left_side",
    "rationale",
    "latency_ms",
    "p_a",
    "judge_id",
    "metadata",
    "created_at",
)


class AnalyticsStore(StoreBase):
    def _filtered(self, flt: LabelFilter | None, select: str, extra: list | None = None):
        flt = flt or LabelFilter()
        with self.cursor() as cur:
            return cur.execute(_FILTERED + select, flt.params() + (extra or [])).df()

    def label_time_series(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """Labels per day and source."""
        return self._filtered(
            flt,
            "SELECT CAST(created_at AS DATE) AS day, source, count(*) AS labels "
            "FROM f GROUP BY ALL ORDER BY day, source",
        )

    def annotator_activity(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """Per annotator and source: labels, median seconds per label, active days, first and last."""
        return self._filtered(
            flt,
            "SELECT annotator, source, count(*) AS labels, "
            "median(latency_ms) / 1000.0 AS median_seconds, "
            "count(DISTINCT CAST(created_at AS DATE)) AS active_days, "
            "min(created_at) AS first_label, max(created_at) AS last_label "
            "FROM f GROUP BY ALL ORDER BY labels DESC, annotator",
        )

    def overlap_votes(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """Every vote on a pair that at least two raters labeled: the input of all agreement figures.

        Pairs labeled once carry no information about agreement, so they never leave the database.
        """
        return self._filtered(
            flt,
            "SELECT pair_id, annotator, source, choice, both_bad, p_a, judge_id "
            "FROM f QUALIFY count(*) OVER (PARTITION BY pair_id) >= 2 "
            "ORDER BY pair_id, source, annotator",
        )

    def battle_counts(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """Votes between two different named models, counted by (model_a, model_b, source).

        A both-bad vote counts as a tie, as Chatbot Arena counts "both are bad".
        """
        return self._filtered(
            flt,
            ", m AS (SELECT f.*, ra.model AS model_a, rb.model AS model_b FROM f "
            "  JOIN pairs p ON p.id = f.pair_id "
            "  JOIN responses ra ON ra.id = p.response_a JOIN responses rb ON rb.id = p.response_b) "
            "SELECT model_a, model_b, source, "
            "count(*) FILTER (WHERE NOT both_bad AND choice > 0) AS wins_a, "
            "count(*) FILTER (WHERE NOT both_bad AND choice < 0) AS wins_b, "
            "count(*) FILTER (WHERE both_bad OR choice = 0) AS ties "
            "FROM m WHERE model_a IS NOT NULL AND model_b IS NOT NULL AND model_a <> model_b "
            "GROUP BY ALL ORDER BY model_a, model_b, source",
        )

    def battle_votes(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """The votes ``battle_counts`` counts, one row each: the battles of the Arena export."""
        return self._filtered(
            flt,
            "SELECT f.pair_id, ra.model AS model_a, rb.model AS model_b, f.annotator, f.source, "
            "f.choice, f.both_bad, pr.n_turns, f.created_at FROM f "
            "JOIN pairs p ON p.id = f.pair_id JOIN prompts pr ON pr.id = p.prompt_id "
            "JOIN responses ra ON ra.id = p.response_a JOIN responses rb ON rb.id = p.response_b "
            "WHERE ra.model IS NOT NULL AND rb.model IS NOT NULL AND ra.model <> rb.model "
            "ORDER BY f.created_at, f.id",
        )

    def position_counts(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """Human labels by annotator: how often the response shown on the left won, lost or tied."""
        return self._filtered(
            flt,
            ", s AS (SELECT annotator, "
            "  CASE WHEN both_bad OR choice = 0 THEN 0 "
            "       WHEN (choice > 0) = (left_side = 'a') THEN 1 ELSE -1 END AS left_result "
            "  FROM f WHERE source = 'human' AND left_side IS NOT NULL) "
            "SELECT annotator, count(*) FILTER (WHERE left_result = 1) AS left_wins, "
            "count(*) FILTER (WHERE left_result = -1) AS right_wins, "
            "count(*) FILTER (WHERE left_result = 0) AS ties "
            "FROM s GROUP BY annotator ORDER BY annotator",
        )

    def judge_order_readings(self, flt: LabelFilter | None = None) -> pd.DataFrame:
        """AI labels with their debiased p_a and metadata (which may hold the raw per-order
        probabilities)."""
        return self._filtered(
            flt,
            "SELECT pair_id, annotator, coalesce(judge_id, annotator) AS judge, choice, p_a, "
            "metadata FROM f WHERE source = 'ai' ORDER BY pair_id",
        )

    def label_votes(self, sources: list[str]) -> pd.DataFrame:
        """Every current label from the chosen sources, with the pair's prompt and responses."""
        return self._filtered(
            LabelFilter(sources=tuple(sources)),
            "SELECT f.pair_id, p.prompt_id, p.response_a, p.response_b, f.annotator, f.source, "
            "f.choice, f.both_bad, f.p_a FROM f JOIN pairs p ON p.id = f.pair_id "
            "ORDER BY f.pair_id, f.id",
        )

    def model_versions_frame(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT id, mode, encoder, path, n_labels, heldout_accuracy, log_loss, ece, "
                "CAST(json_extract(metrics, '$.heldout_accuracy_with_judge') AS DOUBLE) "
                "  AS heldout_accuracy_with_judge, "
                "CAST(json_extract(metrics, '$.n_heldout_with_verdict') AS INTEGER) "
                "  AS n_heldout_with_verdict, "
                "CAST(json_extract(metrics, '$.judge_stack.used') AS BOOLEAN) AS judge_stack_used, "
                "json_extract_string(metrics, '$.head_choice.head') AS head, "
                "json_extract_string(metrics, '$.head_choice.reason') AS head_reason, "
                "train_seconds, active, created_at FROM model_versions ORDER BY created_at, id"
            ).df()

    def model_version(self, version: str) -> dict | None:
        """One model version by id, or the active one for ``'active'``."""
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT * FROM model_versions WHERE id = ? OR (? = 'active' AND active) "
                "ORDER BY created_at DESC LIMIT 1",
                [version, version],
            ).df()
        return None if frame.empty else frame.iloc[0].to_dict()

    def route_mix_by_policy(self) -> pd.DataFrame:
        """Routes of the pairs, with how many of each already carry a human or an AI label."""
        with self.cursor() as cur:
            return cur.execute(
                "WITH lab AS (SELECT pair_id, bool_or(source = 'human') AS human, "
                "  bool_or(source = 'ai') AS ai FROM current_labels WHERE kind = 'label' "
                "  GROUP BY pair_id) "
                "SELECT r.route, r.policy, count(*) AS pairs, "
                "count(*) FILTER (WHERE lab.human) AS human_labeled, "
                "count(*) FILTER (WHERE lab.ai) AS ai_labeled "
                "FROM routes r LEFT JOIN lab USING (pair_id) GROUP BY ALL ORDER BY r.route, r.policy"
            ).df()

    def filter_options(self) -> dict:
        """What the dashboard filters can offer: annotators, categories and the date span."""
        with self.cursor() as cur:
            annotators = [
                r[0]
                for r in cur.execute(
                    "SELECT DISTINCT annotator FROM label_events WHERE kind = 'label' ORDER BY 1"
                ).fetchall()
            ]
            categories = [
                r[0]
                for r in cur.execute(
                    "SELECT DISTINCT category FROM prompts WHERE category IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            span = first_row(
                cur.execute(
                    "SELECT CAST(min(created_at) AS DATE), CAST(max(created_at) AS DATE) "
                    "FROM label_events WHERE kind = 'label'"
                )
            )
        return {
            "annotators": annotators,
            "categories": categories,
            "start": span[0],
            "end": span[1],
        }

    def audit_log_frame(self) -> pd.DataFrame:
        """The full label event log, oldest first, with the models of each pair's responses A and B;
        JSON columns as text."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT e.id, e.pair_id, ra.model AS model_a, rb.model AS model_b, e.annotator, "
                "e.source, e.kind, e.choice, e.both_bad, e.left_side, e.rationale, "
                "CAST(e.aspects AS VARCHAR) AS aspects, e.latency_ms, e.undoes, e.p_a, e.judge_id, "
                "CAST(e.metadata AS VARCHAR) AS metadata, e.created_at FROM label_events e "
                "LEFT JOIN pairs p ON p.id = e.pair_id "
                "LEFT JOIN responses ra ON ra.id = p.response_a "
                "LEFT JOIN responses rb ON rb.id = p.response_b ORDER BY e.id"
            ).df()

    def append_label_events(self, events: pd.DataFrame) -> int:
        """Append label events that carry their own times, in one transaction: for replaying a
        recorded history (benchmarks, simulations). Returns how many were written."""
        missing = [c for c in ("pair_id", "annotator", "source", "kind") if c not in events]
        if missing:
            raise ValueError(f"label events need columns {missing}")
        frame = events.reindex(columns=list(_EVENT_COLS))
        frame["both_bad"] = frame["both_bad"].fillna(False).astype(bool)
        frame["created_at"] = pd.to_datetime(frame["created_at"]).fillna(pd.Timestamp.now())
        cols = ", ".join(_EVENT_COLS)
        with self.transaction() as cur:
            cur.register("incoming_events", frame)
            cur.execute(
                f"INSERT INTO label_events ({cols}) SELECT {cols} FROM incoming_events "
                "ORDER BY created_at"
            )
            cur.unregister("incoming_events")
        return len(frame)
