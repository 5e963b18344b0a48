"""The `auto` strategy's rounds: which arm chose each batch, with what probability, and its gain."""

from __future__ import annotations

import json

import pandas as pd

from annotate_app.store.base import StoreBase, first_row


class AcquisitionStore(StoreBase):
    def add_acquisition_round(
        self,
        model_version: str,
        arm: str,
        probs: dict[str, float],
        baseline: float,
        eval_pairs: list[str],
        gain_update: tuple[int, float] | None = None,
    ) -> int:
        """Record a batch (and, in the same transaction, the measured gain of an earlier one)."""
        with self.transaction() as cur:
            if gain_update is not None:
                cur.execute(
                    "UPDATE acquisition_rounds SET gain = ? WHERE round = ?",
                    [float(gain_update[1]), int(gain_update[0])],
                )
            row = first_row(
                cur.execute("SELECT coalesce(max(round), 0) + 1 FROM acquisition_rounds")
            )
            number = int(row[0]) if row else 1
            cur.execute(
                "INSERT INTO acquisition_rounds "
                "(round, model_version, arm, probs, baseline, eval_pairs) VALUES (?, ?, ?, ?, ?, ?)",
                [number, model_version, arm, json.dumps(probs), baseline, json.dumps(eval_pairs)],
            )
        return number

    def acquisition_rounds(self) -> pd.DataFrame:
        """Every round in order; ``probs`` and ``eval_pairs`` decoded."""
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT round, model_version, arm, probs, baseline, eval_pairs, gain, created_at "
                "FROM acquisition_rounds ORDER BY round"
            ).df()
        frame["probs"] = [json.loads(p) for p in frame["probs"]]
        frame["eval_pairs"] = [json.loads(p) for p in frame["eval_pairs"]]
        return frame
