"""The routing simulation: replay labeled pairs, with their own labels playing the humans.

For each policy, human budget and seed, the pool is routed online in ``rounds`` paced rounds, as the
app does it: before each round the judge calibration, the reward model (the production BT ensemble
head on the project's cached MiniLM vectors, fitted as the train job fits it: its variant and logit
scale chosen on the same labels) and, where the policy reads it, the learned router are refit on
the human labels so far; the policy then spends that round's share of the budget; the chosen
pairs' human labels are revealed. Pairs no human labeled end with the judge's label (a held pair
too: the budget is spent, the judge's label is what there is). Escalation is left out, so the rows
compare the policies themselves.

Several human labels per pair (``votes`` with more than one column): one annotator, drawn by seed,
plays the human who was paid; the label a pair "really" has is the majority of the OTHER annotators,
and accuracy is measured against it (pairs where the others split are not scored). With one label per
pair that label is both what the paid human says and the reference.

Figures per row: ``label_accuracy`` (hybrid labels against the reference; a tie scores half),
``rm_accuracy`` (held-out accuracy on the test pairs of the head trained on the hybrid labels; only
when ``rm`` is on), human and AI label counts, and cost. The router and calibration are always fit on
pairs they then do not route, so every scored decision is out of sample.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app import ids
from annotate_app.active.acquisition import bald
from annotate_app.reward.config import HeadChoiceConfig, HeadConfig
from annotate_app.reward.encoder import EncoderConfig
from annotate_app.routing.budget import BudgetConfig, total_budget
from annotate_app.routing.calibration import JudgeCalibration
from annotate_app.routing.features import pair_features, verdict_only
from annotate_app.routing.learned import LearnedRouter, LearnedRouterConfig
from annotate_app.routing.policies import POLICIES, PolicyConfig, decide
from annotate_app.simulation.data import labeled_pairs, side_texts, split_holdout
from annotate_app.simulation.embedding import embed_texts
from annotate_app.simulation.synthetic_judge import judge_name, parse_spec, synthetic_verdicts

ORACLE = "oracle"  # simulation only: humans get exactly the pairs where they beat the judge
SIM_POLICIES = (*POLICIES, ORACLE)
RECORDED = "recorded:"
# Policies that read the reward model's scores (uncertainty, acquisition) each round.
READS_REWARD_MODEL = ("value", "learned")


@dataclass
class RoutingSimConfig:
    policies: list[str] = field(default_factory=lambda: list(POLICIES))
    human_budgets: list[float] = field(default_factory=lambda: [0, 0.1, 0.25, 0.5, 1])
    judge: str = "simulated:0.7"
    second_judge: str | None = None  # a second judge's verdicts, read as an agreement feature
    seeds: int = 3
    first_seed: int = 0  # seeds run first_seed .. first_seed + seeds - 1
    rounds: int = 4
    limit: int | None = None  # route only the first N pairs of DATA (for slow judges)
    test_frac: float = 0.2  # held-out share when no --test file is given
    rm: bool = True  # train the head on each row's hybrid labels and report held-out accuracy
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    router: LearnedRouterConfig = field(default_factory=lambda: LearnedRouterConfig(refit_every=25))
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    # the head variant and its logit scale, chosen per fit as the train job chooses them
    head_choice: HeadChoiceConfig = field(default_factory=HeadChoiceConfig)

    def __post_init__(self) -> None:
        unknown = [p for p in self.policies if p not in SIM_POLICIES]
        if unknown:
            raise ValueError(f"unknown routing policies {unknown}; use {', '.join(SIM_POLICIES)}")
        bad = [b for b in self.human_budgets if not 0 <= b <= 1]
        if bad:
            raise ValueError(f"human budgets must be fractions in [0, 1], got {bad}")
        if self.seeds < 1 or self.rounds < 1:
            raise ValueError("--seeds and rounds must be >= 1")


@dataclass
class Pool:
    """The routed pairs: label-free features, vectors, the judge's label and the humans' votes."""

    frame: pd.DataFrame
    features: pd.DataFrame  # label-free features, judge columns filled, reward columns empty
    emb_a: np.ndarray
    emb_b: np.ndarray
    votes: np.ndarray  # [N, M] each annotator's label: 1 A won, 0 B won, 0.5 tie, NaN none
    judge_label: np.ndarray  # the judge's label: 1, 0 or 0.5 (an even verdict)
    test_a: np.ndarray
    test_b: np.ndarray
    test_y: np.ndarray

    @property
    def folds(self) -> np.ndarray:
        """0 or 1 per pair, from a hash of its id: the halves used for cross-fitting."""
        return np.array([int(ids.digest("fold", p)[:8], 16) % 2 for p in self.frame["pair_id"]])

    @property
    def annotators(self) -> int:
        return self.votes.shape[1]

    def humans(self, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
        """(what the paid human says, the reference each label is scored against, a note)."""
        if self.annotators == 1:
            y = self.votes[:, 0]
            return y, y, "reference: the file's own label (one human label per pair)"
        paid_col = int(np.random.default_rng(seed).integers(self.annotators))
        paid = self.votes[:, paid_col]
        others = np.delete(self.votes, paid_col, axis=1)
        # the label rule's outcome (sign of the mean vote) of the others; a tie is no reference
        mean = np.nanmean(others, axis=1)
        reference = np.where(mean > 0.5, 1.0, np.where(mean < 0.5, 0.0, np.nan))
        # where the paid human gave no vote they say what the others' majority says, and nothing
        # (a tie) where the others split: never NaN, which would poison every fit on it
        paid = np.where(np.isnan(paid), np.where(np.isnan(reference), 0.5, reference), paid)
        note = (
            f"annotator {paid_col + 1} of {self.annotators} (drawn by seed) is the paid human; "
            f"accuracy is against the majority of the other {self.annotators - 1} "
            f"({int(np.isnan(reference).sum())} pairs where they split are not scored)"
        )
        return paid, reference, note


def verdict_cache_path(folder: Path, judge: str) -> Path:
    synthetic = parse_spec(judge)
    name = judge_name(synthetic) if synthetic else judge
    return folder / f"verdicts-{ids.digest('judge', name)[:12]}.parquet"


def judge_verdicts(
    frame: pd.DataFrame,
    judge: str,
    folder: Path,
    on_progress: Callable[[str], None] = print,
) -> tuple[str, pd.DataFrame]:
    """(judge name, verdicts: pair_id, p_a, p_ab, p_ba, consistent) for every pair of ``frame``.

    ``simulated:ACC`` is the synthetic judge; ``recorded:FILE`` replays a verdicts file; anything
    else is a judge spec, judged once and cached per (judge, pair) in ``folder``."""
    if judge.startswith(RECORDED):
        from annotate_app.ingest.verdicts import recorded_verdicts

        name, verdicts = recorded_verdicts(judge[len(RECORDED) :], frame)
        return name, verdicts
    synthetic = parse_spec(judge)
    name = judge_name(synthetic) if synthetic else judge
    path = verdict_cache_path(folder, judge)
    cached = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["pair_id"])
    todo = frame[~frame["pair_id"].isin(cached["pair_id"])]
    if len(todo):
        on_progress(f"judging {len(todo)} pairs with {name} ({len(frame) - len(todo)} cached)")
        fresh = (
            synthetic_verdicts(todo, synthetic)
            if synthetic
            else _live_verdicts(todo, judge, path, cached, on_progress)
        )
        cached = pd.concat([cached, fresh], ignore_index=True) if len(cached) else fresh
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_parquet(cached, path)
    out = (
        cached.drop_duplicates("pair_id", keep="last")
        .set_index("pair_id")
        .reindex(frame["pair_id"])
    )
    return name, out.reset_index()


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".tmp.parquet")
    frame.to_parquet(tmp)
    tmp.replace(path)


def _live_verdicts(
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
            # No usable reading: an even verdict that the router will distrust.
            rows.append(
                {"pair_id": r.pair_id, "p_a": 0.5, "p_ab": 0.5, "p_ba": 0.5, "consistent": False}
                if v is None
                else {
                    "pair_id": v.pair_id,
                    "p_a": v.p_a,
                    "p_ab": v.p_ab,
                    "p_ba": v.p_ba,
                    "consistent": bool(v.consistent),
                }
            )
        _write_parquet(pd.concat([cached, pd.DataFrame(rows)], ignore_index=True), path)
        rate = (time.perf_counter() - start) / len(rows)
        on_progress(f"  judged {len(rows)}/{len(todo)} ({rate:.1f} s/pair)")
    return pd.DataFrame(rows)


def judge_label(p_a: np.ndarray) -> np.ndarray:
    """The judge's label from its P(A better): 1, 0, or 0.5 when it sits on the fence."""
    p = np.asarray(p_a, dtype=float)
    return np.where(p > 0.5, 1.0, np.where(p < 0.5, 0.0, 0.5))


