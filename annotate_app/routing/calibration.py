"""How far routing trusts a judge's verdict: P(people agree with the judge's side).

Routing reads each judge's latest stored calibration map (``analytics.calibration``: fitted on the
pairs people decided, versioned, refitted after judge jobs and as labels arrive); it never fits its
own. A judge without a stored map is taken at its own confidence, and a verdict whose two orders
disagreed counts as a coin flip either way: that is what the routes' reasons then say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annotate_app.analytics.agreement import judge_rows
from annotate_app.analytics.calibration import (
    CalibrationConfig,
    CalibrationMap,
    fit_calibration,
    latest_calibrations,
)


class JudgeCalibration:
    def __init__(
        self,
        maps: dict[str, tuple[int, int, CalibrationMap]] | None = None,
        judge_of: pd.Series | None = None,
        config: CalibrationConfig | None = None,
    ) -> None:
        self.config = config or CalibrationConfig()
        self.maps = dict(maps or {})  # judge -> (version, pairs fitted on, map)
        self.judge_of = judge_of if judge_of is not None else pd.Series(dtype=object)
        self.n_pairs = max((n for _, n, _ in self.maps.values()), default=0)
        self.agreement: float | None = None

    @classmethod
    def from_store(cls, store, config: CalibrationConfig | None = None) -> JudgeCalibration:
        """The latest stored map of every judge, and which judge's verdict each pair carries."""
        verdicts = store.routing_verdicts()
        judge_of = pd.Series(verdicts["judge"].to_numpy(), index=verdicts["pair_id"].to_numpy())
        calibration = cls(latest_calibrations(store), judge_of, config)
        rows = judge_rows(store.overlap_votes())  # the one judge-human agreement rule
        if len(rows):
            calibration.agreement = float(rows["hit"].mean())
            calibration.n_pairs = len(rows)
        return calibration

    @property
    def fitted(self) -> bool:
        return bool(self.maps)

    def fit(
        self, judge_p_a: np.ndarray, consistent: np.ndarray, human_a: np.ndarray
    ) -> JudgeCalibration:
        """For a replay without a project (the routing simulation): one map for every verdict,
        fitted by the one calibration fit once there are ``min_pairs`` pairs of both kinds."""
        judge_p_a = np.asarray(judge_p_a, dtype=float)
        human_a = np.asarray(human_a, dtype=int)
        right = (judge_p_a > 0.5) == (human_a == 1)
        self.agreement = float(right.mean()) if len(right) else None
        self.maps = {}
        self.n_pairs = len(human_a)
        if len(human_a) >= self.config.min_pairs and 0 < human_a.sum() < len(human_a):
            cmap = fit_calibration(judge_p_a, human_a, self.config.method)
            self.maps = {"": (1, len(human_a), cmap)}
        return self

    def p_right(
        self,
        judge_p_a: np.ndarray,
        consistent: np.ndarray,
        pair_ids: pd.Index | np.ndarray | None = None,
    ) -> np.ndarray:
        """P(people agree with the verdict) per pair; ``pair_ids`` picks each pair's judge map."""
        judge_p_a = np.asarray(judge_p_a, dtype=float)
        out = 0.5 + np.abs(judge_p_a - 0.5)
        if self.maps:
            judges = (
                self.judge_of.reindex(pair_ids).to_numpy()
                if pair_ids is not None
                else np.full(len(judge_p_a), None)
            )
            for judge, (_, _, cmap) in self.maps.items():
                use = (judges == judge) | ((judge == "") & np.ones(len(out), bool))
                use &= ~np.isnan(judge_p_a)
                if use.any():
                    out[use] = cmap.p_agree(judge_p_a[use])
        return np.where(np.asarray(consistent, dtype=float) > 0.5, out, 0.5)

    def describe(self) -> str:
        if not self.maps:
            return "uncalibrated (judge's own confidence; no stored calibration map yet)"
        parts = [
            f"{judge or 'judge'} v{version} {cmap.method} on {n} human-labeled pairs"
            for judge, (version, n, cmap) in sorted(self.maps.items())
        ]
        return "calibrated: " + "; ".join(parts)
