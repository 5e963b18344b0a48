"""How far each AI judge can be trusted: its verdicts measured against human (or gold) labels.

Only pairs with a human or imported label count, and pairs the humans tied are left out: a judge is
scored on whether it picks the side people picked. The calibration map turns a judge's ``p_a`` into
the probability that humans prefer A, so routing can read "how likely is this verdict right".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from annotate_app.store import Store

METHODS = ("isotonic", "platt")
_EPS = 1e-6


@dataclass
class CalibrationConfig:
    n_bins: int = 10  # equal-width bins of p_a for ECE and the reliability curve
    min_pairs: int = 10  # fewer labeled pairs than this: no calibration map is fitted
    length_bins: int = 4  # quantile bins of prompt length for agreement by length


def labeled_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows where humans preferred a side, with ``y`` = 1 when they preferred A."""
    out = frame[frame["human_mean_choice"] != 0].copy()
    out["y"] = (out["human_mean_choice"] > 0).astype(int)
    out["judge_a"] = (out["p_a"] > 0.5).astype(int)
    out["agree"] = (out["judge_a"] == out["y"]).astype(float)
    out.loc[out["p_a"] == 0.5, "agree"] = 0.5  # a judge on the fence is right half the time
    return out


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def reliability_curve(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per bin of p_a: the mean p_a, the share of pairs humans gave to A, and the count."""
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


def expected_calibration_error(curve: pd.DataFrame) -> float:
    if curve.empty:
        return float("nan")
    weights = curve["count"] / curve["count"].sum()
    return float((weights * (curve["mean_p_a"] - curve["frac_a"]).abs()).sum())


def judge_metrics(frame: pd.DataFrame, config: CalibrationConfig | None = None) -> dict[str, Any]:
    """The figures for one judge's rows of ``Store.judge_eval_frame``."""
    config = config or CalibrationConfig()
    rows = labeled_outcomes(frame)
    n = len(rows)
    # verdicts stored without both orders (e.g. imported AI labels) have no consistency flag
    flags = frame["consistent"].dropna()
    consistency = float(flags.astype(float).mean()) if len(flags) else float("nan")
    if n == 0:
        return {"n": 0, "n_verdicts": len(frame), "consistency_rate": consistency}
    p = rows["p_a"].to_numpy(float)
    y = rows["y"].to_numpy(int)
    curve = reliability_curve(p, y, config.n_bins)
    agree = float(rows["agree"].sum())
    from sklearn.metrics import cohen_kappa_score, log_loss  # slow to import: only on use

    kappa = (
        float(cohen_kappa_score(y, rows["judge_a"]))
        if len(set(y)) > 1 or len(set(rows["judge_a"])) > 1
        else float("nan")
    )
    return {
        "n": n,
        "n_verdicts": len(frame),
        "agreement": agree / n,
        "agreement_ci95": wilson_interval(agree, n),
        "kappa": kappa,
        "log_loss": float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1])),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": expected_calibration_error(curve),
        "consistency_rate": consistency,
        "human_a_rate": float(y.mean()),
        "reliability": curve.to_dict("records"),
    }


def agreement_by(
    frame: pd.DataFrame, column: str, config: CalibrationConfig | None = None
) -> pd.DataFrame:
    """Agreement per category, or per prompt-length quantile bin when ``column`` is prompt_chars."""
    config = config or CalibrationConfig()
    rows = labeled_outcomes(frame)
    if rows.empty or column not in rows or rows[column].isna().all():
        return pd.DataFrame(columns=["judge_id", column, "n", "agreement", "ci_low", "ci_high"])
    if column == "prompt_chars":
        binned = pd.qcut(rows[column], q=config.length_bins, duplicates="drop")
        rows[column] = binned.map(lambda iv: f"{int(iv.left) + 1}-{int(iv.right)} chars")
    out = []
    for (judge_id, key), group in rows.groupby(["judge_id", column], observed=True, sort=True):
        lo, hi = wilson_interval(group["agree"].sum(), len(group))
        out.append(
            {
                "judge_id": judge_id,
                column: key,
                "n": len(group),
                "agreement": group["agree"].mean(),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return pd.DataFrame(out)


@dataclass
class CalibrationMap:
    """judge p_a -> P(humans prefer A); stored as plain numbers, never as a pickle."""

    method: str
    params: dict[str, Any]

    def p_human_a(self, p_a: np.ndarray | float) -> np.ndarray:
        p = np.clip(np.asarray(p_a, dtype=float), _EPS, 1 - _EPS)
        if self.method == "isotonic":
            return np.interp(p, self.params["x"], self.params["y"])
        z = self.params["coef"] * np.log(p / (1 - p)) + self.params["intercept"]
        return 1 / (1 + np.exp(-z))

    def p_agree(self, p_a: np.ndarray | float) -> np.ndarray:
        """P(humans agree with the judge's side): what routing trusts a verdict by."""
        q = self.p_human_a(p_a)
        return np.where(np.asarray(p_a) >= 0.5, q, 1 - q)


def fit_calibration(p_a: np.ndarray, y: np.ndarray, method: str = "isotonic") -> CalibrationMap:
    if method not in METHODS:
        raise ValueError(f"calibration method must be one of {METHODS}, not {method!r}")
    p = np.clip(np.asarray(p_a, dtype=float), _EPS, 1 - _EPS)
    y = np.asarray(y, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("calibration needs human labels for both sides (A and B wins)")
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

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


def judge_report(store: Store, config: CalibrationConfig | None = None) -> dict[str, dict]:
    """Figures per judge, with the latest stored calibration version of each."""
    frame = store.judge_eval_frame()
    report = {}
    for judge_id in store.judge_ids():
        rows = frame[frame["judge_id"] == judge_id]
        metrics = judge_metrics(rows, config)
        latest = store.latest_judge_calibration(judge_id)
        metrics["calibration"] = (
            None
            if latest is None
            else {k: latest[k] for k in ("version", "method", "n_pairs", "params", "created_at")}
        )
        report[judge_id] = metrics
    return report


def refit_calibration(
    store: Store, judge_id: str, method: str = "isotonic", config: CalibrationConfig | None = None
) -> int:
    """Fit the judge's calibration map on every labeled pair and store it as a new version."""
    config = config or CalibrationConfig()
    rows = labeled_outcomes(store.judge_eval_frame(judge_id))
    if len(rows) < config.min_pairs:
        raise ValueError(
            f"judge {judge_id} has {len(rows)} pairs with human labels; "
            f"calibration needs at least {config.min_pairs}"
        )
    cmap = fit_calibration(rows["p_a"].to_numpy(), rows["y"].to_numpy(), method)
    metrics = judge_metrics(store.judge_eval_frame(judge_id), config)
    metrics.pop("reliability", None)
    return store.save_judge_calibration(judge_id, cmap.method, cmap.params, len(rows), metrics)


def latest_calibration_map(store: Store, judge_id: str) -> CalibrationMap | None:
    row = store.latest_judge_calibration(judge_id)
    return None if row is None else CalibrationMap(row["method"], row["params"])
