"""How far raters agree: Cohen's kappa per annotator pair, Krippendorff's alpha, gold accuracy, and
each AI judge against the people. The one home of gold accuracy and judge-human agreement: every
page and command reads these functions.

Votes are compared on their side (A wins, B wins, tie, both bad), not on the strength of the
preference: "A much better" and "A better" are the same decision, and the 5-point scale is reported
separately as an ordinal alpha. The reference outcome (gold, the people's outcome) follows the one
rule of ``annotate_app.labels``; only decided pairs are scored, and a tie or both-bad vote on them is
a miss.
"""

from __future__ import annotations

import itertools
import math

import krippendorff
import numpy as np
import pandas as pd

from annotate_app.export.files import json_value
from annotate_app.labels.outcome import OUTCOMES, decide, outcome_codes
from annotate_app.labels.sources import HUMAN_SOURCES, Source
from annotate_app.reward.metrics import EPS, expected_calibration_error
from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter

ECE_BINS = 10


def cohen_kappa(x: list | np.ndarray | pd.Series, y: list | np.ndarray | pd.Series) -> float:
    """Kappa of two raters over the same items: (p_observed - p_chance) / (1 - p_chance).

    NaN when it is undefined: fewer than two items, or chance agreement is already perfect (both
    raters always gave one and the same answer).
    """
    x, y = np.asarray(list(x), dtype=object), np.asarray(list(y), dtype=object)
    if len(x) != len(y):
        raise ValueError(f"kappa needs two ratings per item, got {len(x)} and {len(y)}")
    codes, labels = pd.factorize(np.concatenate([x, y]))
    return _kappa_codes(codes[: len(x)], codes[len(x) :], len(labels))


def pairwise_kappa(votes: pd.DataFrame, sources: tuple[str, ...] = ("human",)) -> pd.DataFrame:
    """One row per annotator pair that shares at least one pair: overlap, raw agreement, kappa."""
    cols = ["annotator_1", "annotator_2", "n_pairs", "agreement", "kappa"]
    chosen = votes[votes["source"].isin(sources)].drop_duplicates(["pair_id", "annotator"])
    if chosen.empty:
        return pd.DataFrame(columns=cols)
    item, _ = pd.factorize(chosen["pair_id"])
    rater, names = pd.factorize(chosen["annotator"], sort=True)
    grid = np.full((item.max() + 1, len(names)), -1)
    grid[item, rater] = outcome_codes(chosen)
    rows = []
    for a, b in itertools.combinations(range(len(names)), 2):
        both = (grid[:, a] >= 0) & (grid[:, b] >= 0)
        if not both.any():
            continue
        x, y = grid[both, a], grid[both, b]
        rows.append(
            (
                names[a],
                names[b],
                int(both.sum()),
                float(np.mean(x == y)),
                _kappa_codes(x, y, len(OUTCOMES)),
            )
        )
    return pd.DataFrame(rows, columns=cols)


def _kappa_codes(x: np.ndarray, y: np.ndarray, k: int) -> float:
    if len(x) < 2:
        return math.nan
    observed = float(np.mean(x == y))
    chance = float(np.dot(np.bincount(x, minlength=k), np.bincount(y, minlength=k))) / len(x) ** 2
    return math.nan if chance >= 1.0 else (observed - chance) / (1.0 - chance)


def krippendorff_alpha(
    votes: pd.DataFrame, sources: tuple[str, ...] = ("human",), scale: bool = False
) -> float:
    """Alpha over every rater of the chosen sources: nominal on outcomes, or ordinal on the 5-point
    choice (``scale=True``, both-bad votes left out). NaN when fewer than two values occur."""
    if scale:
        votes = votes[~votes["both_bad"].fillna(False).astype(bool)]
        values = votes.assign(value=votes["choice"].astype("float64"))
    else:
        values = votes.assign(value=outcome_codes(votes).astype("float64"))
    values = values[values["source"].isin(sources)]
    if values.empty:
        return math.nan
    values = values.drop_duplicates(["pair_id", "annotator"])
    values = values[values.groupby("pair_id")["value"].transform("size") >= 2]
    if values["value"].nunique() < 2:
        return math.nan
    unit, _ = pd.factorize(values["pair_id"])
    rater, raters = pd.factorize(values["annotator"])
    matrix = np.full((len(raters), unit.max() + 1), np.nan)
    matrix[rater, unit] = values["value"].to_numpy()
    level = "ordinal" if scale else "nominal"
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval of a share (Wilson score): honest at small n and at 0 or 1."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def gold_accuracy(votes: pd.DataFrame) -> pd.DataFrame:
    """Each human annotator against gold (the outcome of the imported votes) on the pairs both
    labeled. Pairs whose gold is a tie or both-bad are no gold; a human tie or both-bad on a gold
    pair counts as a miss."""
    cols = ["annotator", "n_gold", "correct", "accuracy"]
    human, gold = _against(votes, (Source.HUMAN.value,), (Source.IMPORT.value,))
    if human.empty:
        return pd.DataFrame(columns=cols)
    table = (
        pd.DataFrame({"annotator": human["annotator"].to_numpy(), "hit": human["code"] == gold})
        .groupby("annotator")["hit"]
        .agg(n_gold="size", correct="sum")
        .reset_index()
    )
    table["accuracy"] = table["correct"] / table["n_gold"]
    return table[cols]


