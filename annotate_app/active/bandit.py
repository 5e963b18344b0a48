"""`auto`: choose the acquisition strategy per project by evidence ("active learning by learning",
Hsu & Lin 2015).

Every batch has two parts. A fixed random share is drawn uniformly from the open pairs, whatever
the bandit thinks; the rest comes from one arm (a strategy from ``acquisition.STRATEGIES``) drawn
with known probabilities. The random share is what makes the evidence honest: it is a sample of the
open pool that no model chose, so the next model's log-likelihood on it, minus the previous model's,
is an unbiased estimate of how much the last batch improved the model on the pool. That gain is
credited to the arm that chose the batch, divided by the probability it had of being drawn
(importance weighting), so each arm's mean gain per round is estimated without bias whichever arm
was drawn. Arms are compared to ``random`` on the same rounds.

The bandit starts on random and leaves it only for an arm whose gain over random has a lower bound
above zero, where the bound is a Student t bound at ``alpha / 2`` split over the arms compared
with random (Bonferroni: the intervals hold together with probability 1 - alpha, so the chance that
an arm no better than random leads stays under ``alpha / 2`` per look; for the first rejection
Holm's step-down is the same bound), and only once that arm has
chosen ``min_pulls`` measured batches itself (an arm never drawn has no variance of its own, and
its interval would be the mirror of random's noise).

Exploration is what `auto` pays for that evidence: a round that draws an arm worse than random
costs the model a worse batch. Two rules keep that price down.

- **It grows with the project** (``explore_ramp``): after t rounds, ``explore * t / (t +
  explore_ramp)`` of the draw probability is spread over the arms, none in the first round. An
  early batch is a large part of the model's labels, so a bad one costs most accuracy then, while
  the evidence it buys can only be acted on tens of rounds later (the bound needs them); a later
  exploratory batch is a small part of many labels and buys the same evidence.
- **An arm proven worse is no longer explored** (``eliminate``, successive elimination): once an
  arm has ``min_pulls`` measured batches of its own and the upper end of its interval over random
  is below zero, its exploration share goes to the leader. Drawing it again could only cost. A
  false elimination is as rare as a false lead (the same corrected bound), and it is final.

Every draw probability is fixed before the draw and recorded in the round, so the importance
weights stay unbiased under both rules; an arm is estimated only over the rounds in which it could
be drawn (probability > 0), paired with random's terms on those same rounds. An eliminated arm
therefore keeps the estimate that eliminated it.

Why exploration draws a whole batch's arm part and not a small slice of many batches: the gain is
measured on the next uniform share, a few labeled pairs, so its noise is fixed per round. A slice
s of a batch moves the round's gain by about s times the arm's difference (if pairs add up), so to
estimate the difference one must divide by s, which multiplies the noise's variance by 1 / s^2,
while the labels spent fall only by s. Per label spent, a slice buys s times less evidence than a
whole batch drawn s times as often; and without the division the estimate is of a mixed batch, not
of the arm. So the price is lowered through the draw probability, never the slice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from annotate_app.active.acquisition import Candidates, acquire

BASELINE = "random"
AUTO = "auto"


@dataclass
class BanditConfig:
    arms: tuple[str, ...] = ("random", "bald", "entropy", "balpm", "random_cluster")
    random_share: float = 0.2  # of every batch: drawn uniformly, the evaluation sample
    explore: float = 0.3  # the most of a round's draw probability spread evenly over the arms
    explore_ramp: int = 10  # rounds drawn by which exploration reaches half of ``explore``
    eliminate: bool = True  # an arm proven worse than random is no longer explored
    alpha: float = 0.05  # family-wise error of the arms' intervals against random (two-sided)
    min_rounds: int = 4  # rounds with a measured gain before any arm can lead
    min_pulls: int = 2  # measured batches an arm must have chosen itself before it can lead

    def __post_init__(self) -> None:
        if BASELINE not in self.arms:
            raise ValueError(f"auto's arms must include {BASELINE!r}, got {self.arms}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if not 0 <= self.explore <= 1:
            raise ValueError(f"explore must be in [0, 1], got {self.explore}")
        if self.explore_ramp < 0:
            raise ValueError(f"explore_ramp must be >= 0, got {self.explore_ramp}")

    def explore_share(self, drawn: int) -> float:
        """The draw probability spread evenly over the arms after ``drawn`` rounds."""
        if self.explore_ramp == 0:
            return self.explore
        return self.explore * drawn / (drawn + self.explore_ramp)

    def bound(self, measured: int) -> float:
        """Half-width of an arm's interval, in standard errors, after ``measured`` rounds: the
        t quantile at alpha split over both sides and the arms compared with random
        (Bonferroni), so the intervals hold together with probability 1 - alpha."""
        if measured < 2:
            return math.inf
        return _t_quantile(1 - self.alpha / (2 * max(1, len(self.arms) - 1)), measured - 1)


@dataclass
class Round:
    """One batch: the arm that chose it, every arm's draw probability, and its measured gain (the
    next model's mean log-likelihood minus the previous model's, on the next random share; None
    until those labels arrive)."""

    arm: str
    probs: dict[str, float]
    gain: float | None = None
    baseline: float = 0.0  # mean measured gain before this round was drawn (a control variate)


@dataclass
class ArmEstimate:
    arm: str
    pulls: int
    gain: float  # importance-weighted mean gain per round
    vs_random: float  # gain - random's gain, over the same rounds
    low: float  # interval on vs_random
    high: float


@dataclass
class AutoBandit:
    config: BanditConfig = field(default_factory=BanditConfig)
    rounds: list[Round] = field(default_factory=list)

    def measured(self) -> list[Round]:
        return [r for r in self.rounds if r.gain is not None]

    def estimates(self) -> list[ArmEstimate]:
        """Each arm's importance-weighted gain and its difference from random, with an interval,
        over the measured rounds in which the arm could be drawn."""
        rounds = self.measured()
        arms = self.config.arms
        if not rounds:
            return [ArmEstimate(a, 0, 0.0, 0.0, -math.inf, math.inf) for a in arms]
        probs = _probs(rounds, arms)
        terms = _terms(rounds, arms, probs)
        base = arms.index(BASELINE)
        rows = (probs > 0) & (probs[:, [base]] > 0)  # rounds that could draw the arm and random
        n = rows.sum(0)
        diff = terms - terms[:, [base]]
        count = np.maximum(n, 1)
        mean = np.where(rows, diff, 0.0).sum(0) / count
        var = (np.where(rows, diff - mean, 0.0) ** 2).sum(0) / np.maximum(n - 1, 1)
        se = np.where(n > 1, np.sqrt(var) / np.sqrt(count), math.inf)
        gains = np.where(rows, terms, 0.0).sum(0) / count
        pulls = [r.arm for r in rounds]
        out = []
        for i, arm in enumerate(arms):
            half = self.config.bound(int(n[i]))
            m = float(mean[i])
            out.append(
                ArmEstimate(
                    arm=arm,
                    pulls=pulls.count(arm),
                    gain=float(gains[i]),
                    vs_random=m,
                    low=m - half * float(se[i]) if arm != BASELINE else 0.0,
                    high=m + half * float(se[i]) if arm != BASELINE else 0.0,
                )
            )
        return out

    def leader(self, estimates: list[ArmEstimate] | None = None) -> ArmEstimate:
        """The arm with the best lower bound over random, among arms that chose ``min_pulls``
        measured batches, if that bound is above zero; else random."""
        estimates = self.estimates() if estimates is None else estimates
        base = next(e for e in estimates if e.arm == BASELINE)
        if len(self.measured()) < self.config.min_rounds:
            return base
        eligible = [e for e in estimates if e.arm != BASELINE and e.pulls >= self.config.min_pulls]
        best = max(eligible, key=lambda e: e.low, default=base)
        return best if best.low > 0 else base

    def proven_worse(self, estimate: ArmEstimate) -> bool:
        """Whether an arm is out of exploration: enough evidence, and its interval over random
        entirely below zero."""
        return (
            self.config.eliminate
            and estimate.arm != BASELINE
            and estimate.pulls >= self.config.min_pulls
            and estimate.high < 0
            and len(self.measured()) >= self.config.min_rounds
        )

    def probabilities(self) -> dict[str, float]:
        """The next round's draw probability per arm: the exploration share spread over the arms
        not proven worse, the rest on the leader."""
        share = self.config.explore_share(len(self.rounds)) / len(self.config.arms)
        estimates = self.estimates()
        lead = self.leader(estimates).arm
        out = {e.arm: 0.0 if e.arm != lead and self.proven_worse(e) else share for e in estimates}
        out[lead] += 1.0 - sum(out.values())
        return out

    def draw(self, rng: np.random.Generator) -> Round:
        probs = self.probabilities()
        arms = list(probs)
        arm = arms[int(rng.choice(len(arms), p=np.asarray([probs[a] for a in arms])))]
        gains = [r.gain for r in self.measured()]
        self.rounds.append(Round(arm, probs, baseline=float(np.mean(gains)) if gains else 0.0))
        return self.rounds[-1]


@functools.lru_cache(maxsize=1024)
def _t_quantile(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def importance_terms(rounds: list[Round], arm: str) -> np.ndarray:
    """Per round: the baseline, plus the gain above it over the arm's draw probability if the arm
    was drawn. Its expectation in every round is the gain the arm would have had (the baseline is
    fixed before the draw), so the mean is unbiased; the baseline only cuts the variance."""
    return _terms(rounds, (arm,))[:, 0]


def _probs(rounds: list[Round], arms: tuple[str, ...]) -> np.ndarray:
    """Each round's draw probability of each arm: [rounds, arms] (0 for an arm it did not offer)."""
    return np.asarray([[r.probs.get(a, 0.0) for a in arms] for r in rounds], float).reshape(
        len(rounds), len(arms)
    )