def _vectors(store, frame: pd.DataFrame, config: RoutingSimConfig) -> tuple[np.ndarray, ...]:
    a, b = side_texts(frame)
    emb = embed_texts(store, config.encoder, a + b)
    return emb[: len(frame)], emb[len(frame) :]


def build_pool(
    store,
    frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    config: RoutingSimConfig,
    votes: np.ndarray | None = None,
    on_progress: Callable[[str], None] = print,
) -> tuple[str, Pool]:
    """``frame``/``test_frame``: pair_id, prompt, turns, n_turns, text_a, text_b, human. ``votes``
    ([N, M], optional): every annotator's label, when pairs have more than one."""
    if config.limit:
        frame = frame.iloc[: config.limit].reset_index(drop=True)
        votes = None if votes is None else votes[: config.limit]
    on_progress(f"pool {len(frame)} pairs, test {len(test_frame)}; embedding (cached)")
    ea, eb = _vectors(store, frame, config)
    ta, tb = _vectors(store, test_frame, config) if len(test_frame) else (ea[:0], eb[:0])
    folder = store.paths.work_dir / "simulation"
    name, verdicts = judge_verdicts(frame, config.judge, folder, on_progress)
    second = None
    if config.second_judge:
        _, second = judge_verdicts(frame, config.second_judge, folder, on_progress)
    embeddings = {pid: (va, vb) for pid, va, vb in zip(frame["pair_id"], ea, eb, strict=True)}
    features = pair_features(frame, verdicts, None, embeddings, second_judge=second)
    if votes is None:
        votes = frame["human"].to_numpy(float)[:, None]
    pool = Pool(
        frame=frame,
        features=features,
        emb_a=ea,
        emb_b=eb,
        votes=np.asarray(votes, dtype=float),
        judge_label=judge_label(verdicts["p_a"].fillna(0.5).to_numpy()),
        test_a=ta,
        test_b=tb,
        test_y=test_frame["human"].to_numpy(float) if len(test_frame) else np.zeros(0),
    )
    return name, pool


