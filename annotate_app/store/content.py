"""Prompts, responses and pairs: bulk insert with content-hash dedup, and reads for display."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from annotate_app.store.base import StoreBase, first_row


@dataclass
class IngestCounts:
    prompts: int = 0
    responses: int = 0
    pairs: int = 0
    labels: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("prompts", "responses", "pairs", "labels")}


class ContentStore(StoreBase):
    def ingest_frames(
        self,
        prompts: pd.DataFrame,
        responses: pd.DataFrame,
        pairs: pd.DataFrame,
        labels: pd.DataFrame,
    ) -> IngestCounts:
        """Insert everything new in one transaction; rows whose id already exists are left alone.

        Import labels are deduplicated on (pair, annotator, choice) so re-importing a file adds nothing.
        """
        counts = IngestCounts()
        with self.transaction() as cur:
            for table, frame, cols in (
                ("prompts", prompts, "id, text, turns, n_turns, source, category, metadata"),
                ("responses", responses, "id, prompt_id, text, model, metadata"),
                ("pairs", pairs, "id, prompt_id, response_a, response_b, source"),
            ):
                if frame.empty:
                    continue
                cur.register("incoming", frame)
                before = first_row(cur.execute(f"SELECT count(*) FROM {table}"))[0]
                cur.execute(
                    f"INSERT INTO {table} ({cols}) SELECT {cols} FROM "
                    f"(SELECT DISTINCT ON (id) * FROM incoming) i "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = i.id)"
                )
                after = first_row(cur.execute(f"SELECT count(*) FROM {table}"))[0]
                cur.unregister("incoming")
                setattr(counts, table, after - before)
            if not labels.empty:
                cur.register("incoming", labels)
                before = first_row(cur.execute("SELECT count(*) FROM label_events"))[0]
                cur.execute(
                    "INSERT INTO label_events (pair_id, annotator, source, kind, choice, metadata) "
                    "SELECT DISTINCT i.pair_id, i.annotator, 'import', 'label', i.choice, i.metadata "
                    "FROM incoming i WHERE NOT EXISTS (SELECT 1 FROM label_events e "
                    " WHERE e.pair_id = i.pair_id AND e.annotator = i.annotator "
                    " AND e.source = 'import' AND e.choice = i.choice)"
                )
                counts.labels = (
                    first_row(cur.execute("SELECT count(*) FROM label_events"))[0] - before
                )
                cur.unregister("incoming")
        return counts

    def response_ids_by_prompt(self, prompt_ids: list[str]) -> dict[str, list[str]]:
        """The stored response ids of each prompt: the pair builder pairs new responses with them."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT prompt_id, list(id ORDER BY id) FROM responses "
                "WHERE prompt_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY prompt_id",
                [prompt_ids],
            ).fetchall()
        return {pid: list(rids) for pid, rids in rows}

    def get_pair(self, pair_id: str) -> dict | None:
        """A pair with its conversation and both responses, ready to show or judge."""
        with self.cursor() as cur:
            frame = cur.execute("SELECT * FROM pair_texts WHERE pair_id = ?", [pair_id]).df()
        if frame.empty:
            return None
        row = frame.iloc[0].to_dict()
        row["turns"] = json.loads(row["turns"])
        return row

    def pairs_frame(self, pair_ids: list[str] | None = None) -> pd.DataFrame:
        """Pairs with prompt and response texts, for judges, embeddings and snapshots."""
        where = "WHERE pair_id IN (SELECT unnest(?::VARCHAR[]))" if pair_ids is not None else ""
        params = [pair_ids] if pair_ids is not None else []
        with self.cursor() as cur:
            return cur.execute(f"SELECT * FROM pair_texts {where} ORDER BY pair_id", params).df()
