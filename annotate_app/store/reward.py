"""Reward-model rows: the embedding cache, model versions, pair scores and queue priorities.

A training or selection job's results land in one transaction, so a job that fails half way, or
whose collect fails, leaves the previous model active and no rows of the new one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from annotate_app.store.base import StoreBase, first_row


class RewardStore(StoreBase):
    def training_labels(self, sources: list[str]) -> pd.DataFrame:
        """One row per labeled pair: vote counts over the current labels of the chosen sources.

        ``both_bad`` votes say nothing about which side is better, so they are not counted.
        """
        with self.cursor() as cur:
            return cur.execute(
                "SELECT pair_id, count(*) FILTER (WHERE choice > 0) AS n_a, "
                "count(*) FILTER (WHERE choice < 0) AS n_b, "
                "count(*) FILTER (WHERE choice = 0) AS n_tie, "
                "avg(abs(choice)) AS mean_strength "
                "FROM current_labels WHERE kind = 'label' AND NOT both_bad AND choice IS NOT NULL "
                "AND source IN (SELECT unnest(?::VARCHAR[])) GROUP BY pair_id ORDER BY pair_id",
                [sources],
            ).df()

    def open_pair_ids(self) -> list[str]:
        """Pairs with no label in force from anyone: the candidates for scoring and acquisition."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT id FROM pairs p WHERE NOT EXISTS (SELECT 1 FROM current_labels l "
                "WHERE l.pair_id = p.id AND l.kind = 'label') ORDER BY id"
            ).fetchall()
        return [r[0] for r in rows]

    def cached_embeddings(self, encoder: str, text_hashes: list[str]) -> pd.DataFrame:
        """The cached vectors among ``text_hashes`` (columns text_hash, vector)."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT text_hash, vector FROM embeddings WHERE encoder = ? "
                "AND text_hash IN (SELECT unnest(?::VARCHAR[]))",
                [encoder, sorted(set(text_hashes))],
            ).df()

    def embedding_count(self, encoder: str | None = None) -> int:
        where, params = ("WHERE encoder = ?", [encoder]) if encoder else ("", [])
        with self.cursor() as cur:
            return int(
                first_row(cur.execute(f"SELECT count(*) FROM embeddings {where}", params))[0]
            )

    def insert_embeddings(self, encoder: str, parquet: Path) -> None:
        with self.transaction() as cur:
            _insert_embeddings(cur, encoder, parquet)

    def save_model_version(
        self,
        version: dict[str, Any],
        *,
        embeddings: Path | None,
        scores: Path | None,
        priorities: Path | None,
        strategy: str,
        acquisition_policies: list[str],
    ) -> None:
        """Everything a training job produced, in one transaction, and the new version active."""
        with self.transaction() as cur:
            if first_row(cur.execute("SELECT 1 FROM model_versions WHERE id = ?", [version["id"]])):
                return  # collected already: collecting twice must change nothing
            if embeddings is not None:
                _insert_embeddings(cur, version["encoder"], embeddings)
            cur.execute("UPDATE model_versions SET active = false WHERE active")
            cur.execute(
                "INSERT INTO model_versions (id, mode, encoder, path, n_labels, heldout_accuracy, "
                "log_loss, ece, train_seconds, metrics, active, job_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true, ?)",
                [
                    version["id"],
                    version["mode"],
                    version["encoder"],
                    version["path"],
                    version["n_labels"],
                    version.get("heldout_accuracy"),
                    version.get("log_loss"),
                    version.get("ece"),
                    version["train_seconds"],
                    json.dumps(version.get("metrics") or {}, default=str),
                    version.get("job_id"),
                ],
            )
            if scores is not None:
                _replace_scores(cur, version["id"], scores)
            if priorities is not None:
                _set_priorities(cur, priorities, strategy, acquisition_policies)

    def save_selection(
        self,
        model_version: str,
        *,
        encoder: str,
        embeddings: Path | None,
        scores: Path,
        priorities: Path,
        strategy: str,
        acquisition_policies: list[str],
    ) -> None:
        with self.transaction() as cur:
            if embeddings is not None:
                _insert_embeddings(cur, encoder, embeddings)
            _replace_scores(cur, model_version, scores)
            _set_priorities(cur, priorities, strategy, acquisition_policies)

    def active_model(self) -> dict | None:
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT * FROM model_versions WHERE active ORDER BY created_at DESC LIMIT 1"
            ).df()
        if frame.empty:
            return None
        row = frame.iloc[0].to_dict()
        row["metrics"] = json.loads(row["metrics"]) if row.get("metrics") else {}
        return row

    def model_versions(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT id, mode, encoder, n_labels, heldout_accuracy, log_loss, ece, "
                "train_seconds, active, job_id, created_at FROM model_versions "
                "ORDER BY created_at DESC, id DESC"
            ).df()

    def pair_scores(self, model_version: str) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT pair_id, p_a, uncertainty, acquisition, head_p_a, head_uncertainty "
                "FROM pair_scores WHERE model_version = ? ORDER BY pair_id",
                [model_version],
            ).df()

    def routes_frame(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT pair_id, route, priority, policy, reason FROM routes "
                "ORDER BY priority DESC, pair_id"
            ).df()


def _insert_embeddings(cur, encoder: str, parquet: Path) -> None:
    cur.execute(
        "INSERT INTO embeddings (encoder, text_hash, vector) "
        "SELECT DISTINCT ON (text_hash) ?, text_hash, vector::FLOAT[] FROM read_parquet(?) i "
        "WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.encoder = ? "
        "AND e.text_hash = i.text_hash)",
        [encoder, str(parquet), encoder],
    )


def _replace_scores(cur, model_version: str, parquet: Path) -> None:
    cur.execute(
        "DELETE FROM pair_scores WHERE model_version = ? AND pair_id IN "
        "(SELECT pair_id FROM read_parquet(?))",
        [model_version, str(parquet)],
    )
    cur.execute(
        "INSERT INTO pair_scores (pair_id, model_version, p_a, uncertainty, acquisition, "
        "head_p_a, head_uncertainty) "
        "SELECT pair_id, ?, p_a, uncertainty, acquisition, head_p_a, head_uncertainty "
        "FROM read_parquet(?)",
        [model_version, str(parquet)],
    )


def _set_priorities(cur, parquet: Path, strategy: str, own: list[str]) -> None:
    """Priorities order the human queue and judge jobs. Pairs that routing placed keep their route
    and policy; pairs with no route yet go to the human queue under this strategy, and pairs an
    earlier selection placed (policy in ``own``) take the new strategy's name."""
    reason = f"acquisition:{strategy}"
    cur.execute(
        "UPDATE routes SET priority = i.priority, reason = ?, "
        "policy = CASE WHEN routes.policy IN (SELECT unnest(?::VARCHAR[])) THEN ? ELSE policy END "
        "FROM read_parquet(?) i WHERE routes.pair_id = i.pair_id",
        [reason, own, strategy, str(parquet)],
    )
    cur.execute(
        "INSERT INTO routes (pair_id, route, priority, policy, reason) "
        "SELECT i.pair_id, 'human', i.priority, ?, ? FROM read_parquet(?) i "
        "WHERE NOT EXISTS (SELECT 1 FROM routes r WHERE r.pair_id = i.pair_id)",
        [strategy, reason, str(parquet)],
    )
