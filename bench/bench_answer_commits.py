"""Answer commits under concurrency: the label exchange from N annotator threads on one real Store,
without a browser or HTTP, as the label route runs it (``load_driver.answer_times``: one answer per
exchange, leases written behind by a service thread).

Two ways to commit each outbox, alternated in the same run on copies of one project; everything
else (parsing, claims, the buffer top-up, the reply) is the shipped code in both:

- ``grouped``: as shipped. An outbox's answers, their page ids and the leases its buffer top-up
  handed out go in one commit, shared with the outboxes that arrive during a commit
  (``annotation/group_commit.py``).
- ``per outbox``: the baseline without grouping. Each outbox makes that same commit on its own as it
  arrives (``group_commit.install_for_store(store, grouped=False)``).

Per answer: wall time of the exchange (median, p95), process CPU (all threads, the service
thread's included), and the CPU of the committing threads inside the commits alone.

Run: .venv/bin/python bench/bench_answer_commits.py [--annotators 16] [--answers 15] [--think 0.1]
     [--pairs 2000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate_app.annotation import group_commit  # noqa: E402
from annotate_app.store import Store  # noqa: E402
from tests import load_driver as ld  # noqa: E402


def run(db: Path, way: str, annotators: int, answers: int, think: float) -> dict:
    work = db.with_name(f"{way.replace(' ', '-')}-{uuid.uuid4().hex[:6]}.duckdb")
    shutil.copy(db, work)
    store = Store(work)
    # record_outbox commits through the store's committer
    committer = group_commit.install_for_store(store, grouped=way == "grouped")
    assert group_commit.for_store(store) is committer
    names = [f"a{k}" for k in range(annotators)]
    cpu0 = time.process_time()
    times, _ = ld.answer_times(store, names, answers, think)
    cpu = time.process_time() - cpu0
    labels = store.current_labels("human")
    store.close()
    work.unlink()
    return {
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "cpu_ms": cpu * 1000 / len(times),
        "commit_cpu_ms": committer.commit_cpu_s * 1000 / len(times),
        "per_commit": committer.outboxes / committer.commits if committer.commits else 1.0,
        "answers": len(times),
        "labels": len(labels),
        "twice": int(labels["pair_id"].duplicated().sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=16)
    parser.add_argument("--answers", type=int, default=15, help="answers per annotator")
    parser.add_argument("--think", type=float, default=0.1, help="mean seconds between answers")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two ways")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"per outbox": [], "grouped": []}
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as tmp:
        db = ld.build_project(Path(tmp) / "p.duckdb", args.pairs, [])
        for _ in range(args.rounds):
            for way in results:
                r = run(db, way, args.annotators, args.answers, args.think)
                print(f"{way}: {r}", flush=True)
                results[way].append(r)
    print()
    print("| way | exchange median | p95 | CPU ms per answer | of it in commits | outboxes per "
          "commit | labels (pairs twice) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(r["cpu_ms"] for r in results["per outbox"])
    for way, rs in results.items():
        med = statistics.median
        print(
            f"| {way} | {med(r['median'] for r in rs):.1f} ms | {med(r['p95'] for r in rs):.1f} ms "
            f"| {med(r['cpu_ms'] for r in rs):.1f} ({med(r['cpu_ms'] for r in rs) / base:.2f}x) "
            f"| {med(r['commit_cpu_ms'] for r in rs):.1f} "
            f"| {med(r['per_commit'] for r in rs):.2f} | {sum(r['labels'] for r in rs)} "
            f"({sum(r['twice'] for r in rs)}) |"
        )
    print(
        f"\nMedians over {args.rounds} rounds; {args.annotators} annotator threads, "
        f"{args.answers} answers each, think time uniform 0-{2 * args.think:.2f} s, "
        f"{args.pairs} pairs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )


if __name__ == "__main__":
    main()
