"""How far raters agree: Cohen's kappa per annotator pair, Krippendorff's alpha, gold accuracy, and
each AI judge against the humans.

Votes are compared on their outcome (A wins, B wins, tie, both bad), not on the strength of the
preference: "A much better" and "A better" are the same decision, and the 5-point scale is reported
separately as an ordinal alpha.
"""

from __future__ import annotations

import itertools
import math

import krippendorff
import numpy as np
import pandas as pd

from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter

OUTCOMES = ("a", "b", "tie", "both_bad")
# Reference labels for the judge: people, whether they labeled here or in an imported dataset.
HUMAN_SOURCES = ("human", "import")


def vote_outcomes(votes: pd.DataFrame) -> pd.Series:
    """'a', 'b', 'tie' or 'both_bad' for each vote (a frame with ``choice`` and ``both_bad``)."""
    labels = np.asarray(OUTCOMES, dtype=object)[_outcome_codes(votes)]
    return pd.Series(labels, index=votes.index, name="outcome")


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
    grid[item, rater] = _outcome_codes(chosen)
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


def _outcome_codes(votes: pd.DataFrame) -> np.ndarray:
    """Index into OUTCOMES of every vote."""
    choice = votes["choice"].astype("float64").to_numpy()
    both_bad = votes["both_bad"].fillna(False).astype(bool).to_numpy()
    return np.select([both_bad, choice > 0, choice < 0], [3, 0, 1], default=2)


def krippendorff_alpha(
    votes: pd.DataFrame, sources: tuple[str, ...] = ("human",), scale: bool = False
) -> float:
    """Alpha over every rater of the chosen sources: nominal on outcomes, or ordinal on the 5-point
    choice (``scale=True``, both-bad votes left out). NaN when fewer than two values occur."""
    if scale:
        votes = votes[~votes["both_bad"].fillna(False).astype(bool)]
        values = votes.assign(value=votes["choice"].astype("float64"))
    else:
        values = votes.assign(value=_outcome_codes(votes).astype("float64"))
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


def gold_accuracy(votes: pd.DataFrame) -> pd.DataFrame:
    """Each human annotator against the imported labels (gold) on the pairs both labeled.

    Gold is the majority of the import votes on a pair; pairs whose import votes do not decide for
    A or B are no gold. A human tie or both-bad on a gold pair counts as a miss.
    """
    cols = ["annotator", "n_gold", "correct", "accuracy"]
    human, gold = _against(votes, "human", ("import",))
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


def judge_agreement(votes: pd.DataFrame) -> pd.DataFrame:
    """Each AI judge against the human majority on pairs where the humans decided A or B.

    Agreement counts a judge tie as a miss. Log-loss uses the judge's debiased p_a where it has one.
    """
    cols = ["judge", "n_pairs", "agreement", "kappa", "log_loss"]
    ai, human = _against(votes, "ai", HUMAN_SOURCES)
    if ai.empty:
        return pd.DataFrame(columns=cols)
    p_a = ai["p_a"].astype("float64").clip(1e-6, 1 - 1e-6).to_numpy()
    y = (human == 0).astype(float)
    loss = -(y * np.log(p_a) + (1 - y) * np.log(1 - p_a))
    rows = []
    for judge, idx in pd.Series(np.arange(len(ai))).groupby(_judge_names(ai)).groups.items():
        idx = np.asarray(idx)
        has_p = ~np.isnan(loss[idx])
        rows.append(
            (
                judge,
                len(idx),
                float(np.mean(ai["code"].to_numpy()[idx] == human[idx])),
                _kappa_codes(ai["code"].to_numpy()[idx], human[idx], len(OUTCOMES)),
                float(loss[idx][has_p].mean()) if has_p.any() else math.nan,
            )
        )
    return pd.DataFrame(rows, columns=cols).sort_values("judge", ignore_index=True)


def judge_probabilities(votes: pd.DataFrame) -> pd.DataFrame:
    """judge, p_a and human_a (1 when the human majority chose A) for every judge verdict with a
    p_a on a pair the humans decided: the input of a reliability diagram."""
    ai, human = _against(votes, "ai", HUMAN_SOURCES)
    keep = ai["p_a"].notna().to_numpy()
    return pd.DataFrame(
        {
            "judge": _judge_names(ai)[keep],
            "p_a": ai["p_a"].astype("float64").to_numpy()[keep],
            "human_a": (human[keep] == 0).astype(float),
        }
    )


def _against(
    votes: pd.DataFrame, source: str, reference_sources: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The votes of ``source`` on pairs where the reference sources' majority decided A or B
    (with a ``code`` column), and that reference outcome code for each of them."""
    reference = _majority(votes[votes["source"].isin(reference_sources)])
    reference = reference[reference.isin(["a", "b"])]
    rated = votes[votes["source"] == source]
    where = reference.index.get_indexer(rated["pair_id"])
    rated = rated[where >= 0]
    rated = rated.assign(code=_outcome_codes(rated))
    codes = np.where(reference.to_numpy() == "a", 0, 1)[where[where >= 0]]
    return rated, codes


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
    return _jsonable(
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


def _majority(votes: pd.DataFrame) -> pd.Series:
    """The strict-majority outcome per pair; 'tie' where no outcome has more votes than each other."""
    if votes.empty:
        return pd.Series(dtype=object)
    item, pairs = pd.factorize(votes["pair_id"])
    counts = np.zeros((len(pairs), len(OUTCOMES)), dtype=int)
    np.add.at(counts, (item, _outcome_codes(votes)), 1)
    top = counts.max(axis=1)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    winner = np.where(unique_top, np.asarray(OUTCOMES, dtype=object)[counts.argmax(axis=1)], "tie")
    return pd.Series(winner, index=pairs)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
