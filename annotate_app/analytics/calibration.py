"""How far each AI judge can be trusted, and the one calibration map routing reads.

The judge's figures are the ones of ``analytics.agreement.judge_agreement`` (judge against the
people's outcome on the pairs they decided), so the judge page, ``annotate judge-report``, the
dashboard and ``annotate stats`` report the same numbers. The calibration map turns a judge's
``p_a`` into the probability that people prefer A. It is fitted on the pairs people decided, stored
as a numbered version, refitted after each judge job and once ``refit_every`` more decided pairs have
arrived (``refresh_calibrations``), and routing reads the latest stored version: it never fits its
own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from annotate_app.analytics.agreement import (
    ECE_BINS,
    judge_agreement,
    judge_rows,
    wilson_interval,
)
from annotate_app.reward.metrics import EPS

if TYPE_CHECKING:
    from annotate_app.store import Store

Method = Literal["isotonic", "platt"]
METHODS: tuple[str, ...] = ("isotonic", "platt")

__all__ = ["wilson_interval"]  # the share interval lives in agreement; benchmarks import it here


@dataclass
class CalibrationConfig:
    n_bins: int = ECE_BINS  # equal-width bins of p_a for the reliability curve and ECE
    min_pairs: int = 10  # fewer decided pairs than this: no calibration map is fitted
    refit_every: int = 20  # decided pairs added since the latest version that trigger a refit
    method: Method = "isotonic"  # for a judge's first version; later ones keep the latest's method
    length_bins: int = 4  # quantile bins of prompt length for agreement by length


def reliability_curve(p: np.ndarray, y: np.ndarray, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Per bin of p_a: the mean p_a, the share of pairs people gave to A, and the count."""
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = idx == b
        if mask.any():
            rows.append(
                {
                    "bin_low": edges[b],
                    "bin_high": edges[b + 1],
                    "mean_p_a": float(p[mask].mean()),
                    "frac_a": float(y[mask].mean()),
                    "count": int(mask.sum()),
                }
            )
    return pd.DataFrame(rows, columns=["bin_low", "bin_high", "mean_p_a", "frac_a", "count"])


def judge_eval_frame(store: Store) -> pd.DataFrame:
    """``agreement.judge_rows`` of the project with each pair's prompt length and category: the
    rows every judge figure is computed from."""
    rows = judge_rows(store.overlap_votes())
    facets = store.pair_facets(rows["pair_id"].unique().tolist())
    return rows.merge(facets, on="pair_id", how="left")


def _consistency(verdicts: pd.DataFrame) -> float:
    """Share of verdicts whose two orders agreed; NaN when none records it (imported AI labels)."""
    flags = verdicts["consistent"].dropna()
    return float(flags.astype(float).mean()) if len(flags) else math.nan


def judge_report(store: Store, config: CalibrationConfig | None = None) -> dict[str, dict]:
    """Figures per judge, with its latest stored calibration version. ``n`` is the number of pairs
    the people decided that the judge also labeled; ``agreement`` and the rest are NaN-free only
    where n > 0."""
    config = config or CalibrationConfig()
    votes = store.overlap_votes()
    table = judge_agreement(votes, config.n_bins).set_index("judge")
    probs = judge_rows(votes)
    verdicts = store.judge_verdicts()
    report = {}
    for judge_id in store.judge_ids():
        mine = verdicts[verdicts["judge_id"] == judge_id]
        metrics: dict[str, Any] = {
            "n": 0,
            "n_verdicts": len(mine),
            "consistency_rate": _consistency(mine),
        }
        if judge_id in table.index:
            row = table.loc[judge_id]
            metrics.update(
                n=int(row["n_pairs"]),
                agreement=float(row["agreement"]),
                agreement_ci95=(float(row["ci_low"]), float(row["ci_high"])),
                kappa=float(row["kappa"]),
                log_loss=float(row["log_loss"]),
                brier=float(row["brier"]),
                ece=float(row["ece"]),
            )
            part = probs[(probs["judge"] == judge_id) & probs["p_a"].notna()]
            metrics["human_a_rate"] = float(part["human_a"].mean()) if len(part) else math.nan
            metrics["reliability"] = reliability_curve(
                part["p_a"].to_numpy(), part["human_a"].to_numpy(), config.n_bins
            ).to_dict("records")
        latest = store.latest_judge_calibration(judge_id)
        metrics["calibration"] = (
            None
            if latest is None
            else {k: latest[k] for k in ("version", "method", "n_pairs", "params", "created_at")}
        )
        report[judge_id] = metrics
    return report


def length_bins(chars: pd.Series, n_bins: int) -> pd.Series:
    """Prompt lengths as quantile bins labelled "lo-hi chars"; one bin when every length is equal."""
    values = chars.astype("float64")
    edges = np.unique(np.quantile(values.dropna(), np.linspace(0, 1, n_bins + 1)))
    if len(edges) < 2:
        return values.map(lambda v: f"{int(v)} chars" if v == v else "unknown")
    binned = pd.cut(values, bins=edges, include_lowest=True, duplicates="drop")
    labels = binned.map(lambda iv: f"{math.floor(iv.left) + 1}-{int(iv.right)} chars")
    return labels.astype(object).where(binned.notna(), "unknown")


