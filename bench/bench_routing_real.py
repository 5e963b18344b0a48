"""Routing on real judges: PandaLM's 999 pairs, three human annotators, GPT-3.5 and PandaLM-7B.

Both judges' verdicts are written as ``verdicts`` files (the import shape) and replayed with
``recorded:FILE``, the path ``annotate simulate --judge recorded:FILE`` takes. Each judge is routed in
turn, with the other judge's agreement as a router feature. Neither judge gives a probability, so
the confidence policy falls back to a feature-based P(judge right) (the routes say so).

Several human labels per pair: per seed, one annotator drawn by the seed is the paid human; a pair's
reference label is the majority of the other two, and label accuracy is measured against it (pairs
where the other two split are not scored). The all-human row at budget b is the paid human's own
accuracy on the pairs they labeled.

Cross-fitting: the router and the calibration are fit on pairs humans labeled and applied to other
pairs. The "best informed policy" is chosen per budget on one half of the pairs (a fixed hash split)
and scored on the other half, both ways round, so the choice is never scored on the pairs it was
picked on.

Usage (about 10 CPU minutes at the default size on a quiet 2-core machine):

    .venv/bin/python bench/bench_routing_real.py [--seeds 6] [--budgets 0.1,0.25,0.5,0.75] [--rm]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app import ids
from annotate_app.reward.config import HeadConfig
from annotate_app.simulation.routing import ORACLE, RoutingSimConfig, build_pool, simulate_pool
from annotate_app.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pandalm"
JUDGES = {
    "gpt-3.5-turbo": ("gpt-3.5-turbo-testset-v1.json.gz", "gpt_result"),
    "pandalm-7b": ("pandalm-7b-testset-v1.json.gz", "pandalm_result"),
}
INFORMED = ("confidence", "value", "learned")
POLICIES = ("all-human", "all-ai", "random", *INFORMED, ORACLE)
VOTE = {1: 1.0, 2: 0.0, 0: 0.5}  # annotatorK: 1 = response1 better, 2 = response2, 0 = tie
WINNER = {"1": "a", "2": "b", "0": "tie", "tie": "tie"}


def _load(name: str) -> list[dict]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def pandalm_pairs(out: Path) -> tuple[pd.DataFrame, np.ndarray, dict[str, Path]]:
    """The pool in the project's A/B orientation, each annotator's vote, and a verdicts file per
    judge (unusable judge output is an even verdict, as the app stores an unusable reading)."""
    rows = _load("testset-v1.json.gz")
    judged = {j: {r["idx"]: r[key] for r in _load(f)} for j, (f, key) in JUDGES.items()}
    records, votes = [], []
    files: dict[str, list[dict]] = {j: [] for j in JUDGES}
    for r in rows:
        prompt = r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")
        turns = [{"role": "user", "content": prompt}]
        pid = ids.prompt_id(turns)
        one, two = r["response1"], r["response2"]
        if not isinstance(one, str) or not isinstance(two, str) or one == two:
            continue  # a few rows hold no text answer (e.g. a JSON boolean): nothing to compare
        if not one.strip() or not two.strip():
            continue
        r1, r2 = ids.response_id(pid, one), ids.response_id(pid, two)
        flipped = r1 > r2  # the stored A is the sorted first response id
        a, b = (two, one) if flipped else (one, two)
        v = np.array([VOTE[int(r[f"annotator{k}"])] for k in (1, 2, 3)])
        votes.append(1.0 - v if flipped else v)
        records.append(
            {
                "pair_id": ids.pair_id(r1, r2),
                "prompt": prompt,
                "turns": json.dumps(turns),
                "n_turns": 1,
                "text_a": a,
                "text_b": b,
                "human": -1,
                "category": r.get("motivation_app"),
            }
        )
        for judge in JUDGES:
            raw = str(judged[judge].get(r["idx"], "")).strip().lower()
            files[judge].append(
                {
                    "prompt": prompt,
                    "response_a": one,
                    "response_b": two,
                    "judge": judge,
                    "winner": WINNER.get(raw, "tie"),
                    "rationale": None if raw in WINNER else f"unusable judge output {raw!r}",
                }
            )
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for judge, verdicts in files.items():
        paths[judge] = out / f"verdicts-{judge}.jsonl"
        paths[judge].write_text("".join(json.dumps(v) + "\n" for v in verdicts), encoding="utf-8")
    frame = pd.DataFrame(records)
    majority = np.nanmean(np.asarray(votes), axis=1)
    frame["human"] = np.where(majority > 0.5, 1, np.where(majority < 0.5, 0, -1))
    return frame, np.asarray(votes), paths


def judge_figures(pool, name: str) -> dict:
    """Agreement with the 3-annotator majority and each annotator, ties, and a cross-fitted
    feature-based P(judge right): what the confidence policy falls back to for this judge."""
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from annotate_app.routing.learned import LearnedRouter

    votes = pool.votes
    mean = votes.mean(1)
    majority = np.where(mean > 0.5, 1.0, np.where(mean < 0.5, 0.0, np.nan))
    decisive = ~np.isnan(majority)
    judge = pool.judge_label
    right = (judge == majority)[decisive].astype(int)
    pairwise = [float((votes[:, i] == votes[:, j]).mean()) for i, j in ((0, 1), (0, 2), (1, 2))]
    # P(judge right) from features, each pair predicted by a router fitted on the other folds
    feats = pool.features[decisive]
    p_wrong = np.zeros(len(right))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(feats, right):
        router = LearnedRouter().fit(feats.iloc[train], 1 - right[train])
        p_wrong[test] = router.p_disagree(feats.iloc[test])
    p_right = 1 - p_wrong
    bins = np.clip((p_right * 10).astype(int), 0, 9)
    ece = sum(
        abs(p_right[bins == k].mean() - right[bins == k].mean()) * (bins == k).mean()
        for k in range(10)
        if (bins == k).any()
    )
    agree = pool.features["judges_agree"].to_numpy()[decisive] == 1
    return {
        "judge": name,
        "agreement_with_majority": float(right.mean()),
        "pairs_with_a_majority": int(decisive.sum()),
        "judge_ties": float((judge == 0.5).mean()),
        "agreement_with_each_annotator": [float((judge == votes[:, k]).mean()) for k in range(3)],
        "annotator_pairwise_agreement": pairwise,
        "accuracy_when_judges_agree": float(right[agree].mean()),
        "accuracy_when_judges_disagree": float(right[~agree].mean()),
        "share_judges_agree": float(agree.mean()),
        "feature_p_right_auc": float(roc_auc_score(right, p_right)),
        "feature_p_right_brier": float(brier_score_loss(right, p_right)),
        "feature_p_right_ece": float(ece),
    }


def cross_fitted_best(rows: pd.DataFrame, budget: float) -> tuple[float, list[str]]:
    """Pick the informed policy with the best mean accuracy on one half of the pairs, score it on
    the other half; mean of both directions. Returns (accuracy, the policies picked)."""
    sub = rows[(rows["human_budget"] == budget) & rows["policy"].isin(INFORMED)]
    scores, picked = [], []
    for pick_on, score_on in ((0, 1), (1, 0)):
        means = sub.groupby("policy")["fold_accuracy"].apply(
            lambda f, k=pick_on: np.mean([x[k] for x in f])
        )
        best = str(means.idxmax())
        picked.append(best)
        chosen = sub[sub["policy"] == best]["fold_accuracy"]
        scores.append(np.mean([x[score_on] for x in chosen]))
    return float(np.mean(scores)), picked


def summarise(result: dict) -> tuple[pd.DataFrame, list[str]]:
    rows = pd.DataFrame(result["results"])
    agg = rows.groupby(["policy", "human_budget"], as_index=False).agg(
        label=("label_accuracy", "mean"),
        sd=("label_accuracy", "std"),
        rm=("rm_accuracy", "mean"),
        humans=("human_labels", "mean"),
    )
    all_ai = float(agg[agg["policy"] == "all-ai"]["label"].iloc[0])
    lines = [
        f"judge {result['judge']}: all-AI label accuracy {all_ai:.3f}; {result['reference']}",
        "",
        "| policy | " + " | ".join(f"{b:g}" for b in result["budgets"]) + " |",
        "|---" * (len(result["budgets"]) + 1) + "|",
    ]
    table = agg.set_index(["policy", "human_budget"])
    rand = {b: table.loc[("random", b), "label"] for b in result["budgets"]}
    oracle = {b: table.loc[(ORACLE, b), "label"] for b in result["budgets"]}
    for policy in POLICIES:
        if policy == "all-ai":
            continue
        cells = []
        for b in result["budgets"]:
            r = table.loc[(policy, b)]
            cell = f"{r['label']:.3f}"
            if policy in INFORMED:
                gain = oracle[b] - rand[b]
                share = (r["label"] - rand[b]) / gain if gain > 0 else float("nan")
                cell += f" ({100 * (r['label'] - rand[b]):+.1f}; {share:.0%} of oracle)"
            cells.append(cell)
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    best_cells = []
    for b in result["budgets"]:
        acc, picked = cross_fitted_best(rows, b)
        best_cells.append(f"{acc:.3f} [{'/'.join(picked)}]")
    lines.append("| best informed, cross-fitted | " + " | ".join(best_cells) + " |")
    lines.append(f"| all-ai | {all_ai:.3f} at every budget |" + " |" * (len(result["budgets"]) - 1))
    sd = agg[agg["policy"] != "all-human"]["sd"].max()
    lines.append("")
    lines.append(f"mean of {result['seeds']} seeds; largest seed sd {sd:.3f}")
    if rows["rm_accuracy"].notna().any():
        lines.append("")
        lines.append("reward-model held-out accuracy (production head on the hybrid labels):")
        for policy in POLICIES:
            budgets = [0.0] if policy == "all-ai" else result["budgets"]
            rm = [table.loc[(policy, b), "rm"] for b in budgets if (policy, b) in table.index]
            lines.append(f"  {policy}: " + " ".join(f"{x:.3f}" for x in rm))
    return agg, lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--budgets", default="0.1,0.25,0.5,0.75")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rm", action="store_true", help="also train the head per row (slow)")
    parser.add_argument("--router-model", default="logistic", choices=("logistic", "gbm"))
    parser.add_argument(
        "--head-steps",
        type=int,
        default=60,
        help="optimizer steps of each reward-model fit inside the routing rounds (default 60: the "
        "app's 150+ made the grid too slow for the shared machine)",
    )
    parser.add_argument("--out", default="bench/out/routing_real")
    args = parser.parse_args()
    if not (DATA / "testset-v1.json.gz").exists():
        print(f"shared PandaLM data not found at {DATA}; nothing to run")
        return 0
    out = Path(args.out)
    frame, votes, files = pandalm_pairs(out)
    budgets = [float(b) for b in args.budgets.split(",")]
    test = frame.iloc[:0]
    if args.rm:  # a fixed 20% of the pairs (hash split) held out with their majority label
        held = np.array([int(ids.digest("rm-test", p)[:8], 16) % 5 == 0 for p in frame["pair_id"]])
        test = frame[held & (frame["human"] != -1)].reset_index(drop=True)
        frame, votes = frame[~held].reset_index(drop=True), votes[~held]
    report = {"judges": [], "runs": []}
    with Store(out / "bench.duckdb") as store:
        for judge, other in (("gpt-3.5-turbo", "pandalm-7b"), ("pandalm-7b", "gpt-3.5-turbo")):
            from annotate_app.routing.learned import LearnedRouterConfig

            config = RoutingSimConfig(
                policies=list(POLICIES),
                human_budgets=budgets,
                judge=f"recorded:{files[judge]}",
                second_judge=f"recorded:{files[other]}",
                seeds=args.seeds,
                rounds=args.rounds,
                rm=args.rm,
                head=HeadConfig(min_steps=args.head_steps, max_steps=args.head_steps),
                router=LearnedRouterConfig(refit_every=25, model=args.router_model),
            )
            start = time.perf_counter()
            name, pool = build_pool(store, frame, test, config, votes=votes, on_progress=print)
            figures = judge_figures(pool, name)
            result = simulate_pool(name, pool, config, on_progress=print)
            result.update(budgets=budgets, seeds=args.seeds)
            _, lines = summarise(result)
            print(json.dumps(figures, indent=2))
            print("\n".join(lines))
            print(f"({time.perf_counter() - start:.0f} s)")
            report["judges"].append(figures)
            report["runs"].append(result)
    name = "routing_real-rm.json" if args.rm else "routing_real.json"
    (out / name).write_text(json.dumps(report, indent=2, default=float))
    print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
