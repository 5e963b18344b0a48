"""The HyPER-style router: predict "the judge disagrees with the human" from label-free features.

Trained on pairs that have both a judge verdict and a human label. The human labels of pairs the
router itself chose are a biased sample, so every training pair is weighted by the inverse of the
probability that it was sent to a human (its propensity, stored with the routing decision); the
ε-exploration share keeps that probability above zero for every pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate_app.routing.features import FEATURE_NAMES

ROUTER_MODELS = ("logistic", "gbm")


@dataclass
class LearnedRouterConfig:
    model: str = "logistic"
    epsilon: float = 0.1  # share of the human budget sent to uniformly random pairs
    refit_every: int = 50  # new human labels between refits
    min_train: int = 30  # fewer training pairs (or one class only): not fitted
    max_weight: float = 20.0  # clip of inverse-propensity weights, against a few huge weights
    C: float = 0.3


class LearnedRouter:
    def __init__(self, config: LearnedRouterConfig | None = None) -> None:
        self.config = config or LearnedRouterConfig()
        if self.config.model not in ROUTER_MODELS:
            raise ValueError(
                f"unknown router model {self.config.model!r}; use one of {ROUTER_MODELS}"
            )
        self.model = None
        self.n_train = 0
        self.labels_at_fit = -1

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def needs_refit(self, n_labels: int) -> bool:
        return self.labels_at_fit < 0 or n_labels - self.labels_at_fit >= self.config.refit_every

    def fit(
        self,
        features: pd.DataFrame,
        disagree: np.ndarray,
        propensity: np.ndarray | None = None,
        n_labels: int | None = None,
    ) -> LearnedRouter:
        """``disagree``: 1 where the judge's pick differed from the human's."""
        y = np.asarray(disagree, dtype=int)
        self.n_train = len(y)
        self.labels_at_fit = len(y) if n_labels is None else n_labels
        self.model = None
        if len(y) < self.config.min_train or y.min() == y.max():
            return self
        p = np.ones(len(y)) if propensity is None else np.asarray(propensity, dtype=float)
        weight = np.clip(1.0 / np.clip(p, 1e-6, 1.0), 1.0, self.config.max_weight)
        x = features[list(FEATURE_NAMES)].to_numpy(dtype=float)
        # scikit-learn is imported on first fit, so commands that only name policies start fast
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.config.model == "logistic":
            model = make_pipeline(
                StandardScaler(), LogisticRegression(C=self.config.C, max_iter=1000)
            )
            model.fit(x, y, logisticregression__sample_weight=weight)
        else:
            model = GradientBoostingClassifier(
                n_estimators=100, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=0
            )
            model.fit(x, y, sample_weight=weight)
        self.model = model
        return self

    def p_disagree(self, features: pd.DataFrame) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("the learned router is not fitted yet")
        return self.model.predict_proba(features[list(FEATURE_NAMES)].to_numpy(dtype=float))[:, 1]

    def importances(self) -> pd.Series:
        """How much each feature drives the prediction, largest first (|standardised coef| for the
        logistic model, impurity importance for boosting); signed coefficients where available."""
        if self.model is None:
            return pd.Series(dtype=float)
        if self.config.model == "logistic":
            values = self.model[-1].coef_[0]
        else:
            values = self.model.feature_importances_
        series = pd.Series(values, index=list(FEATURE_NAMES), name="importance")
        return series.reindex(series.abs().sort_values(ascending=False).index)
