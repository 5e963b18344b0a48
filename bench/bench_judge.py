"""AI judge benchmark: local judge speed at batch sizes 1/8/32, and agreement with HH human labels.

    .venv/bin/python bench/bench_judge.py agreement --n 500   # resumable; verdicts cached per pair
    .venv/bin/python bench/bench_judge.py speed --pairs 16
    .venv/bin/python bench/bench_judge.py report              # figures from the cache, no model

The agreement run appends every finished chunk to ``bench/out/judge_hh_verdicts.jsonl``; rerunning
judges only the pairs not cached yet. Pairs use the app's orientation (A = the smaller response id),
so "always A" is a fair coin, and the judge is compared with trivial baselines on the same pairs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotate_app.analytics.calibration import wilson_interval as wilson  # noqa: E402
from annotate_app.ids import prompt_id, response_id  # noqa: E402
from annotate_app.ingest.hh import split_hh_pair  # noqa: E402
from annotate_app.judge.debias import judge_pairs  # noqa: E402
from annotate_app.judge.protocol import Comparison, PairText  # noqa: E402

HH = ROOT.parent / "shared" / "data" / "hh-rlhf" / "harmless-base-test-2000.jsonl.gz"
OUT = ROOT / "bench" / "out"
CACHE = OUT / "judge_hh_verdicts.jsonl"


def load_hh(n: int, seed: int = 0) -> list[tuple[PairText, bool]]:
    """(pair, human prefers A) for a seeded sample of HH pairs, oriented as the app orients them."""
    if not HH.exists():
        sys.exit(f"HH data not found at {HH}")
    with gzip.open(HH, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    random.Random(seed).shuffle(rows)
    out = []
    for row in rows:
        turns, chosen, rejected = split_hh_pair(row["chosen"], row["rejected"])
        if chosen == rejected:
            continue
        pid = prompt_id(turns)
        a_is_chosen = response_id(pid, chosen) < response_id(pid, rejected)
        a, b = (chosen, rejected) if a_is_chosen else (rejected, chosen)
        out.append((PairText(f"hh-{len(out)}", turns, a, b), a_is_chosen))
        if len(out) == n:
            break
    return out


def make_judge(batch_size: int):
    from annotate_app.judge.local import LocalJudge, LocalJudgeConfig

    return LocalJudge(LocalJudgeConfig(batch_size=batch_size))


def cmd_agreement(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = load_hh(args.n)
    done = {json.loads(line)["pair_id"] for line in CACHE.open()} if CACHE.exists() else set()
    todo = [p for p, _ in data if p.pair_id not in done]
    print(f"{len(done)} cached, {len(todo)} to judge", flush=True)
    if not todo:
        return
    judge = make_judge(args.batch_size)
    t0 = time.perf_counter()
    for start in range(0, len(todo), args.chunk):
        chunk = todo[start : start + args.chunk]
        verdicts = judge_pairs(judge, chunk)
        with CACHE.open("a", encoding="utf-8") as f:
            for v in verdicts:
                if v is not None:
                    rec = {"pair_id": v.pair_id, "p_a": v.p_a, "p_ab": v.p_ab, "p_ba": v.p_ba}
                    rec["consistent"] = v.consistent
                    f.write(json.dumps(rec) + "\n")
        n = start + len(chunk)
        rate = n / (time.perf_counter() - t0)
        print(f"{len(done) + n}/{len(data)} pairs, {rate:.3f} pairs/s", flush=True)


def cmd_report(args: argparse.Namespace) -> None:
    data = load_hh(args.n)
    truth = {p.pair_id: (p, a) for p, a in data}
    cached = [json.loads(line) for line in CACHE.open()] if CACHE.exists() else []
    cached = [r for r in cached if r["pair_id"] in truth]
    n = len(cached)
    rng = random.Random(1)
    rows = []

    def add(name: str, correct: list[float]) -> None:
        k = sum(correct)
        lo, hi = wilson(k, len(correct))
        rows.append((name, len(correct), k / max(1, len(correct)), lo, hi))

    add(
        "SmolLM2-135M judge, debiased",
        [float((r["p_a"] > 0.5) == truth[r["pair_id"]][1]) for r in cached],
    )
    add(
        "  A-first order only", [float((r["p_ab"] > 0.5) == truth[r["pair_id"]][1]) for r in cached]
    )
    add(
        "  B-first order only", [float((r["p_ba"] < 0.5) == truth[r["pair_id"]][1]) for r in cached]
    )
    add("always A", [float(truth[r["pair_id"]][1]) for r in cached])
    add(
        "coin flip (seed 1)",
        [float((rng.random() < 0.5) == truth[r["pair_id"]][1]) for r in cached],
    )

    def shorter(p: PairText, a_wins: bool) -> float:
        if len(p.text_a) == len(p.text_b):
            return 0.5
        return float((len(p.text_a) < len(p.text_b)) == a_wins)

    add("shorter reply wins", [shorter(*truth[r["pair_id"]]) for r in cached])
    consistency = sum(r["consistent"] for r in cached) / max(1, n)
    first_pref = (
        statistics.mean([r["p_ab"] for r in cached] + [r["p_ba"] for r in cached]) if n else 0
    )
    print(f"HH harmless-base, {n} pairs judged in both orders (sample of the first {args.n})\n")
    print("| method | n | agreement | 95% Wilson |\n|---|---|---|---|")
    for name, m, acc, lo, hi in rows:
        print(f"| {name} | {m} | {acc:.3f} | {lo:.3f}-{hi:.3f} |")
    print(f"\norder-consistency rate: {consistency:.3f}")
    print(
        f"mean P(first answer better) over both orders: {first_pref:.3f} (0.5 = no position bias)"
    )


def cmd_speed(args: argparse.Namespace) -> None:
    pairs = [p for p, _ in load_hh(args.pairs)]
    comparisons = [Comparison(p.turns, p.text_a, p.text_b) for p in pairs]
    comparisons += [Comparison(p.turns, p.text_b, p.text_a) for p in pairs]
    judge = make_judge(1)
    judge.score(comparisons[:2])  # warm-up
    print(f"local judge on {judge.device}, {len(pairs)} HH pairs x 2 orders\n")
    print("| batch size | pairs/s | s per pair | vs batch 1 |\n|---|---|---|---|")
    base = None
    for bs in (1, 8, 32):
        judge.config.batch_size = bs
        t0 = time.perf_counter()
        judge.score(comparisons)
        secs = time.perf_counter() - t0
        rate = len(pairs) / secs
        base = base or rate
        print(f"| {bs} | {rate:.3f} | {secs / len(pairs):.2f} | {rate / base:.2f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("agreement")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--chunk", type=int, default=16)
    p.set_defaults(func=cmd_agreement)
    p = sub.add_parser("report")
    p.add_argument("--n", type=int, default=500)
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("speed")
    p.add_argument("--pairs", type=int, default=16)
    p.set_defaults(func=cmd_speed)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
