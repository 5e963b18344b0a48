"""Model leaderboard, Chatbot Arena style: Bradley-Terry ratings by maximum likelihood over the
battles in the label log, bootstrap confidence intervals, win rates, and position bias.

Every vote between two responses from different named models is one battle; a tie (or both bad)
counts as half a win for each side.

Rank follows Chatbot Arena's rule: 1 + the number of models whose lower 95% bound lies above this
model's upper bound, so models the data cannot tell apart share a rank. ``rank_worst`` is the
lowest rank the intervals allow. A model with fewer than ``min_battles`` battles is marked
``few_battles`` (its rating is provisional), and one whose interval allows every rank is marked
``unranked``: the data cannot place it. Battles are kept as counts per (model, model, outcome) cell, so
a bootstrap round is a multinomial draw over cells (the same as resampling battles) and all rounds
are fitted together by a batched Newton method.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import expit

from annotate_app.labels.sources import HUMAN_SOURCES, PEOPLE
from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter
from annotate_app.store.labels import SOURCES

ELO_SCALE = 400 / math.log(10)  # 400 rating points = 10:1 odds, as on Chatbot Arena
ELO_BASE = 1000.0


@dataclass
class LeaderboardConfig:
    source: str = "all"  # human | ai | import | all
    bootstrap_rounds: int = 200
    l2: float = 1e-6  # only keeps an undefeated model's rating finite
    seed: int = 0
    min_battles: int = 30  # fewer battles than this: the rating is marked provisional
    filter: LabelFilter = field(default_factory=LabelFilter)  # its sources give way to ``source``


@dataclass
class Leaderboard:
    ratings: pd.DataFrame  # RATING_COLUMNS
    win_rate: pd.DataFrame  # row model's win rate against column model (ties half), NaN: never met
    battles: pd.DataFrame  # model_a, model_b, wins_a, wins_b, ties (summed over sources)
    human_position: dict  # left-side win rate of human annotators
    judge_position: dict  # first-position preference of the judges

    def notes(self) -> list[str]:
        """Ratings the data cannot pin down: a model that never lost (or never won) has a maximum-
        likelihood rating at infinity, held finite only by the tiny ridge."""
        out = []
        for r in self.ratings.itertuples():
            if r.few_battles:
                battles = "1 battle" if r.battles == 1 else f"{r.battles} battles"
                out.append(f"{r.model} has only {battles}: its rating is provisional")
            if r.unranked:
                out.append(
                    f"{r.model}: its 95% interval ({r.ci_low:.0f} to {r.ci_high:.0f}) overlaps "
                    "every other model's, too wide to rank"
                )
            if r.losses + r.ties == 0:
                out.append(f"{r.model} never lost: its rating is a lower bound")
            elif r.wins + r.ties == 0:
                out.append(f"{r.model} never won: its rating is an upper bound")
        return out

    def to_json(self) -> dict:
        def records(frame: pd.DataFrame) -> list[dict]:
            return json.loads(frame.to_json(orient="records"))

        return {
            "ratings": records(self.ratings),
            "win_rate": json.loads(self.win_rate.to_json(orient="index")),
            "human_position_bias": self.human_position,
            "judge_position_bias": self.judge_position,
            "notes": self.notes(),
        }


def source_list(source: str) -> tuple[str, ...]:
    if source == "all":
        return SOURCES
    if source == PEOPLE:  # every person's labels: annotators, imported gold, adjudications
        return HUMAN_SOURCES
    if source not in SOURCES:
        raise ValueError(
            f"unknown label source {source!r}; use one of {', '.join(SOURCES)}, {PEOPLE} or all"
        )
    return (source,)


def fit_bradley_terry(
    n_items: int, i: np.ndarray, j: np.ndarray, wins_i: np.ndarray, wins_j: np.ndarray, l2: float
) -> np.ndarray:
    """Maximum-likelihood strengths (natural-log odds, mean zero) for weighted comparisons.

    ``wins_i``/``wins_j`` may be 2-D (rounds x comparisons): every round is fitted at once.
    Minimises -sum[w_i log s(t_i - t_j) + w_j log s(t_j - t_i)] + l2/2 |t|^2 by Newton's method.
    """
    wins_i = np.atleast_2d(np.asarray(wins_i, dtype=float))
    wins_j = np.atleast_2d(np.asarray(wins_j, dtype=float))
    theta = np.zeros((wins_i.shape[0], n_items))
    total = wins_i + wins_j
    incidence = np.zeros((len(i), n_items))  # +1 at the first item, -1 at the second
    incidence[np.arange(len(i)), i] += 1.0
    incidence[np.arange(len(j)), j] -= 1.0
    ridge = l2 * np.eye(n_items)
    for _ in range(100):
        s = expit(theta @ incidence.T)
        grad = l2 * theta - (wins_i - total * s) @ incidence
        hess = (incidence.T * (total * s * (1 - s))[:, None, :]) @ incidence + ridge
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        step = np.clip(step, -4.0, 4.0)  # an undefeated model's rating runs away: stay finite
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def to_elo(theta: np.ndarray) -> np.ndarray:
    return ELO_BASE + ELO_SCALE * theta


def leaderboard(store: Store, config: LeaderboardConfig | None = None) -> Leaderboard:
    config = config or LeaderboardConfig()
    flt = replace(config.filter, sources=source_list(config.source))
    battles = (
        store.battle_counts(flt)
        .groupby(["model_a", "model_b"], as_index=False)[["wins_a", "wins_b", "ties"]]
        .sum()
    )
    return Leaderboard(
        ratings=rate_models(
            battles, config.bootstrap_rounds, config.l2, config.seed, config.min_battles
        ),
        win_rate=win_rate_matrix(battles),
        battles=battles,
        # position bias describes the raters, whichever source the ratings use
        human_position=human_position_bias(store.position_counts(config.filter)),
        judge_position=judge_position_bias(store.judge_order_readings(config.filter)),
    )


RATING_COLUMNS = (
    "rank",
    "rank_worst",
    "model",
    "rating",
    "ci_low",
    "ci_high",
    "battles",
    "wins",
    "losses",
    "ties",
    "few_battles",
    "unranked",
)


def rate_models(
    battles: pd.DataFrame,
    rounds: int = 200,
    l2: float = 1e-6,
    seed: int = 0,
    min_battles: int = 30,
):
    """Ratings (Elo scale), bootstrap 95% intervals, Arena ranks and records from battle counts."""
    cols = list(RATING_COLUMNS)
    if battles.empty:
        return pd.DataFrame(columns=cols)
    models = sorted(set(battles["model_a"]) | set(battles["model_b"]))
    index = {m: k for k, m in enumerate(models)}
    i = battles["model_a"].map(index).to_numpy()
    j = battles["model_b"].map(index).to_numpy()
    wa, wb, ties = (battles[c].to_numpy(dtype=float) for c in ("wins_a", "wins_b", "ties"))
    theta = fit_bradley_terry(len(models), i, j, wa + ties / 2, wb + ties / 2, l2)[0]
    low = high = np.full(len(models), np.nan)
    if rounds > 0:
        # Cells: each (pair of models, outcome); a round redraws every battle among them.
        counts = np.concatenate([wa, wb, ties])
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(int(counts.sum()), counts / counts.sum(), size=rounds)
        n = len(wa)
        d_a, d_b, d_t = draws[:, :n], draws[:, n : 2 * n], draws[:, 2 * n :]
        boot = fit_bradley_terry(len(models), i, j, d_a + d_t / 2, d_b + d_t / 2, l2)
        low, high = np.percentile(to_elo(boot), [2.5, 97.5], axis=0)
    record = _records(battles, models)
    table = pd.DataFrame(
        {
            "model": models,
            "rating": to_elo(theta),
            "ci_low": low,
            "ci_high": high,
            **{k: record[k].to_numpy() for k in ("battles", "wins", "losses", "ties")},
        }
    ).sort_values("rating", ascending=False, ignore_index=True)
    best, worst = arena_ranks(table["rating"], table["ci_low"], table["ci_high"])
    table["rank"], table["rank_worst"] = best, worst
    table["few_battles"] = table["battles"] < min_battles
    table["unranked"] = (best == 1) & (worst == len(table)) & (len(table) > 1)
    return table[cols]


def arena_ranks(
    rating: pd.Series, low: pd.Series, high: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Chatbot Arena's rank, 1 + the models whose lower bound is above this upper bound, and the
    lowest rank the intervals allow, n - the models whose upper bound is below this lower bound.
    Without intervals (no bootstrap) the point ratings stand in for both bounds."""
    lo = np.where(np.isnan(low), rating, low).astype(float)
    hi = np.where(np.isnan(high), rating, high).astype(float)
    best = 1 + (lo[None, :] > hi[:, None]).sum(axis=1)
    worst = len(lo) - (hi[None, :] < lo[:, None]).sum(axis=1)
    return best, worst


