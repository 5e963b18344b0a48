"""Routing: the inputs a policy reads, the routes it writes (one transaction), mix and spend."""

from __future__ import annotations

import json

import pandas as pd

from annotate_app.labels.sources import PEOPLE
from annotate_app.store.base import StoreBase, first_row

# A pair is open for routing until a person (labels.sources.HUMAN_SOURCES) has labeled it: it then
# has a 'people' row in the pair_outcomes view, the one place SQL derives outcomes.
_LABELED_BY_PEOPLE = f"SELECT pair_id FROM pair_outcomes WHERE voters = '{PEOPLE}'"


class RoutingStore(StoreBase):
    def routing_pairs(self) -> pd.DataFrame:
        """Texts of the open pairs and of the pairs with both a judge verdict and a human label (the
        learned router's training pairs); ``open`` tells them apart."""
        with self.cursor() as cur:
            return cur.execute(
                f"WITH human AS ({_LABELED_BY_PEOPLE}), "
                "ai AS (SELECT DISTINCT pair_id FROM current_labels "
                "  WHERE kind = 'label' AND source = 'ai') "
                "SELECT t.pair_id, t.prompt, t.n_turns, t.text_a, t.text_b, "
                "  t.pair_id NOT IN (SELECT pair_id FROM human) AS open "
                "FROM pair_texts t "
                "WHERE t.pair_id NOT IN (SELECT pair_id FROM human) "
                "   OR t.pair_id IN (SELECT pair_id FROM ai) "
                "ORDER BY t.created_at, t.pair_id"
            ).df()

    def routing_verdicts(self) -> pd.DataFrame:
        """The latest AI verdict per pair: pair_id, judge (annotator), p_a, metadata."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT pair_id, annotator AS judge, p_a, metadata, created_at FROM current_labels "
                "WHERE kind = 'label' AND source = 'ai' AND p_a IS NOT NULL "
                "QUALIFY row_number() OVER (PARTITION BY pair_id ORDER BY id DESC) = 1"
            ).df()

    def active_pair_scores(self) -> pd.DataFrame:
        """Reward-model scores of the active model version (empty when there is none). The head's
        own columns fall back to the app's score in rows written before they were kept, until the
        next training writes them."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT s.pair_id, s.p_a, s.uncertainty, s.acquisition, "
                "coalesce(s.head_p_a, s.p_a) AS head_p_a, "
                "coalesce(s.head_uncertainty, s.uncertainty) AS head_uncertainty "
                "FROM pair_scores s JOIN model_versions m ON m.id = s.model_version AND m.active"
            ).df()

    def embedding_vectors(self, text_hashes: list[str]) -> dict[str, list[float]]:
        """Cached vectors of these texts, from the encoder that has the most of them."""
        with self.cursor() as cur:
            frame = cur.execute(
                "WITH hit AS (SELECT * FROM embeddings "
                "  WHERE text_hash IN (SELECT unnest(?::VARCHAR[]))), "
                "best AS (SELECT encoder FROM hit GROUP BY encoder "
                "  ORDER BY count(*) DESC, encoder LIMIT 1) "
                "SELECT text_hash, vector FROM hit WHERE encoder IN (SELECT encoder FROM best)",
                [text_hashes],
            ).df()
        return dict(zip(frame["text_hash"], frame["vector"], strict=True))

    def human_outcomes(self) -> pd.DataFrame:
        """Per pair the people decided (outcome A or B): human_a (1 when A won) and the latest
        propensity with which routing sent it to humans (NULL when it never did)."""
        with self.cursor() as cur:
            return cur.execute(
                "WITH h AS (SELECT pair_id, outcome FROM pair_outcomes "
                f"  WHERE voters = '{PEOPLE}' AND outcome IN ('a', 'b')), "
                "p AS (SELECT pair_id, propensity FROM routing_decisions WHERE route = 'human' "
                "  QUALIFY row_number() OVER (PARTITION BY pair_id ORDER BY run_id DESC) = 1) "
                "SELECT h.pair_id, (h.outcome = 'a')::INTEGER AS human_a, p.propensity "
                "FROM h LEFT JOIN p USING (pair_id) ORDER BY h.pair_id"
            ).df()

    def spend_counts(self) -> dict[str, int]:
        """Pairs, and the human labels and judge verdicts paid for: every submitted one in the
        ``label_events`` log, a label later undone or changed included, since each was work done.
        Every spend figure reads these counts."""
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT (SELECT count(*) FROM pairs), "
                    "count(*) FILTER (WHERE source = 'human'), count(*) FILTER (WHERE source = 'ai') "
                    "FROM label_events WHERE kind = 'label'"
                )
            )
        return {"pairs": int(row[0]), "human_labels": int(row[1]), "judge_calls": int(row[2])}

    def routing_counts(self) -> dict[str, int]:
        """``spend_counts``, human routes still waiting in the queue, and the pool's age."""
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT (SELECT count(*) FROM routes r WHERE route = 'human' "
                    f"  AND r.pair_id NOT IN ({_LABELED_BY_PEOPLE})), "
                    "(SELECT epoch(current_timestamp::TIMESTAMP - min(created_at)) FROM pairs)"
                )
            )
        return {
            **self.spend_counts(),
            "queued_human": int(row[0]),
            "age_seconds": float(row[1] or 0.0),
        }

    def save_routes(
        self, routes: pd.DataFrame, policy: str, human_budget: float, params: dict
    ) -> int:
        """Replace the current routes of these pairs, drop routes of pairs humans have labeled since,
        and log the run with every decision; all in one transaction. Returns the run id."""
        frame = routes[["pair_id", "route", "priority", "reason", "propensity", "explore"]].copy()
        frame["priority"] = frame["priority"].astype(float)
        frame["propensity"] = frame["propensity"].astype(float)
        frame["explore"] = frame["explore"].astype(bool)
        counts = frame["route"].value_counts()
        with self.transaction() as cur:
            run_id = first_row(
                cur.execute(
                    "INSERT INTO routing_runs (policy, human_budget, params, n_human, n_ai, n_hold) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    [
                        policy,
                        human_budget,
                        json.dumps(params, default=str),
                        int(counts.get("human", 0)),
                        int(counts.get("ai", 0)),
                        int(counts.get("hold", 0)),
                    ],
                )
            )[0]
            cur.register("incoming_routes", frame)
            cur.execute(
                "INSERT INTO routing_decisions "
                "(run_id, pair_id, route, priority, reason, propensity, explore) "
                "SELECT ?, pair_id, route, priority, reason, propensity, explore "
                "FROM incoming_routes",
                [run_id],
            )
            cur.execute(
                "DELETE FROM routes WHERE pair_id IN (SELECT pair_id FROM incoming_routes) "
                f"OR pair_id IN ({_LABELED_BY_PEOPLE})"
            )
            cur.execute(
                "INSERT INTO routes (pair_id, route, priority, policy, reason) "
                "SELECT pair_id, route, priority, ?, reason FROM incoming_routes",
                [policy],
            )
            cur.unregister("incoming_routes")
        return int(run_id)

    def route_list(self, route: str | None = None, limit: int = 500) -> pd.DataFrame:
        """Current routes for display, highest priority first, with the prompt's start."""
        where, params = ("WHERE r.route = ?", [route]) if route else ("", [])
        with self.cursor() as cur:
            return cur.execute(
                "SELECT r.pair_id, r.route, r.priority, r.policy, r.reason, r.created_at, "
                "left(pr.text, 120) AS prompt FROM routes r "
                "JOIN pairs p ON p.id = r.pair_id JOIN prompts pr ON pr.id = p.prompt_id "
                f"{where} ORDER BY r.priority DESC, r.pair_id LIMIT ?",
                [*params, limit],
            ).df()

    def route_mix(self) -> dict[str, int]:
        with self.cursor() as cur:
            rows = cur.execute("SELECT route, count(*) FROM routes GROUP BY route").fetchall()
        mix = {"human": 0, "ai": 0, "hold": 0}
        mix.update({r: int(n) for r, n in rows})
        return mix

    def routing_runs(self, limit: int = 20) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute("SELECT * FROM routing_runs ORDER BY id DESC LIMIT ?", [limit]).df()

    def routing_decisions(self, run_id: int) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT * FROM routing_decisions WHERE run_id = ? ORDER BY priority DESC, pair_id",
                [run_id],
            ).df()