def judge_rows(votes: pd.DataFrame) -> pd.DataFrame:
    """One row per AI verdict on a pair the people decided: judge, pair_id, p_a, the judge's side
    code, human_a (1 when the people's outcome is A) and hit (the judge's side is the people's)."""
    ai, human = _against(votes, (Source.AI.value,), HUMAN_SOURCES)
    p_a = ai["p_a"].astype("float64").to_numpy() if "p_a" in ai else np.full(len(ai), np.nan)
    return pd.DataFrame(
        {
            "judge": _judge_names(ai),
            "pair_id": ai["pair_id"].to_numpy(),
            "p_a": p_a,
            "code": ai["code"].to_numpy(),
            "human_code": human,
            "human_a": (human == 0).astype(float),
            "hit": (ai["code"].to_numpy() == human).astype(float),
        }
    )


def judge_agreement(votes: pd.DataFrame, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Each AI judge against the people's outcome on the pairs they decided: the one judge-human
    agreement figure (with its Wilson interval), kappa over sides, and, from the verdicts that carry a
    debiased p_a, log-loss, Brier score and ECE. A judge tie counts as a miss."""
    cols = [
        "judge",
        "n_pairs",
        "agreement",
        "ci_low",
        "ci_high",
        "kappa",
        "log_loss",
        "brier",
        "ece",
    ]
    rows = judge_rows(votes)
    if rows.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for judge, part in rows.groupby("judge", sort=True):
        hits = float(part["hit"].sum())
        lo, hi = wilson_interval(hits, len(part))
        with_p = part[part["p_a"].notna()]
        p = np.clip(with_p["p_a"].to_numpy(), EPS, 1 - EPS)
        y = with_p["human_a"].to_numpy()
        out.append(
            (
                judge,
                len(part),
                hits / len(part),
                lo,
                hi,
                _kappa_codes(part["code"].to_numpy(), part["human_code"].to_numpy(), len(OUTCOMES)),
                float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()) if len(p) else math.nan,
                float(np.mean((p - y) ** 2)) if len(p) else math.nan,
                expected_calibration_error(p, y, n_bins) if len(p) else math.nan,
            )
        )
    return pd.DataFrame(out, columns=cols)


def judge_probabilities(votes: pd.DataFrame) -> pd.DataFrame:
    """judge, p_a and human_a for every judge verdict with a p_a on a pair the people decided: the
    input of a reliability diagram."""
    rows = judge_rows(votes)
    return rows.loc[rows["p_a"].notna(), ["judge", "p_a", "human_a"]].reset_index(drop=True)


def _against(
    votes: pd.DataFrame, sources: tuple[str, ...], reference_sources: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The votes of ``sources`` on pairs the reference sources decided (A or B, by the one outcome
    rule), with a ``code`` column, and that reference outcome code for each of them."""
    source = votes["source"].to_numpy(dtype=object)
    codes = outcome_codes(votes)
    item, pairs = pd.factorize(votes["pair_id"])
    ref = np.isin(source, reference_sources)
    choice = votes["choice"].astype("float64").to_numpy()
    _, _, reference = decide(item[ref], len(pairs), codes[ref], choice[ref])
    # pairs without reference votes come out 'both_bad' (code 3): not decided
    rated = np.flatnonzero(np.isin(source, sources) & (reference[item] < 2))
    out = votes.iloc[rated].assign(code=codes[rated])
    return out, reference[item[rated]]


def _judge_names(ai: pd.DataFrame) -> np.ndarray:
    names = ai["judge_id"].fillna(ai["annotator"]) if "judge_id" in ai else ai["annotator"]
    return names.to_numpy()


def agreement_summary(store: Store, flt: LabelFilter | None = None) -> dict:
    """The headline agreement figures, JSON-ready (NaN becomes None), for ``annotate stats``."""
    votes = store.overlap_votes(flt)
    kappas = pairwise_kappa(votes)
    gold = gold_accuracy(votes)
    judges = judge_agreement(votes)
    weights = kappas.dropna(subset=["kappa"])
    mean_kappa = (
        float(np.average(weights["kappa"], weights=weights["n_pairs"])) if len(weights) else None
    )
    return json_value(
        {
            "overlap_pairs": int(votes["pair_id"].nunique()),
            "krippendorff_alpha": krippendorff_alpha(votes),
            "krippendorff_alpha_ordinal": krippendorff_alpha(votes, scale=True),
            "mean_pairwise_kappa": mean_kappa,
            "annotator_pairs": kappas.to_dict(orient="records"),
            "gold_accuracy": gold.to_dict(orient="records"),
            "judges": judges.to_dict(orient="records"),
        }
    )