def agreement_by(
    frame: pd.DataFrame, column: str, config: CalibrationConfig | None = None
) -> pd.DataFrame:
    """Agreement per category, or per prompt-length quantile bin when ``column`` is prompt_chars.
    ``frame`` is ``judge_eval_frame``: a hit is the one judge-human agreement rule."""
    config = config or CalibrationConfig()
    cols = ["judge", column, "n", "agreement", "ci_low", "ci_high"]
    if frame.empty or column not in frame or frame[column].isna().all():
        return pd.DataFrame(columns=cols)
    rows = frame.copy()
    if column == "prompt_chars":
        rows[column] = length_bins(rows[column], config.length_bins)
    rows[column] = rows[column].fillna("unknown")
    out = []
    for (judge, key), group in rows.groupby(["judge", column], sort=True):
        lo, hi = wilson_interval(group["hit"].sum(), len(group))
        out.append((judge, key, len(group), float(group["hit"].mean()), lo, hi))
    return pd.DataFrame(out, columns=cols)


@dataclass
class CalibrationMap:
    """judge p_a -> P(people prefer A); stored as plain numbers, never as a pickle."""

    method: str
    params: dict[str, Any]

    def p_human_a(self, p_a: np.ndarray | float) -> np.ndarray:
        p = np.clip(np.asarray(p_a, dtype=float), EPS, 1 - EPS)
        if self.method == "isotonic":
            return np.interp(p, self.params["x"], self.params["y"])
        z = self.params["coef"] * np.log(p / (1 - p)) + self.params["intercept"]
        return 1 / (1 + np.exp(-z))

    def p_agree(self, p_a: np.ndarray | float) -> np.ndarray:
        """P(people agree with the judge's side): what routing trusts a verdict by."""
        q = self.p_human_a(p_a)
        return np.where(np.asarray(p_a) >= 0.5, q, 1 - q)


def fit_calibration(p_a: np.ndarray, y: np.ndarray, method: str = "isotonic") -> CalibrationMap:
    """Fit p_a -> P(people prefer A). A/B is the sorted order of two ids and says nothing, so every
    pair is fitted in both orientations (p, y) and (1 - p, 1 - y): the map is symmetric, and a
    verdict for B is trusted as far as an equally sure verdict for A."""
    if method not in METHODS:
        raise ValueError(f"calibration method must be one of {METHODS}, not {method!r}")
    p = np.clip(np.asarray(p_a, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("calibration needs human labels for both sides (A and B wins)")
    p, y = np.concatenate([p, 1 - p]), np.concatenate([y, 1 - y])
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression  # slow to import: only on use

        iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
        return CalibrationMap(
            "isotonic", {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
        )
    logit = np.log(p / (1 - p)).reshape(-1, 1)
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6).fit(logit, y)
    return CalibrationMap(
        "platt", {"coef": float(lr.coef_[0, 0]), "intercept": float(lr.intercept_[0])}
    )


def _fit_rows(store: Store, judge_id: str) -> pd.DataFrame:
    rows = judge_rows(store.overlap_votes())
    return rows[(rows["judge"] == judge_id) & rows["p_a"].notna()]


def refit_calibration(
    store: Store, judge_id: str, method: str = "isotonic", config: CalibrationConfig | None = None
) -> int:
    """Fit the judge's calibration map on every pair the people decided and store it as a new
    version; returns the version number."""
    config = config or CalibrationConfig()
    rows = _fit_rows(store, judge_id)
    if len(rows) < config.min_pairs:
        raise ValueError(
            f"judge {judge_id} has {len(rows)} pairs with human labels; "
            f"calibration needs at least {config.min_pairs}"
        )
    cmap = fit_calibration(rows["p_a"].to_numpy(), rows["human_a"].to_numpy(), method)
    figures = judge_report(store, config).get(judge_id, {})
    metrics = {k: v for k, v in figures.items() if k not in ("reliability", "calibration")}
    return store.save_judge_calibration(judge_id, cmap.method, cmap.params, len(rows), metrics)


def refresh_calibrations(
    store: Store, config: CalibrationConfig | None = None, any_new: bool = False
) -> dict[str, int]:
    """Store a new calibration version for every judge without one (once it has ``min_pairs``
    decided pairs) or whose latest version is ``refit_every`` decided pairs behind (with
    ``any_new``, after a judge job: any new decided pair). Returns the new version per judge
    refitted; a judge whose pairs cannot be fitted yet (one-sided labels) is left as it is."""
    config = config or CalibrationConfig()
    rows = judge_rows(store.overlap_votes())
    rows = rows[rows["p_a"].notna()]
    step = 1 if any_new else config.refit_every
    written = {}
    for judge_id in store.judge_ids():
        n = int((rows["judge"] == judge_id).sum())
        latest = store.latest_judge_calibration(judge_id)
        behind = n - (0 if latest is None else int(latest["n_pairs"]))
        if n < config.min_pairs or (latest is not None and behind < step):
            continue
        method = config.method if latest is None else latest["method"]
        try:
            written[judge_id] = refit_calibration(store, judge_id, method, config)
        except ValueError:
            continue
    return written


def latest_calibrations(store: Store) -> dict[str, tuple[int, int, CalibrationMap]]:
    """(version, pairs fitted on, map) of the latest stored version of every judge that has one."""
    out = {}
    for judge_id in store.judge_ids():
        row = store.latest_judge_calibration(judge_id)
        if row is not None:
            out[judge_id] = (
                int(row["version"]),
                int(row["n_pairs"]),
                CalibrationMap(row["method"], row["params"]),
            )
    return out
