"""P(judge wrong | pair) from the judge's confidence and order consistency, measured on humans.

A Platt-style logistic map fitted on pairs that carry both a judge verdict and a human label. Until
there are enough of them, the judge's own confidence is taken at face value (and an inconsistent
verdict counts as a coin flip): that prior is what the routes' reasons then say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CalibrationConfig:
    min_pairs: int = 20


class JudgeCalibration:
    def __init__(self, config: CalibrationConfig | None = None) -> None:
        self.config = config or CalibrationConfig()
        self.model = None  # a fitted sklearn LogisticRegression once there are enough labels
        self.n_pairs = 0
        self.agreement: float | None = None

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def fit(
        self, judge_p_a: np.ndarray, consistent: np.ndarray, human_a: np.ndarray
    ) -> JudgeCalibration:
        """``human_a``: 1 where the human preferred A. Fits only with enough pairs of both kinds."""
        judge_p_a = np.asarray(judge_p_a, dtype=float)
        right = ((judge_p_a > 0.5) == (np.asarray(human_a) == 1)).astype(int)
        self.n_pairs = len(right)
        self.agreement = float(right.mean()) if len(right) else None
        self.model = None
        if len(right) >= self.config.min_pairs and 0 < right.sum() < len(right):
            x = self._design(judge_p_a, consistent)
            from sklearn.linear_model import LogisticRegression  # slow import, only when fitting

            self.model = LogisticRegression(C=1.0).fit(x, right)
        return self

    def p_right(self, judge_p_a: np.ndarray, consistent: np.ndarray) -> np.ndarray:
        judge_p_a = np.asarray(judge_p_a, dtype=float)
        if self.model is None:
            own = 0.5 + np.abs(judge_p_a - 0.5)
            return np.where(np.asarray(consistent, dtype=float) > 0.5, own, 0.5)
        return self.model.predict_proba(self._design(judge_p_a, consistent))[:, 1]

    def describe(self) -> str:
        if self.model is None:
            return f"uncalibrated (judge's own confidence; {self.n_pairs} pairs with human labels)"
        return f"calibrated on {self.n_pairs} human-labeled pairs (agreement {self.agreement:.0%})"

    @staticmethod
    def _design(judge_p_a: np.ndarray, consistent: np.ndarray) -> np.ndarray:
        conf = 2 * np.abs(judge_p_a - 0.5)
        return np.column_stack([conf, np.asarray(consistent, dtype=float)])