def win_rate_matrix(battles: pd.DataFrame) -> pd.DataFrame:
    """Row model's share of wins against the column model, ties counted half."""
    if battles.empty:
        return pd.DataFrame()
    both = pd.concat(
        [
            battles.rename(columns={"model_a": "row", "model_b": "col", "wins_a": "w"}).assign(
                n=battles.wins_a + battles.wins_b + battles.ties
            ),
            battles.rename(columns={"model_b": "row", "model_a": "col", "wins_b": "w"}).assign(
                n=battles.wins_a + battles.wins_b + battles.ties
            ),
        ]
    )
    both["w"] = both["w"] + both["ties"] / 2
    summed = both.groupby(["row", "col"])[["w", "n"]].sum()
    rate = (summed["w"] / summed["n"]).unstack("col")
    models = sorted(set(rate.index) | set(rate.columns))
    return rate.reindex(index=models, columns=models)


def human_position_bias(counts: pd.DataFrame) -> dict:
    """How often the response shown on the left won among decided human labels (0.5: no bias),
    with a 95% normal interval, overall and per annotator."""
    overall = _rate(int(counts["left_wins"].sum()), int(counts["right_wins"].sum()))
    overall["ties"] = int(counts["ties"].sum())
    overall["annotators"] = {
        r.annotator: _rate(int(r.left_wins), int(r.right_wins)) for r in counts.itertuples()
    }
    return overall