def _fit_head(
    pool: Pool, rows: np.ndarray, labels: np.ndarray, config: RoutingSimConfig, seed: int
):
    """The head the train job would ship on these labels: its variant and logit scale chosen on
    them (``reward.pipeline.fit_chosen_head``)."""
    from annotate_app.reward.pipeline import fit_chosen_head

    model, _ = fit_chosen_head(
        pool.emb_a[rows],
        pool.emb_b[rows],
        labels,
        np.ones(len(rows)),
        replace(config.head, seed=seed),
        config.head_choice,
    )
    return model


def _reward_features(
    pool: Pool, labeled: np.ndarray, paid: np.ndarray, config: RoutingSimConfig, seed: int
) -> pd.DataFrame:
    """The reward-model columns the app would read from ``pair_scores``, from human labels so far."""
    feats = pool.features.copy()
    rows = np.flatnonzero(labeled)
    if len(rows) < 10 or len(np.unique(paid[rows])) < 2:
        return feats
    model = _fit_head(pool, rows, paid[rows], config, seed)
    probs = model.member_probs(pool.emb_a, pool.emb_b)
    mean = probs.mean(0)
    feats["rm_p_a"] = mean
    feats["rm_confidence"] = np.abs(2 * mean - 1)
    feats["rm_uncertainty"] = probs.std(0)
    feats["acquisition"] = bald(probs)
    feats["has_rm"] = 1.0
    return feats


