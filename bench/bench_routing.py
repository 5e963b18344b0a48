"""Routing simulation on the shared HH file: every policy against random routing at the same budget.

Splits ../shared/data/hh-rlhf/harmless-base-test-2000.jsonl.gz into a 1,500-pair pool (first rows)
and a 500-pair test file (last rows), then runs ``annotate simulate --routing`` on them and prints
its table. The bench project (``--db``, default bench/out/routing/bench.duckdb) holds the embedding
cache; verdicts are cached in its work folder. Usage:

    .venv/bin/python bench/bench_routing.py --judge simulated:0.7 [--limit N] [--seeds 3] [--pool N]
    .venv/bin/python bench/bench_routing.py --judge local --reuse-judge-bench

The shipped SmolLM2 judge runs at tens of seconds per pair on the shared 2-core machine, so
``--reuse-judge-bench`` takes the verdicts that ``bench/bench_judge.py agreement`` already wrote
(``bench/out/judge_hh_verdicts.jsonl``, same judge, same A/B orientation), and routes only the pool
pairs that have one.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

from annotate_app.cli import main as annotate

HH = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "hh-rlhf"
    / "harmless-base-test-2000.jsonl.gz"
)


def split(out: Path, n_pool: int = 1500) -> tuple[Path, Path]:
    with gzip.open(HH, "rt", encoding="utf-8") as fh:
        rows = fh.read().splitlines(keepends=True)
    out.mkdir(parents=True, exist_ok=True)
    pool, test = out / f"hh-pool-{n_pool}.jsonl", out / "hh-test.jsonl"
    pool.write_text("".join(rows[:n_pool]), encoding="utf-8")
    test.write_text("".join(rows[1500:]), encoding="utf-8")
    return pool, test


def reuse_judge_bench(out: Path, pool: Path, work: Path) -> Path:
    """A pool file of the judged pool pairs, and their verdicts in the simulation's cache."""
    import json

    import pandas as pd

    from annotate_app.ids import pair_id, prompt_id, response_id
    from annotate_app.ingest.hh import split_hh_pair
    from annotate_app.simulation.routing import verdict_cache_path

    bench_dir = Path(__file__).resolve().parent
    sys.path.insert(0, str(bench_dir))
    from bench_judge import CACHE, load_hh

    def key(turns: list[dict], first: str, second: str) -> str:
        pid = prompt_id(turns)
        return pair_id(response_id(pid, first), response_id(pid, second))

    bench_ids = {p.pair_id: key(p.turns, p.text_a, p.text_b) for p, _ in load_hh(2000)}
    verdicts = pd.DataFrame([json.loads(line) for line in CACHE.open(encoding="utf-8")])
    verdicts["pair_id"] = verdicts["pair_id"].map(bench_ids)
    judged = set(verdicts["pair_id"])
    rows = []
    for line in pool.read_text(encoding="utf-8").splitlines(keepends=True):
        row = json.loads(line)
        turns, chosen, rejected = split_hh_pair(row["chosen"], row["rejected"])
        if chosen != rejected and key(turns, chosen, rejected) in judged:
            rows.append(line)
    subset = out / "hh-pool-judged.jsonl"
    subset.write_text("".join(rows), encoding="utf-8")
    cache = verdict_cache_path(work / "simulation", "local")
    cache.parent.mkdir(parents=True, exist_ok=True)
    verdicts[["pair_id", "p_a", "p_ab", "p_ba", "consistent"]].to_parquet(cache)
    print(f"reusing {len(verdicts)} SmolLM2 verdicts from {CACHE}; {len(rows)} are pool pairs")
    return subset


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--judge", default="simulated:0.7")
    parser.add_argument("--seeds", default="3")
    parser.add_argument("--limit")
    parser.add_argument("--out", default="bench/out/routing")
    parser.add_argument("--pool", type=int, default=1500, help="pool pairs (first rows of HH)")
    parser.add_argument("--budgets", default="0,0.1,0.25,0.5,1")
    parser.add_argument("--no-rm", action="store_true", help="skip the reward-model column")
    parser.add_argument("--reuse-judge-bench", action="store_true")
    args = parser.parse_args()
    if not HH.exists():
        print(f"shared data not found at {HH}; nothing to run")
        return 0
    out = Path(args.out)
    pool, test = split(out, args.pool)
    db = out / "bench.duckdb"
    if args.reuse_judge_bench:
        pool = reuse_judge_bench(out, pool, out / "bench.work")
    tag = args.judge.replace(":", "-").replace("/", "_") + (f"-n{args.limit}" if args.limit else "")
    argv = [
        "--db",
        str(db),
        "simulate",
        str(pool),
        "--routing",
        "all-human,all-ai,random,confidence,value,learned,oracle",
        "--human-budgets",
        args.budgets,
        "--test",
        str(test),
        "--judge",
        args.judge,
        "--seeds",
        args.seeds,
        "--json",
        str(out / f"routing-{tag}.json"),
        "--html",
        str(out / f"routing-{tag}.html"),
    ]
    if args.limit:
        argv += ["--limit", args.limit]
    if args.no_rm:
        argv.append("--no-rm")
    return annotate(argv)


if __name__ == "__main__":
    sys.exit(main())