def judge_position_bias(verdicts: pd.DataFrame) -> dict:
    """How strongly each judge prefers whatever is shown first, from its raw per-order readings
    (metadata ``p_ab``/``p_ba``: P(first better) with A first, with B first). An unbiased judge
    averages 0.5; the debiased p_a already removes a constant lean."""
    firsts: dict[str, list[float]] = {}
    for judge, meta in zip(verdicts["judge"], verdicts["metadata"], strict=True):
        orders = _order_probs(meta)
        if orders is not None:
            firsts.setdefault(judge, []).append(sum(orders) / 2)
    out = {}
    for judge, values in sorted(firsts.items()):
        arr = np.asarray(values)
        half = 1.96 * arr.std(ddof=1) / math.sqrt(len(arr)) if len(arr) > 1 else math.nan
        out[judge] = {
            "first_position_rate": float(arr.mean()),
            "ci_low": _finite(arr.mean() - half),
            "ci_high": _finite(arr.mean() + half),
            "n": len(arr),
        }
    return out


def _order_probs(meta) -> tuple[float, float] | None:
    if meta is None or (isinstance(meta, float) and math.isnan(meta)):
        return None
    data = json.loads(meta) if isinstance(meta, str) else meta
    try:
        return float(data["p_ab"]), float(data["p_ba"])
    except (KeyError, TypeError, ValueError):
        return None


def _rate(left: int, right: int) -> dict:
    n = left + right
    if n == 0:
        return {"left_win_rate": None, "ci_low": None, "ci_high": None, "n": 0}
    p = left / n
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    return {"left_win_rate": p, "ci_low": max(0.0, p - half), "ci_high": min(1.0, p + half), "n": n}


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _records(battles: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    a = battles.groupby("model_a")[["wins_a", "wins_b", "ties"]].sum()
    b = battles.groupby("model_b")[["wins_b", "wins_a", "ties"]].sum()
    a.columns = b.columns = ["wins", "losses", "ties"]
    record = a.add(b, fill_value=0).reindex(models, fill_value=0).astype(int)
    record["battles"] = record.sum(axis=1)
    return record
