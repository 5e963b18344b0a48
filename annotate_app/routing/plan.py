"""One routing pass over a project: read inputs and the judges' stored calibration, fit the router,
decide, escalate, save; and the project's spend, the one spend figure every page and command shows.

The CLI command and the admin page both call ``preview`` then ``apply``, so what a person previews
is exactly what gets written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from annotate_app import settings
from annotate_app.analytics.calibration import refresh_calibrations
from annotate_app.reward.encoder import response_text, text_key
from annotate_app.routing.budget import BudgetConfig, Spend, allowance, spend
from annotate_app.routing.calibration import JudgeCalibration
from annotate_app.routing.escalation import EscalationConfig, apply_escalations, escalations
from annotate_app.routing.features import pair_features, verdict_only
from annotate_app.routing.learned import LearnedRouter, LearnedRouterConfig
from annotate_app.routing.policies import PolicyConfig, decide
from annotate_app.store import Store


@dataclass
class RoutingConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    escalate: bool = True

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> RoutingConfig:
        data = data or {}
        policy = dict(data.get("policy") or {})
        router = policy.pop("router", None) or {}
        return cls(
            policy=PolicyConfig(**policy, router=LearnedRouterConfig(**router)),
            budget=BudgetConfig(**(data.get("budget") or {})),
            escalation=EscalationConfig(**(data.get("escalation") or {})),
            escalate=bool(data.get("escalate", True)),
        )


@dataclass
class RoutingPlan:
    config: RoutingConfig
    routes: pd.DataFrame
    allowance: int
    spend: Spend
    calibration: str
    importances: pd.Series
    n_escalated: int
    features: pd.DataFrame  # of the open pairs, as the policy saw them
    calibration_versions: dict[str, int] = field(default_factory=dict)  # judge -> version read

    def mix(self) -> dict[str, int]:
        counts = self.routes["route"].value_counts()
        return {r: int(counts.get(r, 0)) for r in ("human", "ai", "hold")}


def load_config(store: Store) -> RoutingConfig:
    return RoutingConfig.from_dict(settings.load(store).routing)


def save_config(store: Store, config: RoutingConfig) -> None:
    settings.update(store, routing=config.as_dict())


def current_spend(store: Store, budget: BudgetConfig | None = None) -> Spend:
    """Labels and verdicts paid for so far, priced by the saved routing costs (their defaults when
    none were saved), against the human budget."""
    budget = budget or load_config(store).budget
    counts = store.spend_counts()
    return spend(budget, counts["human_labels"], counts["judge_calls"], counts["pairs"])


def preview(store: Store, config: RoutingConfig) -> RoutingPlan:
    # A judge's calibration that is refit_every decided pairs behind is refitted (a new stored
    # version) first, so the plan reads a map that has seen the labels given since.
    refresh_calibrations(store)
    pairs = store.routing_pairs()
    judge = store.routing_verdicts()
    scores = store.active_pair_scores()
    outcomes = store.human_outcomes()
    counts = store.routing_counts()
    features = pair_features(
        pairs, judge, scores, _embeddings(store, pairs), llm_tags=store.pair_prompt_tags()
    )
    open_ids = pairs.loc[pairs["open"].astype(bool), "pair_id"]
    open_features = features.loc[open_ids]

    trained = outcomes[outcomes["pair_id"].isin(judge["pair_id"])]
    train_features = features.reindex(trained["pair_id"]).dropna()
    trained = trained.set_index("pair_id").loc[train_features.index]
    calibration = JudgeCalibration.from_store(store)
    router = None
    # A verdict-only judge has no confidence to calibrate: the confidence policy reads P(judge
    # right) from the router's features instead (and its reasons say so).
    needs_router = config.policy.name == "learned" or (
        config.policy.name == "confidence" and verdict_only(judge["p_a"].to_numpy())
    )
    if needs_router:
        router = LearnedRouter(config.policy.router)
        disagree = ((train_features["judge_p_a"] > 0.5).astype(int) != trained["human_a"]).astype(
            int
        )
        # Gold labels that routing never chose (imports) were not selected by it: propensity 1.
        router.fit(
            train_features, disagree.to_numpy(), trained["propensity"].fillna(1.0).to_numpy()
        )

    # Every open pair is routed afresh, human routes still in the queue included, so only labels
    # already given count as spent.
    slots = allowance(
        config.budget, counts["pairs"], counts["human_labels"], counts["age_seconds"] / 3600.0
    )
    escalated = escalations(open_features, config.escalation) if config.escalate else pd.DataFrame()
    n_esc = len(escalated)
    rest = open_features.drop(index=escalated["pair_id"]) if n_esc else open_features
    routes = decide(config.policy, rest, max(0, slots - n_esc), calibration, router)
    if n_esc:
        esc_rows = pd.DataFrame(
            {
                "pair_id": escalated["pair_id"],
                "route": "hold",
                "priority": 0.0,
                "reason": escalated["reason"],
                "score": np.nan,
                "propensity": 1.0,
                "explore": False,
            }
        )
        routes = apply_escalations(
            pd.concat([esc_rows, routes], ignore_index=True), escalated, slots
        )
    return RoutingPlan(
        config=config,
        routes=routes,
        allowance=slots,
        spend=current_spend(store, config.budget),
        calibration=calibration.describe(),
        importances=router.importances() if router is not None else pd.Series(dtype=float),
        n_escalated=n_esc,
        features=open_features,
        calibration_versions={judge: v for judge, (v, _, _) in calibration.maps.items()},
    )


def _embeddings(store: Store, pairs: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both sides' vectors where the reward model's embedding cache has them (same text key)."""
    keys = {
        row.pair_id: (
            text_key(response_text(row.prompt, row.text_a)),
            text_key(response_text(row.prompt, row.text_b)),
        )
        for row in pairs.itertuples()
    }
    vectors = store.embedding_vectors([k for pair in keys.values() for k in pair])
    return {
        pid: (np.asarray(vectors[a], dtype=float), np.asarray(vectors[b], dtype=float))
        for pid, (a, b) in keys.items()
        if a in vectors and b in vectors
    }


def apply(store: Store, plan: RoutingPlan) -> int:
    """Write the previewed routes (one transaction); returns the routing run id."""
    params = {**plan.config.as_dict(), "calibration_versions": plan.calibration_versions}
    return store.save_routes(
        plan.routes, plan.config.policy.name, plan.config.budget.human_budget, params
    )
