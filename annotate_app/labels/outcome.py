"""The outcome of a pair from its votes, as the package docstring states the rule.

Pure functions on frames of votes (columns ``pair_id``, ``choice``, ``both_bad``; ``source`` where
voters are chosen by source). The ``pair_outcomes`` SQL view computes the same ``mean`` outcome.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

OUTCOMES: tuple[str, ...] = ("a", "b", "tie", "both_bad")  # index = outcome code
Method = Literal["mean", "majority"]
METHODS: tuple[str, ...] = ("mean", "majority")
OUTCOME_COLUMNS = [
    "pair_id",
    "n_labels",
    "n_both_bad",
    "n_a",
    "n_b",
    "n_tie",
    "mean_choice",
    "strength",
    "outcome",
    "target",
]


def outcome_codes(votes: pd.DataFrame) -> np.ndarray:
    """Index into OUTCOMES of every vote's side."""
    choice = votes["choice"].astype("float64").to_numpy()
    both_bad = votes["both_bad"].fillna(False).astype(bool).to_numpy()
    return np.select([both_bad, choice > 0, choice < 0], [3, 0, 1], default=2)


def vote_outcomes(votes: pd.DataFrame) -> pd.Series:
    """'a', 'b', 'tie' or 'both_bad' for each vote."""
    labels = np.asarray(OUTCOMES, dtype=object)[outcome_codes(votes)]
    return pd.Series(labels, index=votes.index, name="outcome")


def decide(
    item: np.ndarray, n_pairs: int, codes: np.ndarray, choice: np.ndarray, method: Method = "mean"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule on arrays: votes numbered by pair (``item`` in 0..n_pairs-1), each with its side
    code and choice. Returns (counts per pair and side code, mean choice, outcome code)."""
    counts = np.zeros((n_pairs, len(OUTCOMES)), dtype=np.int64)
    np.add.at(counts, (item, codes), 1)
    taking_side = codes != 3
    sums = np.bincount(item[taking_side], weights=choice[taking_side], minlength=n_pairs)
    n_side = counts[:, :3].sum(axis=1)
    mean = np.where(n_side > 0, sums / np.maximum(n_side, 1), np.nan)
    if method == "mean":
        side = np.select([mean > 0, mean < 0], [0, 1], default=2)
    else:
        top = counts[:, :3].max(axis=1)
        unique_top = (counts[:, :3] == top[:, None]).sum(axis=1) == 1
        side = np.where(unique_top, counts[:, :3].argmax(axis=1), 2)
    return counts, mean, np.where(n_side == 0, 3, side)


def pair_outcomes(votes: pd.DataFrame, method: Method = "mean") -> pd.DataFrame:
    """One row per pair: vote counts, mean choice, strength, outcome and soft target.

    Pass the votes of one group of voters (one source, or ``HUMAN_SOURCES``); each one counts.
    """
    if method not in METHODS:
        raise ValueError(f"unknown outcome method {method!r}; use one of {', '.join(METHODS)}")
    if votes.empty:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    item, pairs = pd.factorize(votes["pair_id"], sort=True)
    choice = votes["choice"].astype("float64").to_numpy()
    counts, mean, code = decide(item, len(pairs), outcome_codes(votes), choice, method)
    return pd.DataFrame(
        {
            "pair_id": pairs,
            "n_labels": counts.sum(axis=1),
            "n_both_bad": counts[:, 3],
            "n_a": counts[:, 0],
            "n_b": counts[:, 1],
            "n_tie": counts[:, 2],
            "mean_choice": mean,
            "strength": np.abs(mean),
            "outcome": np.asarray(OUTCOMES, dtype=object)[code],
            "target": np.asarray([1.0, 0.0, 0.5, np.nan])[code],
        }
    )


def decided(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Pairs whose outcome is a side (A or B): the only ones a figure that needs a side uses."""
    return outcomes[outcomes["outcome"].isin(("a", "b"))]


def file_outcomes(labels: pd.DataFrame) -> pd.DataFrame:
    """Outcomes of the labels that came with a file (an import collector's ``labels`` frame, which
    has pair_id and choice and may lack both_bad): what a simulation replays as the truth."""
    return pair_outcomes(labels.assign(both_bad=labels.get("both_bad", False)))
