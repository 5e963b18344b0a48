"""How often `auto` leaves random by mistake, and how often it finds a better arm, on synthetic gains.

    nice .venv/bin/python bench/bench_auto_rule.py [--runs 200] [--rounds 14 50 200]
    .venv/bin/python bench/bench_auto_rule.py --replays A.json B.json   # what auto did in replays

No models: each round's gain is drawn from a known law per arm (noise 0.01), and is known only once
the next round is drawn, as in the app and the replay. "Null": every arm gains the same, so any
lead is false. "Planted": BALD gains 0.03 per round against random's 0.01 (entropy 0.0, BAL-PM 0.01,
random + diversity 0.005). Rules compared in the same run on the same seeds: the shipped one
(``BanditConfig()``), and the previous rule (a per-arm 95% interval, no minimum of own batches;
here with a t quantile where the old code used the normal 1.96).
"""

from __future__ import annotations

import argparse

import numpy as np

from annotate_app.active.bandit import AutoBandit, BanditConfig

ARMS = BanditConfig().arms
NULL = dict.fromkeys(ARMS, 0.01)
PLANTED = {"random": 0.01, "bald": 0.03, "entropy": 0.0, "balpm": 0.01, "random_cluster": 0.005}


def play(truth: dict[str, float], rounds: int, seed: int, config: BanditConfig):
    """(leader at the end, whether any arm but random led at any round)."""
    rng = np.random.default_rng(seed)
    bandit = AutoBandit(config)
    pending, left = None, False
    for _ in range(rounds):
        r = bandit.draw(rng)
        if pending is not None:
            pending.gain = truth[pending.arm] + 0.01 * rng.normal()
        pending = r
        left |= bandit.leader().arm != "random"
    return bandit.leader().arm, left


def replays(paths: list[str]) -> None:
    """From `annotate simulate --json` reports: per replay of `auto`, which arm it followed at the
    end, and how its batches were spread over the arms."""
    import json
    from collections import Counter

    leaders: Counter[str] = Counter()
    drawn: Counter[str] = Counter()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for row in json.load(fh)["results"]:
                if row.get("strategy") == "auto" and isinstance(row.get("auto_arms"), list):
                    leaders[row["auto_leader"]] += 1
                    drawn.update(row["auto_arms"])
    n, batches = sum(leaders.values()), sum(drawn.values())
    print(f"{n} replays of auto, {batches} batches chosen by an arm")
    print("| arm | replays ending on it | share of batches |")
    print("|---|---|---|")
    for arm in ARMS:
        print(f"| {arm} | {leaders[arm]}/{n} | {drawn[arm] / max(batches, 1):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replays", nargs="+", metavar="REPORT.json")
    parser.add_argument("--runs", type=int, default=200, help="null runs; planted runs are 1/4")
    parser.add_argument("--rounds", type=int, nargs="+", default=[14, 50, 200])
    args = parser.parse_args()
    if args.replays:
        replays(args.replays)
        return
    rules = {
        "shipped (Bonferroni t, >= 2 own batches)": BanditConfig(),
        "previous (per-arm 95%, no minimum)": BanditConfig(
            alpha=0.05 * (len(ARMS) - 1), min_pulls=0
        ),
    }
    print(f"{args.runs} null runs, {args.runs // 4} planted runs per cell")
    print(
        "| rule | rounds | null: ends off random | null: ever off random | planted: ends on BALD |"
    )
    print("|---|---|---|---|---|")
    for name, config in rules.items():
        for rounds in args.rounds:
            null = [play(NULL, rounds, s, config) for s in range(args.runs)]
            planted = [play(PLANTED, rounds, 10_000 + s, config) for s in range(args.runs // 4)]
            end = np.mean([lead != "random" for lead, _ in null])
            ever = np.mean([left for _, left in null])
            found = np.mean([lead == "bald" for lead, _ in planted])
            print(f"| {name} | {rounds} | {end:.3f} | {ever:.3f} | {found:.2f} |")


if __name__ == "__main__":
    main()
