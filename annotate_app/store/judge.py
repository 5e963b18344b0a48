"""AI judge verdicts (label events with source 'ai'), the pairs still to judge, and calibrations."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from annotate_app.store.base import StoreBase, first_row

VERDICT_COLUMNS = ("pair_id", "judge_id", "choice", "p_a", "rationale", "latency_ms", "metadata")


class JudgeStore(StoreBase):
    def judge_candidates(
        self, judge_id: str, pairs: str = "all", limit: int | None = None
    ) -> pd.DataFrame:
        """Pairs this judge has no verdict on yet: all of them, or those routed to the AI."""
        if pairs not in ("all", "routed"):
            raise ValueError(f"pairs must be 'all' or 'routed', not {pairs!r}")
        routed = "AND t.pair_id IN (SELECT pair_id FROM routes WHERE route = 'ai')"
        with self.cursor() as cur:
            return cur.execute(
                "SELECT t.pair_id, t.turns, t.text_a, t.text_b FROM pair_texts t "
                "WHERE NOT EXISTS (SELECT 1 FROM label_events e WHERE e.pair_id = t.pair_id "
                "  AND e.annotator = ? AND e.source = 'ai' AND e.kind = 'label') "
                f"{routed if pairs == 'routed' else ''} "
                "ORDER BY t.pair_id LIMIT ?",
                [judge_id, limit if limit is not None else 2**62],
            ).df()

    def add_judge_verdicts(self, frame: pd.DataFrame) -> int:
        """Store verdicts in one transaction; a pair the judge already labeled is left alone."""
        if frame.empty:
            return 0
        incoming = frame.loc[:, list(VERDICT_COLUMNS)]
        with self.transaction() as cur:
            cur.register("incoming", incoming)
            before = first_row(cur.execute("SELECT count(*) FROM label_events"))[0]
            cur.execute(
                "INSERT INTO label_events (pair_id, annotator, source, kind, choice, rationale, "
                "  latency_ms, p_a, judge_id, metadata) "
                "SELECT i.pair_id, i.judge_id, 'ai', 'label', i.choice, i.rationale, i.latency_ms, "
                "  i.p_a, i.judge_id, i.metadata "
                "FROM (SELECT DISTINCT ON (pair_id, judge_id) * FROM incoming) i "
                "WHERE EXISTS (SELECT 1 FROM pairs p WHERE p.id = i.pair_id) "
                "AND NOT EXISTS (SELECT 1 FROM label_events e WHERE e.pair_id = i.pair_id "
                "  AND e.annotator = i.judge_id AND e.source = 'ai' AND e.kind = 'label')"
            )
            after = first_row(cur.execute("SELECT count(*) FROM label_events"))[0]
            cur.unregister("incoming")
        return int(after - before)

    def judge_ids(self) -> list[str]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT DISTINCT judge_id FROM label_events WHERE source = 'ai' "
                "AND judge_id IS NOT NULL ORDER BY judge_id"
            ).fetchall()
        return [r[0] for r in rows]

    def judge_verdicts(self, judge_id: str | None = None) -> pd.DataFrame:
        where, params = ("AND judge_id = ?", [judge_id]) if judge_id else ("", [])
        with self.cursor() as cur:
            return cur.execute(
                "SELECT id, pair_id, judge_id, choice, p_a, rationale, latency_ms, metadata, "
                "CAST(json_extract(metadata, '$.consistent') AS BOOLEAN) AS consistent, "
                "created_at FROM current_labels WHERE source = 'ai' AND kind = 'label' "
                f"{where} ORDER BY id",
                params,
            ).df()

    def pair_facets(self, pair_ids: list[str]) -> pd.DataFrame:
        """pair_id, prompt length in characters and category of these pairs: what a judge's
        agreement is broken down by."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT p.id AS pair_id, length(pr.text) AS prompt_chars, pr.category "
                "FROM pairs p JOIN prompts pr ON pr.id = p.prompt_id "
                "WHERE p.id IN (SELECT unnest(?::VARCHAR[])) ORDER BY p.id",
                [pair_ids],
            ).df()

    def save_judge_calibration(
        self,
        judge_id: str,
        method: str,
        params: dict[str, Any],
        n_pairs: int,
        metrics: dict[str, Any] | None = None,
    ) -> int:
        """Store a new calibration version for the judge and return its version number."""
        with self.transaction() as cur:
            version = first_row(
                cur.execute(
                    "SELECT coalesce(max(version), 0) + 1 FROM judge_calibrations "
                    "WHERE judge_id = ?",
                    [judge_id],
                )
            )[0]
            cur.execute(
                "INSERT INTO judge_calibrations (judge_id, version, method, n_pairs, params, "
                "metrics) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    judge_id,
                    version,
                    method,
                    n_pairs,
                    json.dumps(params),
                    json.dumps(metrics, default=float) if metrics is not None else None,
                ],
            )
        return int(version)

    def judge_calibrations(self, judge_id: str | None = None) -> pd.DataFrame:
        where, params = ("WHERE judge_id = ?", [judge_id]) if judge_id else ("", [])
        with self.cursor() as cur:
            return cur.execute(
                f"SELECT * FROM judge_calibrations {where} ORDER BY judge_id, version", params
            ).df()

    def latest_judge_calibration(self, judge_id: str) -> dict | None:
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT * FROM judge_calibrations WHERE judge_id = ? ORDER BY version DESC LIMIT 1",
                [judge_id],
            ).df()
        if frame.empty:
            return None
        row = frame.iloc[0].to_dict()
        for key in ("params", "metrics"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        return row
