"""The routing simulation: replay a labeled file, with its own labels playing the humans.

For each policy, human budget and seed, the pool is routed online in ``rounds`` paced rounds, exactly
as the app does it: before each round the judge calibration, the reward-model features (a bootstrap
ensemble trained on the human labels so far) and, for ``learned``, the router are refit; the policy
then spends that round's share of the budget; the chosen pairs' labels are revealed. Pairs no human
labeled end with the judge's label (a held pair too: the budget is spent, the judge's label is what
there is). Escalation is left out, so the rows compare the policies themselves.

Figures per row: ``label_accuracy`` (hybrid labels vs the file's labels), ``rm_accuracy`` (held-out
accuracy on ``--test`` of a reward model trained on the hybrid labels), human and AI label counts,
and cost. Judge verdicts are cached per (judge, pair) in a Parquet file, so a slow judge runs once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app import ids
from annotate_app.routing.budget import BudgetConfig, total_budget
from annotate_app.routing.calibration import JudgeCalibration
from annotate_app.routing.features import pair_features
from annotate_app.routing.learned import LearnedRouter, LearnedRouterConfig
from annotate_app.routing.policies import POLICIES, PolicyConfig, decide
from annotate_app.simulation.routing_data import load_labeled_pairs, response_texts, split_holdout
from annotate_app.simulation.routing_reward import (
    BTEnsemble,
    SimRewardConfig,
    bt_accuracy,
    embed_texts,
)
from annotate_app.simulation.synthetic_judge import judge_name, parse_spec, synthetic_verdicts

JUDGE_INFORMED = ("confidence", "value", "learned")


@dataclass
class RoutingSimConfig:
    policies: list[str] = field(default_factory=lambda: list(POLICIES))
    human_budgets: list[float] = field(default_factory=lambda: [0, 0.1, 0.25, 0.5, 1])
    judge: str = "simulated:0.7"
    seeds: int = 3
    rounds: int = 4
    limit: int | None = None  # route only the first N pairs of DATA (for slow judges)
    test_frac: float = 0.2  # held-out share when no --test file is given
    cache_dir: Path = Path.home() / ".cache" / "annotate" / "routing-sim"
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    router: LearnedRouterConfig = field(default_factory=lambda: LearnedRouterConfig(refit_every=25))
    reward: SimRewardConfig = field(default_factory=SimRewardConfig)
    rm: str = "linear"  # "linear" | "head": the reward model behind rm_accuracy

    def __post_init__(self) -> None:
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown:
            raise ValueError(f"unknown routing policies {unknown}; use {', '.join(POLICIES)}")
        bad = [b for b in self.human_budgets if not 0 <= b <= 1]
        if bad:
            raise ValueError(f"human budgets must be fractions in [0, 1], got {bad}")
        if self.rm not in ("linear", "head"):
            raise ValueError(f"rm must be 'linear' or 'head', got {self.rm!r}")
        if self.seeds < 1 or self.rounds < 1:
            raise ValueError("--seeds and rounds must be >= 1")


@dataclass
class _Pool:
    frame: pd.DataFrame
    features: pd.DataFrame  # label-free features, judge columns filled, reward columns empty
    diff: np.ndarray  # emb(A) - emb(B)
    y: np.ndarray  # 1 when A won
    judge_a: np.ndarray  # the judge's pick: 1 for A
    test_diff: np.ndarray
    test_y: np.ndarray


def verdict_cache_path(cache_dir: Path, judge: str) -> Path:
    synthetic = parse_spec(judge)
    name = judge_name(synthetic) if synthetic else judge
    return cache_dir / f"verdicts-{ids.digest('judge', name)[:12]}.parquet"


def cached_verdicts(
    frame: pd.DataFrame, judge: str, cache_dir: Path, on_progress: Callable[[str], None] = print
) -> tuple[str, pd.DataFrame]:
    """(judge name, verdicts) for every pair, judging only pairs not yet in the cache file."""
    synthetic = parse_spec(judge)
    name = judge_name(synthetic) if synthetic else judge
    path = verdict_cache_path(cache_dir, judge)
    cached = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["pair_id"])
    todo = frame[~frame["pair_id"].isin(cached["pair_id"])]
    if len(todo):
        on_progress(f"judging {len(todo)} pairs with {name} ({len(frame) - len(todo)} cached)")
        fresh = (
            synthetic_verdicts(todo, synthetic)
            if synthetic
            else _real_verdicts(todo, judge, path, cached, on_progress)
        )
        cached = pd.concat([cached, fresh], ignore_index=True) if len(cached) else fresh
        path.parent.mkdir(parents=True, exist_ok=True)
        cached.to_parquet(path)
    out = (
        cached.drop_duplicates("pair_id", keep="last")
        .set_index("pair_id")
        .reindex(frame["pair_id"])
    )
    return name, out.reset_index()


def _real_verdicts(
    todo: pd.DataFrame,
    spec: str,
    path: Path,
    cached: pd.DataFrame,
    on_progress: Callable[[str], None],
    batch: int = 8,
) -> pd.DataFrame:
    """A judge from the judge package, in batches, writing the cache after each so a stop loses
    at most one batch."""
    from annotate_app.judge.debias import judge_pairs
    from annotate_app.judge.prompt import JudgeTemplate
    from annotate_app.judge.protocol import PairText
    from annotate_app.judge.spec import JudgeSpec

    judge = JudgeSpec.parse(spec).build(JudgeTemplate(), None)
    rows: list[dict] = []
    start = time.perf_counter()
    for i in range(0, len(todo), batch):
        chunk = todo.iloc[i : i + batch]
        texts = [
            PairText(r.pair_id, json.loads(r.turns), r.text_a, r.text_b) for r in chunk.itertuples()
        ]
        for r, v in zip(chunk.itertuples(), judge_pairs(judge, texts), strict=True):
            if v is None:  # no usable reading: an even verdict that the router will distrust
                rows.append(
                    {
                        "pair_id": r.pair_id,
                        "p_a": 0.5,
                        "p_ab": 0.5,
                        "p_ba": 0.5,
                        "consistent": False,
                    }
                )
            else:
                rows.append(
                    {
                        "pair_id": v.pair_id,
                        "p_a": v.p_a,
                        "p_ab": v.p_ab,
                        "p_ba": v.p_ba,
                        "consistent": bool(v.consistent),
                    }
                )
        part = pd.DataFrame(rows)
        pd.concat([cached, part], ignore_index=True).to_parquet(path)
        rate = (time.perf_counter() - start) / len(rows)
        on_progress(f"  judged {len(rows)}/{len(todo)} ({rate:.1f} s/pair)")
    return pd.DataFrame(rows)


def _embed_diff(
    frame: pd.DataFrame, config: RoutingSimConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = response_texts(frame)
    emb = embed_texts(a + b, config.cache_dir / "embeddings-minilm.npz", config.reward)
    ea, eb = emb[: len(frame)], emb[len(frame) :]
    return ea, eb, ea - eb


def prepare(
    data: str | Path,
    test: str | Path | None,
    config: RoutingSimConfig,
    on_progress: Callable[[str], None] = print,
) -> tuple[str, _Pool, str]:
    frame = load_labeled_pairs(data)
    if test is None:
        frame, test_frame = split_holdout(frame, config.test_frac, seed=0)
        test_note = f"no --test: held out {len(test_frame)} pairs of DATA"
    else:
        test_frame = load_labeled_pairs(test)
        frame = frame[~frame["pair_id"].isin(test_frame["pair_id"])].reset_index(drop=True)
        test_note = f"--test {Path(test).name}: {len(test_frame)} pairs"
    if config.limit:
        frame = frame.iloc[: config.limit].reset_index(drop=True)
    on_progress(f"pool {len(frame)} pairs; {test_note}; embedding (cached)")
    ea, eb, diff = _embed_diff(frame, config)
    _, _, test_diff = _embed_diff(test_frame, config)
    name, verdicts = cached_verdicts(frame, config.judge, config.cache_dir, on_progress)
    embeddings = {pid: (va, vb) for pid, va, vb in zip(frame["pair_id"], ea, eb, strict=True)}
    features = pair_features(frame, verdicts, None, embeddings)
    pool = _Pool(
        frame=frame,
        features=features,
        diff=diff,
        y=frame["human"].to_numpy(),
        judge_a=(verdicts["p_a"].to_numpy() > 0.5).astype(int),
        test_diff=test_diff,
        test_y=test_frame["human"].to_numpy(),
    )
    return name, pool, test_note


def _reward_features(
    pool: _Pool, labeled: np.ndarray, config: RoutingSimConfig, seed: int
) -> pd.DataFrame:
    """The reward-model columns the app would read from ``pair_scores``, from human labels so far."""
    feats = pool.features.copy()
    if labeled.sum() < 10 or len(np.unique(pool.y[labeled])) < 2:
        return feats
    model = BTEnsemble(config.reward, seed=seed).fit(pool.diff[labeled], pool.y[labeled])
    probs = np.stack([m.predict_proba(pool.diff)[:, 1] for m in model.members])
    mean = probs.mean(0)
    feats["rm_p_a"] = mean
    feats["rm_confidence"] = np.abs(2 * mean - 1)
    feats["rm_uncertainty"] = probs.std(0)
    feats["acquisition"] = _bald(probs)
    feats["has_rm"] = 1.0
    return feats


def _bald(probs: np.ndarray) -> np.ndarray:
    def h(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-9, 1 - 1e-9)
        return -(p * np.log(p) + (1 - p) * np.log(1 - p))

    return h(probs.mean(0)) - h(probs).mean(0)


def run_one(
    pool: _Pool,
    policy: str,
    budget: float,
    seed: int,
    config: RoutingSimConfig,
    rm_fit: Callable[[np.ndarray, np.ndarray], float],
) -> dict:
    n = len(pool.y)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # the arrival order differs per seed; ties break on it
    b_total = total_budget(BudgetConfig(human_budget=budget), n)
    human = np.zeros(n, bool)
    propensity = np.zeros(n)
    router = LearnedRouter(config.router) if policy == "learned" else None
    calibration = JudgeCalibration()
    if policy != "all-ai":
        for r in range(config.rounds):
            slots = int(round(b_total * (r + 1) / config.rounds)) - int(human.sum())
            open_idx = order[~human[order]]
            if slots <= 0 or not len(open_idx):
                continue
            feats = (
                _reward_features(pool, human, config, seed * 100 + r)
                if policy == "value"
                else pool.features
            )
            judged = human  # every pool pair has a verdict; training pairs are the human-labeled
            if judged.any():
                calibration.fit(
                    pool.features["judge_p_a"].to_numpy()[judged],
                    pool.features["judge_consistent"].to_numpy()[judged],
                    pool.y[judged],
                )
            if router is not None and router.needs_refit(int(human.sum())):
                idx = np.flatnonzero(human)
                router.fit(
                    pool.features.iloc[idx],
                    (pool.judge_a[idx] != pool.y[idx]).astype(int),
                    propensity[idx],
                    n_labels=len(idx),
                )
            routes = decide(
                PolicyConfig(name=policy, seed=seed * 1000 + r, router=config.router),
                feats.iloc[open_idx],
                slots,
                calibration,
                router,
            )
            picked = routes["route"].to_numpy() == "human"
            chosen = open_idx[picked]
            human[chosen] = True
            propensity[chosen] = routes["propensity"].to_numpy()[picked]
    if policy == "all-human":
        labeled = human
        labels = pool.y.copy()
    else:
        labeled = np.ones(n, bool)
        labels = np.where(human, pool.y, pool.judge_a)
    n_human = int(human.sum())
    judge_calls = (
        0 if policy == "all-human" else (n - n_human if policy in ("random", "all-ai") else n)
    )
    return {
        "policy": policy,
        "human_budget": budget,
        "seed": seed,
        "human_labels": n_human,
        "ai_labels": int(labeled.sum()) - n_human,
        "label_accuracy": float((labels[labeled] == pool.y[labeled]).mean())
        if labeled.any()
        else float("nan"),
        "rm_accuracy": rm_fit(pool.diff[labeled], labels[labeled])
        if labeled.any()
        else float("nan"),
        "cost": n_human * config.budget.cost_human + judge_calls * config.budget.cost_judge,
    }


def reward_model_fitter(pool: _Pool, config: RoutingSimConfig) -> tuple[str, Callable]:
    """The reward model whose held-out accuracy is ``rm_accuracy``.

    ``linear`` (default): the linear BT model of ``sim_reward``, under a second per fit. ``head``:
    the reward package's 5-member MLP BT ensemble head; it measured 55 s per fit on 1,500 pairs on
    the shared 2-core machine, too slow for a grid of policies x budgets x seeds there.
    """
    if config.rm == "linear":
        return "linear BT (logistic regression on MiniLM embedding differences)", (
            lambda d, y: bt_accuracy(d, y, pool.test_diff, pool.test_y, config.reward)
        )
    from annotate_app.reward.config import HeadConfig
    from annotate_app.reward.head import BTEnsemble as HeadEnsemble

    def fit(diff: np.ndarray, y: np.ndarray) -> float:
        # With frozen embeddings, scoring (diff, 0) carries the same BT signal as (a, b).
        zeros = np.zeros_like(diff)
        head = HeadEnsemble(HeadConfig(), diff.shape[1]).fit(diff, zeros, y.astype(np.float32))
        probs = head.member_probs(pool.test_diff, np.zeros_like(pool.test_diff)).mean(0)
        return float(((probs > 0.5) == (pool.test_y == 1)).mean())

    return "reward-package BT ensemble head (5 MLP members) on MiniLM embedding differences", fit


def simulate(
    data: str | Path,
    test: str | Path | None,
    config: RoutingSimConfig,
    on_progress: Callable[[str], None] = print,
) -> dict:
    name, pool, test_note = prepare(data, test, config, on_progress)
    rm_name, rm_fit = reward_model_fitter(pool, config)
    judge_acc = float((pool.judge_a == pool.y).mean())
    on_progress(
        f"judge {name}: agreement with the file's labels {judge_acc:.3f}; "
        f"consistent {pool.features['judge_consistent'].mean():.2f}"
    )
    rows = []
    for policy in config.policies:
        budgets = [0.0] if policy == "all-ai" else config.human_budgets
        for budget in budgets:
            if policy == "all-human" and budget == 0:
                continue
            for seed in range(config.seeds):
                row = run_one(pool, policy, budget, seed, config, rm_fit)
                row["judge"] = name
                rows.append(row)
            on_progress(_progress_line(rows[-config.seeds :]))
    return {
        "judge": name,
        "synthetic": parse_spec(config.judge) is not None,
        "judge_agreement": judge_acc,
        "pool_pairs": len(pool.y),
        "test": test_note,
        "reward_model": rm_name,
        "rounds": config.rounds,
        "results": rows,
    }


def _progress_line(rows: list[dict]) -> str:
    r = rows[0]
    la = np.mean([x["label_accuracy"] for x in rows])
    ra = np.mean([x["rm_accuracy"] for x in rows])
    return (
        f"{r['policy']:>10} budget {r['human_budget']:<5g} human {r['human_labels']:>5} "
        f"label_acc {la:.3f} rm_acc {ra:.3f}"
    )


def summary_table(result: dict) -> pd.DataFrame:
    """Mean over seeds per (policy, budget), with the gap to random routing at the same budget."""
    frame = pd.DataFrame(result["results"])
    agg = frame.groupby(["policy", "human_budget"], as_index=False).agg(
        human_labels=("human_labels", "mean"),
        label_accuracy=("label_accuracy", "mean"),
        label_sd=("label_accuracy", "std"),
        rm_accuracy=("rm_accuracy", "mean"),
        rm_sd=("rm_accuracy", "std"),
        cost=("cost", "mean"),
    )
    rand = agg[agg["policy"] == "random"].set_index("human_budget")
    agg["label_vs_random"] = agg["label_accuracy"] - agg["human_budget"].map(rand["label_accuracy"])
    agg["rm_vs_random"] = agg["rm_accuracy"] - agg["human_budget"].map(rand["rm_accuracy"])
    return agg


def budget_to_match_all_human(
    result: dict, metric: str = "rm_accuracy", tolerance: float = 0.01
) -> dict[str, float | None]:
    """Per policy, the smallest budget whose mean ``metric`` is within ``tolerance`` of all-human
    at budget 1 (None: no budget tried gets there)."""
    agg = summary_table(result)
    ref = agg[(agg["policy"] == "all-human") & (agg["human_budget"] == 1)][metric]
    if ref.empty:
        return {}
    target = float(ref.iloc[0]) - tolerance
    out: dict[str, float | None] = {}
    for policy, grp in agg.groupby("policy"):
        ok = grp[grp[metric] >= target]["human_budget"]
        out[str(policy)] = float(ok.min()) if len(ok) else None
    return out


def write_html(result: dict, path: Path) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    agg = summary_table(result)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("label accuracy", "reward-model accuracy"))
    for policy, grp in agg.groupby("policy"):
        for col, metric in ((1, "label_accuracy"), (2, "rm_accuracy")):
            fig.add_trace(
                go.Scatter(
                    x=grp["human_budget"],
                    y=grp[metric],
                    mode="lines+markers",
                    name=str(policy),
                    legendgroup=str(policy),
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="human budget (fraction of pairs)")
    fig.update_layout(
        title=f"Routing simulation, judge {result['judge']}; {result['reward_model']}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True)
