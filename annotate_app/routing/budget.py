"""The human budget, its pacing, and what labels cost.

Pacing releases the budget in proportion to how much of the expected pool has arrived (and, with a
horizon, how much of the time has passed), so the first hour's pairs cannot use it all. The
allowance counts human routes still waiting in the queue as already committed, so repeated routing
never hands out more than the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class BudgetConfig:
    human_budget: float = 0.25  # <= 1: a fraction of the pairs; > 1: an absolute number of labels
    expected_pairs: int | None = None  # the pool size the budget is paced over (None: pairs so far)
    horizon_hours: float | None = None  # also pace over time (None: arrivals only)
    cost_human: float = 1.0  # per human label
    cost_judge: float = 0.002  # per judge verdict (both orders)

    def __post_init__(self) -> None:
        if self.human_budget < 0:
            raise ValueError(f"human budget must be >= 0, got {self.human_budget}")
        if self.human_budget > 1 and self.human_budget != int(self.human_budget):
            raise ValueError(
                f"human budget {self.human_budget}: use a fraction in [0, 1] or a whole count"
            )
        if self.cost_human < 0 or self.cost_judge < 0:
            raise ValueError("costs must be >= 0")


def total_budget(config: BudgetConfig, n_pairs: int) -> int:
    """Human labels allowed over the whole pool."""
    pool = max(n_pairs, config.expected_pairs or 0)
    if config.human_budget <= 1:
        return int(math.floor(config.human_budget * pool + 1e-9))
    return int(config.human_budget)


def pace(config: BudgetConfig, n_pairs: int, elapsed_hours: float | None = None) -> float:
    """The share of the total budget released so far, in [0, 1]."""
    progress = 1.0 if not config.expected_pairs else min(1.0, n_pairs / config.expected_pairs)
    if config.horizon_hours:
        progress = min(progress, max(0.0, (elapsed_hours or 0.0) / config.horizon_hours))
    return progress


def allowance(
    config: BudgetConfig, n_pairs: int, committed: int, elapsed_hours: float | None = None
) -> int:
    """Pairs that may be sent to humans now: released budget minus labels given or queued."""
    released = int(math.floor(total_budget(config, n_pairs) * pace(config, n_pairs, elapsed_hours)))
    return max(0, released - committed)


@dataclass
class Spend:
    human_labels: int
    judge_calls: int
    human_cost: float
    judge_cost: float
    budget_labels: int

    @property
    def total(self) -> float:
        return self.human_cost + self.judge_cost

    def as_dict(self) -> dict[str, float]:
        return {
            "human_labels": self.human_labels,
            "judge_calls": self.judge_calls,
            "human_cost": self.human_cost,
            "judge_cost": self.judge_cost,
            "total_cost": self.total,
            "budget_labels": self.budget_labels,
        }


def spend(config: BudgetConfig, human_labels: int, judge_calls: int, n_pairs: int) -> Spend:
    return Spend(
        human_labels=human_labels,
        judge_calls=judge_calls,
        human_cost=human_labels * config.cost_human,
        judge_cost=judge_calls * config.cost_judge,
        budget_labels=total_budget(config, n_pairs),
    )
