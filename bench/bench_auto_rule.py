"""What `auto`'s rules cost and buy, on synthetic gains: how often it leaves random by mistake, how
often it finds a better arm, and how many labels its exploration spends on the other arms.

    nice -n 10 .venv/bin/python bench/bench_auto_rule.py [--runs 200] [--rounds 200]
    .venv/bin/python bench/bench_auto_rule.py --replays A.json B.json   # what auto did in replays

No models: each round's gain is drawn from a known law per arm (noise 0.01), and is known only once
the next round is drawn, as in the app and the replay. "Null": every arm gains the same, so any
lead is false. "Planted": BALD gains 0.03 per round against random's 0.01 (entropy 0.0, BAL-PM 0.01,
random + diversity 0.005). "Worse": every other arm gains 0.0 against random's 0.01, so every
exploratory batch is a loss. Rules compared in the same run on the same seeds: the shipped one
(``BanditConfig()``) and variants of its exploration. "Labels off random" is the share of all
labels chosen by an arm other than random (the uniform share of every batch counts as random),
over the first 6 batches (a short project, as in the replays), the first 14, and the whole run.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from annotate_app.active.bandit import BASELINE, AutoBandit, BanditConfig

ARMS = BanditConfig().arms
NULL = dict.fromkeys(ARMS, 0.01)
PLANTED = {"random": 0.01, "bald": 0.03, "entropy": 0.0, "balpm": 0.01, "random_cluster": 0.005}
WORSE = {a: (0.01 if a == BASELINE else 0.0) for a in ARMS}
EARLY = (6, 14)


def play(truth: dict[str, float], rounds: int, seed: int, config: BanditConfig) -> dict:
    """One history: the leader after the last round and after 50, whether any arm but random led
    at any round, and the share of labels chosen off random over the first batches and overall."""
    rng = np.random.default_rng(seed)
    bandit = AutoBandit(config)
    pending, left, lead50 = None, False, BASELINE
    for i in range(rounds):
        r = bandit.draw(rng)
        if pending is not None:
            pending.gain = truth[pending.arm] + 0.01 * rng.normal()
        pending = r
        lead = bandit.leader().arm
        left |= lead != BASELINE
        if i + 1 == 50:
            lead50 = lead
    off = np.asarray([r.arm != BASELINE for r in bandit.rounds], float) * (1 - config.random_share)
    return {
        "lead": bandit.leader().arm,
        "lead50": lead50,
        "left": left,
        "off": [off[:n].mean() for n in EARLY] + [off.mean()],
    }


def replays(paths: list[str]) -> None:
    """From `annotate simulate --json` reports: per replay of `auto` (each rule apart), which arm
    it followed at the end, and how its batches were spread over the arms."""
    import json
    from collections import Counter, defaultdict

    leaders: dict[str, Counter[str]] = defaultdict(Counter)
    drawn: dict[str, Counter[str]] = defaultdict(Counter)
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for row in json.load(fh)["results"]:
                name = str(row.get("strategy", ""))
                if name.startswith("auto") and isinstance(row.get("auto_arms"), list):
                    leaders[name][row["auto_leader"]] += 1
                    drawn[name].update(row["auto_arms"])
    for name in leaders:
        n, batches = sum(leaders[name].values()), sum(drawn[name].values())
        print(f"{name}: {n} replays, {batches} batches chosen by an arm")
        print("| arm | replays ending on it | share of batches |")
        print("|---|---|---|")
        for arm in ARMS:
            share = drawn[name][arm] / max(batches, 1)
            print(f"| {arm} | {leaders[name][arm]}/{n} | {share:.2f} |")


def rules() -> dict[str, BanditConfig]:
    shipped = BanditConfig()
    return {
        "previous: flat 0.3": replace(shipped, explore_ramp=0, eliminate=False),
        "flat 0.1": replace(shipped, explore=0.1, explore_ramp=0, eliminate=False),
        "flat 0.3 + elimination": replace(shipped, explore_ramp=0),
        "ramp 10, no elimination": replace(shipped, eliminate=False),
        f"shipped: ramp {shipped.explore_ramp} + elimination": shipped,
        "ramp 30 + elimination": replace(shipped, explore_ramp=30),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replays", nargs="+", metavar="REPORT.json")
    parser.add_argument("--runs", type=int, default=200, help="null runs; planted, worse: 1/4")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if args.replays:
        replays(args.replays)
        return
    n = args.runs
    print(
        f"{n} null runs, {n // 4} planted and {n // 4} worse runs per rule, {args.rounds} batches"
    )
    head = " | ".join(f"first {e}" for e in EARLY)
    print(
        f"| rule | null: ends off random | null: ever off random | planted: on BALD @50 "
        f"| planted: on BALD @{args.rounds} | labels off random, null: {head} | all "
        f"| labels off random, worse: {head} | all |"
    )
    print("|---" * 11 + "|")
    for name, config in rules().items():
        null = [play(NULL, args.rounds, s, config) for s in range(n)]
        planted = [play(PLANTED, args.rounds, 10_000 + s, config) for s in range(n // 4)]
        worse = [play(WORSE, args.rounds, 20_000 + s, config) for s in range(n // 4)]
        end = np.mean([r["lead"] != BASELINE for r in null])
        ever = np.mean([r["left"] for r in null])
        found50 = np.mean([r["lead50"] == "bald" for r in planted])
        found = np.mean([r["lead"] == "bald" for r in planted])
        off_null = np.mean([r["off"] for r in null], axis=0)
        off_worse = np.mean([r["off"] for r in worse], axis=0)
        cells = [f"{end:.3f}", f"{ever:.3f}", f"{found50:.2f}", f"{found:.2f}"]
        cells += [f"{x:.3f}" for x in off_null] + [f"{x:.3f}" for x in off_worse]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