def _terms(
    rounds: list[Round], arms: tuple[str, ...], probs: np.ndarray | None = None
) -> np.ndarray:
    """``importance_terms`` of every arm at once: [rounds, arms]."""
    drawn = np.asarray([[r.arm == a for a in arms] for r in rounds], bool).reshape(-1, len(arms))
    probs = _probs(rounds, arms) if probs is None else probs
    base = np.asarray([r.baseline for r in rounds], float)[:, None]
    gains = np.asarray([r.gain for r in rounds], float)[:, None]
    return base + np.where(drawn, (gains - base) / np.where(drawn, probs, 1.0), 0.0)


def log_likelihood(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pair log-likelihood of the outcome under p(A>B)."""
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    t = np.asarray(target, float)
    return t * np.log(p) + (1 - t) * np.log(1 - p)


def gain(p_before: np.ndarray, p_after: np.ndarray, target: np.ndarray) -> float:
    """How much a batch improved the model on a random sample it did not choose."""
    if len(target) == 0:
        return 0.0
    return float((log_likelihood(p_after, target) - log_likelihood(p_before, target)).mean())


def auto_batch(
    candidates: Candidates,
    k: int,
    arm: str,
    random_share: float,
    rng: np.random.Generator,
    batch_seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A batch of k: ``random_share`` of it uniform over the candidates (returned separately, the
    evaluation sample), the rest chosen by ``arm`` among the remaining candidates.

    When the arm is random the whole batch is one uniform draw (seeded by ``batch_seed`` when
    given) and the evaluation sample a uniform part of it, which is again uniform over the
    candidates. A replay passes the seed the plain random strategy uses in the same round, so
    `auto` and random share their random numbers (common random numbers): while `auto` has drawn
    only random, both have the same labels, and the paired difference is what exploration cost.
    """
    n = candidates.probs.shape[1]
    k = min(k, n)
    n_random = min(k, max(1, round(random_share * k))) if k else 0
    if arm == BASELINE:
        seed = int(rng.integers(2**31)) if batch_seed is None else batch_seed
        chosen, _ = acquire(BASELINE, candidates, k, seed)
        uniform = rng.choice(chosen, size=n_random, replace=False) if n_random else chosen[:0]
        return np.asarray(chosen, int), np.asarray(uniform, int)
    uniform = rng.choice(n, size=n_random, replace=False) if n_random else np.zeros(0, int)
    rest = np.setdiff1d(np.arange(n), uniform)
    wrong = candidates.p_judge_wrong
    sub = Candidates(
        candidates.probs[:, rest],
        candidates.feats[rest],
        candidates.labeled,
        None if wrong is None else wrong[rest],
    )
    chosen, _ = acquire(arm, sub, k - n_random, int(rng.integers(2**31)))
    return np.concatenate([rest[chosen], uniform]).astype(int), uniform.astype(int)


# ---- the app's loop: rounds persisted per project (store.acquisition) ----------------------------

MIN_EVAL_LABELS = 5  # labeled pairs of a uniform share before its gain counts


def bandit_from_rounds(rounds: list[dict], config: BanditConfig | None = None) -> AutoBandit:
    """The bandit as the project's recorded rounds leave it."""
    config = config or BanditConfig()
    return AutoBandit(
        config,
        [
            Round(
                r["arm"],
                dict(r["probs"]),
                None if r["gain"] is None or _isnan(r["gain"]) else float(r["gain"]),
                float(r["baseline"]),
            )
            for r in rounds
        ],
    )


def pending_gain(
    rounds: list[dict],
    targets: dict[str, float],
    member_probs: Callable[[str, list[str]], np.ndarray | None],
) -> tuple[int, float] | None:
    """The gain of the next-to-last round, once the last round's uniform share is labeled: the
    last round's model against the one before it, on those labels. ``member_probs(version, ids)``
    gives a model version's member probabilities, or None when that model is gone."""
    if len(rounds) < 2:
        return None
    before, after = rounds[-2], rounds[-1]
    if before["gain"] is not None and not _isnan(before["gain"]):
        return None
    ids = [p for p in after["eval_pairs"] if p in targets]
    if len(ids) < min(MIN_EVAL_LABELS, len(after["eval_pairs"])) or not ids:
        return None
    p0 = member_probs(before["model_version"], ids)
    p1 = member_probs(after["model_version"], ids)
    if p0 is None or p1 is None:
        return None
    y = np.asarray([targets[p] for p in ids], float)
    return int(before["round"]), gain(p0.mean(0), p1.mean(0), y)


def standings(rounds: list[dict], config: BanditConfig | None = None) -> pd.DataFrame:
    """One row per arm: pulls, gain over random with its interval, which arm leads now, and
    whether the arm is still explored (an arm proven worse than random is not)."""
    bandit = bandit_from_rounds(rounds, config)
    lead = bandit.leader().arm
    rows = [
        {
            "strategy": e.arm,
            "batches": e.pulls,
            "gain vs random": e.vs_random,
            "low": e.low,
            "high": e.high,
            "leading": e.arm == lead,
            "explored": e.arm == lead or not bandit.proven_worse(e),
        }
        for e in bandit.estimates()
    ]
    return pd.DataFrame(rows).assign(measured_rounds=len(bandit.measured()))


def _isnan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def project_standings(store) -> pd.DataFrame | None:
    """The project's `auto` standings, or None when `auto` has not chosen a batch here yet."""
    rounds = store.acquisition_rounds()
    if rounds.empty:
        return None
    rounds["gain"] = rounds["gain"].astype(object).where(rounds["gain"].notna(), None)
    return standings(rounds.to_dict("records"))


def leader_line(table: pd.DataFrame) -> str:
    """One sentence: which strategy `auto` follows now, and the evidence for it; and which
    strategies it no longer tries, being proven worse than random."""
    measured = int(table["measured_rounds"].iloc[0])
    lead = table[table["leading"]].iloc[0]
    dropped = table.loc[~table["explored"].astype(bool), "strategy"].tolist()
    tail = f"; no longer tried, proven worse than random: {', '.join(dropped)}" if dropped else ""
    if lead["strategy"] == BASELINE:
        return (
            f"auto follows random: no strategy beats it yet ({measured} measured batches; "
            "a strategy leads once the 95% interval of its gain over random, corrected for the "
            f"number of strategies compared, is above zero){tail}"
        )
    return (
        f"auto follows {lead['strategy']}: {lead['gain vs random']:+.4f} log-likelihood per "
        f"batch over random (95% interval, corrected for the strategies compared, "
        f"{lead['low']:+.4f} to {lead['high']:+.4f}), "
        f"{measured} measured batches{tail}"
    )
