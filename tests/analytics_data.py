"""A populated project for the insight tests: the demo data, three annotators with overlap, a judge
with raw per-order readings, gold labels, a reward-model version and routing settings.

Votes follow a known Bradley-Terry truth over the demo's four models, so rankings have a right
answer; the annotators show the left response a position lean the tests can find.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from annotate_app.config import DEMO_DIR
from annotate_app.ingest import ImportOptions, import_file
from annotate_app.store import Store

TRUE_STRENGTH = {"atlas-70b": 1.5, "breeze-13b": 0.7, "comet-7b": 0.0, "drift-1b": -1.2}
ANNOTATORS = ("alice", "bob", "carol")
JUDGE = "judge:test"


def register_version(store: Store, version: str, folder: str, **fields) -> None:
    """A head-mode model version whose folder was made by hand, with no scores or embeddings."""
    store.save_model_version(
        {
            "id": version,
            "mode": "head",
            "encoder": "minilm",
            "path": str(folder),
            "n_labels": 1,
            "train_seconds": 1.0,
            **fields,
        },
        embeddings=None,
        scores=None,
        priorities=None,
        strategy="random",
        acquisition_policies=[],
    )


def populate(store: Store, seed: int = 0, model_dir: str | None = None) -> None:
    for name in ("responses.jsonl", "gold.jsonl"):
        import_file(store, DEMO_DIR / name, ImportOptions())
    rng = np.random.default_rng(seed)
    pairs = store.pairs_frame()
    start = pd.Timestamp("2026-11-01 09:00")
    events = []
    for k, pair in enumerate(pairs.itertuples()):
        edge = TRUE_STRENGTH[pair.model_a] - TRUE_STRENGTH[pair.model_b]
        p_a = 1 / (1 + np.exp(-edge))
        for annotator in ANNOTATORS[: 1 + k % 3]:
            left = rng.choice(["a", "b"])
            a_wins = rng.random() < p_a
            if rng.random() < 0.2:  # a lazy click for whatever is on the left
                a_wins = left == "a"
            choice = int(rng.choice([1, 2])) * (1 if a_wins else -1)
            if rng.random() < 0.1:
                choice = 0
            events.append(
                {
                    "pair_id": pair.pair_id,
                    "annotator": annotator,
                    "source": "human",
                    "kind": "label",
                    "choice": choice,
                    "both_bad": False,
                    "left_side": left,
                    "latency_ms": int(rng.integers(2000, 20000)),
                    "created_at": start + pd.Timedelta(hours=int(k // 20) * 24 + k % 20),
                }
            )
        p_ab = float(np.clip(p_a + 0.15 + rng.normal(0, 0.1), 0.01, 0.99))  # leans to first
        p_ba = float(np.clip(1 - p_a + 0.15 + rng.normal(0, 0.1), 0.01, 0.99))
        judge_p_a = 0.5 * (p_ab + 1 - p_ba)
        events.append(
            {
                "pair_id": pair.pair_id,
                "annotator": JUDGE,
                "source": "ai",
                "kind": "label",
                "choice": 1 if judge_p_a > 0.5 else -1,
                "both_bad": False,
                "p_a": judge_p_a,
                "judge_id": JUDGE,
                "metadata": json.dumps({"p_ab": p_ab, "p_ba": p_ba}),
                "created_at": start + pd.Timedelta(hours=int(k // 20) * 24 + 21),
            }
        )
    store.append_label_events(pd.DataFrame(events))
    if model_dir is not None:
        for n, (acc, loss) in enumerate(((0.55, 0.69), (0.61, 0.66)), start=1):
            register_version(
                store, f"rm-{n}", model_dir, n_labels=100 * n, heldout_accuracy=acc, log_loss=loss
            )
    store.set_setting("routing", {"budget": {"human_budget": 0.5, "cost_human": 0.4}})
