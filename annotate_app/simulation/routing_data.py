"""Labeled files as the routing simulation sees them: one row per pair, with the file's own label.

Files go through the same reader, validator and pair builder as ``annotate import``, so the
simulation routes exactly the pairs a project would hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app.ingest import ImportOptions
from annotate_app.ingest.importer import parse_file


def load_labeled_pairs(path: str | Path) -> pd.DataFrame:
    """Columns: pair_id, prompt, turns (JSON), n_turns, text_a, text_b, human (1 when A won, 0 when B won)."""
    path = Path(path)
    _, _, _, collector, errors = parse_file(path, ImportOptions())
    prompts, responses, pairs, labels = collector.finish()
    if labels.empty:
        raise ValueError(f"{path}: no labeled pairs; the simulation needs a file with preferences")
    text = responses.set_index("id")["text"]
    labels = labels.groupby("pair_id")["choice"].mean()
    labels = labels[labels != 0]
    frame = pairs.merge(
        prompts[["id", "text", "turns", "n_turns"]],
        left_on="prompt_id",
        right_on="id",
        suffixes=("", "_prompt"),
    )
    frame = frame[frame["id"].isin(labels.index)]
    out = pd.DataFrame(
        {
            "pair_id": frame["id"].to_numpy(),
            "prompt": frame["text"].to_numpy(),
            "turns": frame["turns"].to_numpy(),
            "n_turns": frame["n_turns"].to_numpy(),
            "text_a": text.reindex(frame["response_a"]).to_numpy(),
            "text_b": text.reindex(frame["response_b"]).to_numpy(),
        }
    )
    out["human"] = (labels.reindex(out["pair_id"]).to_numpy() > 0).astype(int)
    if errors:
        print(f"{path.name}: skipped {len(errors)} invalid rows")
    return out.sort_values("pair_id", ignore_index=True)


def response_texts(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """What the encoder reads for each side: conversation then response (truncated on the left)."""
    a = (frame["prompt"] + "\n\nAssistant: " + frame["text_a"]).tolist()
    b = (frame["prompt"] + "\n\nAssistant: " + frame["text_b"]).tolist()
    return a, b


def split_holdout(frame: pd.DataFrame, test_frac: float, seed: int) -> tuple[pd.DataFrame, ...]:
    rng = np.random.default_rng(seed)
    mask = rng.random(len(frame)) < test_frac
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)
