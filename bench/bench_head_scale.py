"""The head's logit scale out of sample: is the reward head's p(A better) calibrated on test pairs,
before and after the train job folds the scale it fits on out-of-fold probabilities?

    .venv/bin/python bench/bench_active_oos.py --write-split SPLIT --write-pandalm SPLIT
    nice -n 10 .venv/bin/python bench/bench_head_scale.py --db HH.duckdb \
        --train SPLIT/hh-pool-1400.jsonl --test SPLIT/hh-test-600.jsonl [--seeds 10] [--pool-size N]
    nice -n 10 .venv/bin/python bench/bench_head_scale.py --db P.duckdb \
        --train SPLIT/pandalm-pool-543.jsonl --test SPLIT/pandalm-test-293.jsonl [--seeds 10]

Per seed, as the train job does on a project's training labels: ``choose_head`` on the pool alone
(5-fold CV, members' out-of-fold probabilities, one logit scale per variant), then the chosen head
is fitted on the whole pool and scored once on the test file, raw and with its scale folded into
its weights (``BTEnsemble.fold_logit_scale``, as the saved model has it). The default head is
scored the same way with its own out-of-fold scale, paired, whatever was chosen, which is what the
question "should the default head be scaled too" needs. Figures per test pair: log-loss, ECE,
accuracy (a positive scale keeps the order, so it must not move), the calibration slope (the
logistic fit of the outcome on the head's logit, without intercept: 1 is calibrated, above 1
timid), how often the head is confident enough for routing's escalation (|2p - 1| >= 0.6, i.e.
p >= 0.8 or p <= 0.2; also with the members' spread <= 0.1, escalation's second condition), and
how often it is right on those pairs. Vectors come from the embedding cache of the project at
--db (``bench_reward_features.py --embed-only`` fills it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_heldout import load  # noqa: E402
from bench_reward_features import Split, vectors  # noqa: E402

from annotate_app.reward.config import HeadChoiceConfig, HeadConfig, head_variant  # noqa: E402
from annotate_app.reward.head_choice import choose_head  # noqa: E402
from annotate_app.reward.judge_stack import fit_logistic, logit  # noqa: E402
from annotate_app.reward.metrics import evaluate, pair_log_loss  # noqa: E402
from annotate_app.reward.pipeline import fit_head  # noqa: E402
from annotate_app.routing.escalation import EscalationConfig  # noqa: E402

ESCALATION = EscalationConfig()


def figures(members: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The head's figures on test pairs from its members' p(A better), [K, N]."""
    p, spread = members.mean(0), members.std(0)
    out = evaluate(p, y)
    decided = y != 0.5
    slope = fit_logistic(logit(p[decided])[:, None], y[decided], np.zeros(1), l2=1e-6)[0]
    confident = np.abs(2 * p - 1) >= ESCALATION.rm_confidence
    escalating = confident & (spread <= ESCALATION.rm_max_uncertainty)
    right = (p > 0.5) == (y > 0.5)
    return {
        "log_loss": out["log_loss"],
        "ece": out["ece"],
        "accuracy": out["accuracy"],
        "slope": float(slope),
        "confident": float(confident.mean()),
        "escalating": float(escalating.mean()),
        "right_when_confident": float(right[confident].mean()) if confident.any() else np.nan,
    }