def _score(labels: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """1 for the reference's side, 0 for the other, 0.5 for a tie; NaN where there is no reference."""
    return 1.0 - np.abs(labels - reference)


def run_one(
    pool: Pool,
    policy: str,
    budget: float,
    seed: int,
    config: RoutingSimConfig,
) -> dict:
    n = len(pool.judge_label)
    paid, reference, note = pool.humans(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # the arrival order differs per seed; ties break on it
    b_total = total_budget(BudgetConfig(human_budget=budget), n)
    human = np.zeros(n, bool)
    propensity = np.zeros(n)
    judge_p_a = pool.features["judge_p_a"].to_numpy()
    only_verdicts = verdict_only(judge_p_a)
    wants_router = policy == "learned" or (policy == "confidence" and only_verdicts)
    router = LearnedRouter(config.router) if wants_router else None
    calibration = JudgeCalibration()
    decisive = paid != 0.5
    if policy == ORACLE:
        # The ceiling: the budget goes where a human label beats the judge's, best gain first.
        gain = np.nan_to_num(_score(paid, reference) - _score(pool.judge_label, reference))
        ranked = np.lexsort((rng.random(n), -gain))
        human[ranked[:b_total]] = True
    elif policy != "all-ai":
        for r in range(config.rounds):
            slots = int(round(b_total * (r + 1) / config.rounds)) - int(human.sum())
            open_idx = order[~human[order]]
            if slots <= 0 or not len(open_idx):
                continue
            feats = (
                _reward_features(pool, human, paid, config, seed * 100 + r)
                if policy in READS_REWARD_MODEL
                else pool.features
            )
            fit_on = human & decisive  # a tie from the human says nothing about the judge's side
            if fit_on.any():
                calibration.fit(
                    judge_p_a[fit_on],
                    pool.features["judge_consistent"].to_numpy()[fit_on],
                    paid[fit_on],
                )
            if router is not None and router.needs_refit(int(human.sum())):
                idx = np.flatnonzero(fit_on)
                router.fit(
                    feats.iloc[idx],
                    (pool.judge_label[idx] != paid[idx]).astype(int),
                    propensity[idx],
                    n_labels=int(human.sum()),
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
        labels = paid.copy()
    else:
        labeled = np.ones(n, bool)
        labels = np.where(human, paid, pool.judge_label)
    scored = labeled & ~np.isnan(reference)
    points = _score(labels, reference)
    fold = pool.folds
    n_human = int(human.sum())
    judge_calls = (
        0
        if policy in ("all-human", ORACLE)
        else (n - n_human if policy in ("random", "all-ai") else n)
    )
    return {
        "policy": policy,
        "human_budget": budget,
        "seed": seed,
        "human_labels": n_human,
        "ai_labels": int(labeled.sum()) - n_human,
        "label_accuracy": float(_score(labels[scored], reference[scored]).mean())
        if scored.any()
        else float("nan"),
        "rm_accuracy": _rm_accuracy(pool, labeled, labels, config, seed),
        "cost": n_human * config.budget.cost_human + judge_calls * config.budget.cost_judge,
        "reference": note,
        "verdict_only_judge": bool(only_verdicts),
        "scored_pairs": int(scored.sum()),
        # per half of the pairs (a fixed hash split), so a policy chosen on one half can be scored
        # on the other (cross-fitting)
        "fold_accuracy": [
            float(points[scored & (fold == k)].mean()) if (scored & (fold == k)).any() else None
            for k in (0, 1)
        ],
    }


def _rm_accuracy(
    pool: Pool, labeled: np.ndarray, labels: np.ndarray, config: RoutingSimConfig, seed: int
) -> float:
    """Held-out accuracy of the production head trained on the row's labels (decisive test pairs)."""
    rows = np.flatnonzero(labeled)
    test = pool.test_y != -1
    if not config.rm or not len(rows) or not test.any() or len(np.unique(labels[rows])) < 2:
        return float("nan")
    model = _fit_head(pool, rows, labels[rows], config, seed)
    p = model.member_probs(pool.test_a[test], pool.test_b[test]).mean(0)
    return float(((p > 0.5) == (pool.test_y[test] == 1)).mean())


def simulate_pool(
    name: str, pool: Pool, config: RoutingSimConfig, on_progress: Callable[[str], None] = print
) -> dict:
    _, reference, note = pool.humans(0)
    scored = ~np.isnan(reference)
    judge_acc = float(_score(pool.judge_label[scored], reference[scored]).mean())
    on_progress(
        f"judge {name}: agreement with the reference {judge_acc:.3f}; "
        f"consistent {pool.features['judge_consistent'].mean():.2f}; {note}"
    )
    rows = []
    for policy in config.policies:
        budgets = [0.0] if policy == "all-ai" else config.human_budgets
        for budget in budgets:
            if policy in ("all-human", ORACLE) and budget == 0:
                continue
            for seed in range(config.first_seed, config.first_seed + config.seeds):
                row = run_one(pool, policy, budget, seed, config)
                row["judge"] = name
                rows.append(row)
            on_progress(_progress_line(rows[-config.seeds :]))
    return {
        "judge": name,
        "synthetic": parse_spec(config.judge) is not None,
        "judge_agreement": judge_acc,
        "verdict_only_judge": bool(verdict_only(pool.features["judge_p_a"].to_numpy())),
        "pool_pairs": len(pool.judge_label),
        "annotators": pool.annotators,
        "reference": note if pool.annotators == 1 else _multi_note(pool),
        "reward_model": _reward_model_note(config),
        "rounds": config.rounds,
        "results": rows,
    }


def _reward_model_note(config: RoutingSimConfig) -> str:
    if not config.rm:
        return "not trained (rm off)"
    if not config.head_choice.enabled:
        return "production BT ensemble head on cached MiniLM vectors, configured head, unscaled"
    return (
        "production BT ensemble head on cached MiniLM vectors, variant and logit scale chosen "
        "per fit as the train job chooses them"
    )


def _multi_note(pool: Pool) -> str:
    return (
        f"{pool.annotators} human labels per pair: per seed, one annotator drawn by seed is the paid "
        f"human; accuracy is against the majority of the other {pool.annotators - 1}"
    )


def simulate(
    store,
    data: str | Path,
    test: str | Path | None,
    config: RoutingSimConfig,
    on_progress: Callable[[str], None] = print,
) -> dict:
    frame = labeled_pairs(data)
    frame = frame[frame["human"] != -1].sort_values("pair_id", ignore_index=True)
    if test is None:
        frame, test_frame = split_holdout(frame, config.test_frac, seed=0)
        test_note = f"no --test: held out {len(test_frame)} pairs of DATA"
    else:
        test_frame = labeled_pairs(test)
        test_frame = test_frame[test_frame["human"] != -1].sort_values("pair_id", ignore_index=True)
        frame = frame[~frame["pair_id"].isin(test_frame["pair_id"])].reset_index(drop=True)
        test_note = f"--test {Path(test).name}: {len(test_frame)} pairs"
    name, pool = build_pool(store, frame, test_frame, config, on_progress=on_progress)
    result = simulate_pool(name, pool, config, on_progress)
    result["test"] = test_note
    return result


def _progress_line(rows: list[dict]) -> str:
    r = rows[0]
    la = np.mean([x["label_accuracy"] for x in rows])
    ra = (
        np.nanmean([x["rm_accuracy"] for x in rows])
        if any(not np.isnan(x["rm_accuracy"]) for x in rows)
        else float("nan")
    )
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
