"""Labeled files as both simulations see them: one row per pair, with the file's own labels.

Files go through the same reader, validator and pair builder as ``annotate import``, so a simulation
replays exactly the pairs a project would hold, and the reward model reads the same text
(``reward.encoder.response_text``) as in the app.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app.ingest import ImportOptions, parse_file
from annotate_app.ingest.errors import IngestError
from annotate_app.labels.outcome import file_outcomes
from annotate_app.reward.encoder import response_text

PAIR_COLUMNS = (
    "pair_id",
    "prompt",
    "turns",
    "n_turns",
    "text_a",
    "text_b",
    "len_a",
    "len_b",
    "target",
    "human",
)


def labeled_pairs(path: str | Path, split: str = "pool") -> pd.DataFrame:
    """Every labeled pair of ``path`` with the columns in ``PAIR_COLUMNS`` plus ``split``.

    ``target`` is the outcome by the label rule (``labels.outcome``: 1 A, 0 B, 0.5 tie); ``human`` is 1 when A won, 0 when B won and -1 for a
    tie, which the routing simulation leaves out (a tie has no side for a judge to get right).
    Rows keep the file's order.
    """
    path = Path(path)
    _, _, _, collector, errors = parse_file(path, ImportOptions())
    if errors:
        raise IngestError(errors)
    prompts, responses, pairs, labels = collector.finish()
    if labels.empty:
        raise ValueError(f"{path}: no labeled pairs (chosen/rejected); it cannot be simulated")
    outcomes = file_outcomes(labels).set_index("pair_id")
    outcomes = outcomes[outcomes["target"].notna()]
    text = responses.set_index("id")["text"]
    frame = pairs[pairs["id"].isin(outcomes.index)].merge(
        prompts[["id", "text", "turns", "n_turns"]],
        left_on="prompt_id",
        right_on="id",
        suffixes=("", "_prompt"),
    )
    a = text.reindex(frame["response_a"]).to_numpy()
    b = text.reindex(frame["response_b"]).to_numpy()
    target = outcomes["target"].reindex(frame["id"]).to_numpy(float)
    out = pd.DataFrame(
        {
            "pair_id": frame["id"].to_numpy(),
            "prompt": frame["text"].to_numpy(),
            "turns": frame["turns"].to_numpy(),
            "n_turns": frame["n_turns"].to_numpy(),
            "text_a": a,
            "text_b": b,
            "len_a": [len(t) for t in a],
            "len_b": [len(t) for t in b],
            "target": target,
            "human": np.where(target == 0.5, -1, target).astype(int),
            "split": split,
        }
    )
    return out


def side_texts(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """What the encoder reads for each side of each pair."""
    a = [response_text(p, t) for p, t in zip(frame["prompt"], frame["text_a"], strict=True)]
    b = [response_text(p, t) for p, t in zip(frame["prompt"], frame["text_b"], strict=True)]
    return a, b


def split_holdout(frame: pd.DataFrame, test_frac: float, seed: int) -> tuple[pd.DataFrame, ...]:
    rng = np.random.default_rng(seed)
    mask = rng.random(len(frame)) < test_frac
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)
