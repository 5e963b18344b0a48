"""Head training time (1k / 10k labels) and score + select time over 100k open pairs, on the CPU.

    .venv/bin/python bench/bench_head.py

Features are random 384-d vectors (MiniLM's width): the timings depend on shapes, not content.
Each figure is the median of 3 runs. Target: score + select over 100k pairs under 2 s.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from annotate_app.active.acquisition import STRATEGIES, Candidates
from annotate_app.active.select import DEFAULT_STRATEGY, select_batch
from annotate_app.reward.config import HeadConfig
from annotate_app.reward.head import BTEnsemble

DIM, OPEN, BATCH = 384, 100_000, 50


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    config = HeadConfig()
    print(f"head: {config.members} members, hidden {config.hidden}, batch {config.batch_size}")
    print("| labels | train s (median of 3) |")
    print("|---|---|")
    model = None
    for n in (1_000, 10_000):
        a = rng.normal(size=(n, DIM)).astype(np.float32)
        b = rng.normal(size=(n, DIM)).astype(np.float32)
        y = (rng.random(n) < 0.5).astype(float)
        seconds = timed(lambda a=a, b=b, y=y: BTEnsemble(config, DIM).fit(a, b, y))
        print(f"| {n:,} | {seconds:.2f} |")
        model = BTEnsemble(config, DIM).fit(a, b, y)
    fa = rng.normal(size=(OPEN, DIM)).astype(np.float32)
    fb = rng.normal(size=(OPEN, DIM)).astype(np.float32)
    ctx = rng.normal(size=(OPEN, DIM)).astype(np.float32)
    labeled = rng.normal(size=(1_000, DIM)).astype(np.float32)
    score_s = timed(lambda: model.member_probs(fa, fb))
    probs = model.member_probs(fa, fb)
    print(f"\nscore {OPEN:,} open pairs: {score_s:.2f} s")
    print(f"| strategy | select {BATCH} of {OPEN:,} s | score + select s | under 2 s |")
    print("|---|---|---|---|")
    for name in STRATEGIES:
        c = Candidates(probs, ctx, labeled)
        sel = timed(
            lambda c=c, name=name: select_batch(c, name, BATCH),
            repeats=1 if name in ("balpm", "bald_cluster", "random_cluster") else 3,
        )
        total = score_s + sel
        mark = "yes" if total < 2 else "no"
        default = " (default)" if name == DEFAULT_STRATEGY else ""
        print(f"| {name}{default} | {sel:.2f} | {total:.2f} | {mark} |")


if __name__ == "__main__":
    main()