def members_on_test(pool: Split, test: Split, head: HeadConfig, scale: float) -> np.ndarray:
    model = fit_head(pool.a, pool.b, pool.y, np.ones(len(pool.y)), head)
    if scale != 1.0:
        model.fold_logit_scale(scale)
    return model.member_probs(test.a, test.b)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--train", required=True, type=Path, help="the pool: the choice's CV")
    parser.add_argument("--test", required=True, type=Path, help="scored once, never fitted on")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--pool-size", type=int, help="the first N pool pairs only (reduced run)")
    parser.add_argument("--chunk", type=int, default=200, help="texts embedded per cache write")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    pool_frame, test_frame = load(args.train), load(args.test)
    if args.pool_size:
        pool_frame = pool_frame.iloc[: args.pool_size].reset_index(drop=True)
    splits = []
    for frame in (pool_frame, test_frame):
        a, b = vectors(args.db, frame, "minilm", args.chunk)
        la, lb = frame["len_a"].to_numpy(), frame["len_b"].to_numpy()
        splits.append(Split(a, b, frame["target"].to_numpy(float), la, lb))
    pool, test = splits
    rows: dict[str, list[dict[str, float]]] = {}
    losses: dict[str, list[np.ndarray]] = {}  # per seed, each test pair's log-loss
    flipped: dict[str, list[float]] = {}  # per seed, the share of test pairs that changed side
    picked, scales, cpu_choice = [], {"chosen": [], "default": []}, []
    for seed in range(args.first_seed, args.first_seed + args.seeds):

        def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
            model = fit_head(pool.a[fit], pool.b[fit], pool.y[fit], np.ones(len(fit)), head)
            return model.member_probs(pool.a[score], pool.b[score])

        base = replace(HeadConfig(), seed=seed)
        cpu = time.process_time()
        choice = choose_head(
            fit_predict, pool.y, base, HeadChoiceConfig(folds=args.folds, seed=seed)
        )
        cpu_choice.append(time.process_time() - cpu)
        picked.append(choice.variant)
        default_scale = choice.cv["default"]["logit_scale"]
        scales["chosen"].append(choice.logit_scale)
        scales["default"].append(default_scale)
        raw = members_on_test(pool, test, choice.head, 1.0)
        scaled = members_on_test(pool, test, choice.head, choice.logit_scale)
        if choice.variant == "default":
            default_raw, default_scaled = raw, scaled
        else:
            default_head = head_variant(base, "default")
            default_raw = members_on_test(pool, test, default_head, 1.0)
            default_scaled = members_on_test(pool, test, default_head, default_scale)
        for who, before, after in (
            ("chosen", raw, scaled),
            ("default", default_raw, default_scaled),
        ):
            # the side of the member mean can change where members disagree on it
            flipped.setdefault(who, []).append(
                float(((before.mean(0) > 0.5) != (after.mean(0) > 0.5)).mean())
            )
        for name, members in (
            ("chosen, raw", raw),
            ("chosen, scaled", scaled),
            ("default, raw", default_raw),
            ("default, scaled", default_scaled),
        ):
            rows.setdefault(name, []).append(figures(members, test.y))
            losses.setdefault(name, []).append(pair_log_loss(members.mean(0), test.y))
        now = rows["chosen, raw"][-1], rows["chosen, scaled"][-1]
        print(
            f"seed {seed}: chose {choice.variant}, scale {choice.logit_scale:.2f} (default's "
            f"{default_scale:.2f}); test log-loss {now[0]['log_loss']:.4f} -> "
            f"{now[1]['log_loss']:.4f}, p>=0.8 or <=0.2 {now[0]['confident']:.1%} -> "
            f"{now[1]['confident']:.1%}; choice {cpu_choice[-1]:.1f} s CPU",
            flush=True,
        )
    counts = ", ".join(f"{v} {k}" for v, k in Counter(picked).most_common())
    print(
        f"\npool {args.train.name} ({len(pool.y)} pairs, {args.folds}-fold CV), test "
        f"{args.test.name} ({len(test.y)} pairs); seeds {args.first_seed}-"
        f"{args.first_seed + args.seeds - 1}; chosen: {counts}"
    )
    for who in ("chosen", "default"):
        s = np.asarray(scales[who])
        print(
            f"logit scale of the {who} head: median {np.median(s):.2f}, "
            f"range {s.min():.2f}-{s.max():.2f}"
        )
    keys = ["log_loss", "ece", "accuracy", "slope", "confident", "escalating"]
    print(
        "\n| head, probabilities | test log-loss | ECE | accuracy | calibration slope "
        "| share p >= 0.8 or <= 0.2 | share escalation-ready (also spread <= 0.1) "
        "| right when p >= 0.8 or <= 0.2 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, per_seed in rows.items():
        mean = {k: float(np.mean([r[k] for r in per_seed])) for k in keys}
        sd = {k: float(np.std([r[k] for r in per_seed], ddof=1)) for k in keys}
        right = float(np.nanmean([r["right_when_confident"] for r in per_seed]))
        print(
            f"| {name} | {mean['log_loss']:.4f} ± {sd['log_loss'] / np.sqrt(len(per_seed)):.4f} "
            f"| {mean['ece']:.3f} | {mean['accuracy']:.3f} | {mean['slope']:.2f} "
            f"| {mean['confident']:.1%} | {mean['escalating']:.1%} | {right:.3f} |"
        )
    for who in ("chosen", "default"):
        gain = np.stack(losses[f"{who}, scaled"]) - np.stack(losses[f"{who}, raw"])  # [seeds, N]
        by_seed, by_pair = gain.mean(1), gain.mean(0)
        print(
            f"{who}: scaled - raw test log-loss {by_seed.mean():+.4f} ± "
            f"{by_seed.std(ddof=1) / np.sqrt(len(by_seed)):.4f} over seeds, ± "
            f"{by_pair.std(ddof=1) / np.sqrt(len(by_pair)):.4f} over test pairs; lower in "
            f"{(by_seed < 0).sum()} of {len(by_seed)} seeds; test pairs whose side changed "
            f"{np.mean(flipped[who]):.2%} (max {np.max(flipped[who]):.2%} in a seed)"
        )
    print(f"choice CPU s, median {np.median(cpu_choice):.1f}")


if __name__ == "__main__":
    main()
