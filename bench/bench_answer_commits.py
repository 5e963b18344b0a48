"""Answer commits under concurrency: the label exchange from N annotator threads on one real Store,
without a browser or HTTP, as the label route runs it (leases written behind by a service thread).

Two ways to record each answer, alternated in the same run on copies of one project:

- ``outbox``: as shipped. An outbox's answers, their page ids and the leases its buffer top-up
  handed out go in one commit, shared with the outboxes that arrive during a commit
  (``annotation/group_commit.py``).
- ``per answer``: the way the label page recorded answers before: ``assignment.submit`` commits each
  answer on its own (event, page id and a delete of its lease row), and the service thread commits
  the new leases in a second transaction.

Both then build the same reply (``label_exchange.page_data``). Per answer: wall time of the
exchange (median, p95), and process CPU (all threads, the service thread's included).

Run: .venv/bin/python bench/bench_answer_commits.py [--annotators 16] [--answers 15] [--think 0.1]
     [--pairs 2000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate_app.accounts.auth import Account  # noqa: E402
from annotate_app.annotation import answers as page_answers  # noqa: E402
from annotate_app.annotation import assignment, group_commit  # noqa: E402
from annotate_app.annotation.assignment import Assignment  # noqa: E402
from annotate_app.settings import ProjectSettings  # noqa: E402
from annotate_app.store import Store  # noqa: E402
from annotate_app.ui import label_exchange as lx  # noqa: E402
from tests import load_driver as ld  # noqa: E402


def _per_answer(store: Store, who: Account, settings: ProjectSettings, item: dict) -> dict:
    """The earlier answer path: one commit per answer, then the reply."""
    shown = Assignment.answering(item["pair"], item["side"])
    event = assignment.submit(
        store, who.name, shown, shown_choice=item["choice"], settings=settings,
        latency_ms=item["latency_ms"], client_id=item["cid"],
    )  # fmt: skip
    ack = page_answers.Ack(item["cid"], "saved", event).as_dict()
    return lx.page_data(store, who, settings, frozenset(), None, [ack])


def run(db: Path, way: str, annotators: int, answers: int, think: float) -> dict:
    work = db.with_name(f"{way.replace(' ', '-')}-{uuid.uuid4().hex[:6]}.duckdb")
    shutil.copy(db, work)
    store = Store(work)
    assignment.write_leases_behind(store)
    stop = threading.Event()

    def service() -> None:  # what the app's service thread does every 0.2 s
        while not stop.wait(0.2):
            assignment.maintain_queue(store)

    threading.Thread(target=service, daemon=True).start()
    settings = ProjectSettings.load(store)
    times: list[float] = []
    lock = threading.Lock()

    def annotator(k: int) -> None:
        who = Account(f"a{k}", "annotator")
        reply = lx.exchange(store, who, settings, lx.SyncRequest(seq=0))
        rng = random.Random(k)
        for i in range(answers):
            time.sleep(rng.uniform(0, 2 * think))
            pair = reply["pairs"][0]
            item = {"cid": uuid.uuid4().hex, "kind": "label", "pair": pair["id"],
                    "side": pair["side"], "choice": 1, "latency_ms": 500}  # fmt: skip
            have = frozenset(p["id"] for p in reply["pairs"])
            t0 = time.perf_counter()
            if way == "outbox":
                reply = lx.exchange(store, who, settings, lx.SyncRequest(i + 1, [item], have))
            else:
                reply = _per_answer(store, who, settings, item)
            with lock:
                times.append((time.perf_counter() - t0) * 1000)
            if reply["acks"][0]["status"] != "saved":
                raise RuntimeError(f"not saved: {reply['acks'][0]}")

    cpu0 = time.process_time()
    threads = [threading.Thread(target=annotator, args=(k,)) for k in range(annotators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu0
    stop.set()
    grouped = group_commit.for_store(store)
    labels = store.current_labels("human")
    store.close()
    work.unlink()
    return {
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "cpu_ms": cpu * 1000 / len(times),
        "per_commit": grouped.outboxes / grouped.commits if grouped.commits else 1.0,
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
    results: dict[str, list[dict]] = {"per answer": [], "outbox": []}
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as tmp:
        db = ld.build_project(Path(tmp) / "p.duckdb", args.pairs, [])
        for _ in range(args.rounds):
            for way in results:
                r = run(db, way, args.annotators, args.answers, args.think)
                print(f"{way}: {r}", flush=True)
                results[way].append(r)
    print()
    print("| way | exchange median | p95 | CPU ms per answer | outboxes per commit | labels "
          "(pairs twice) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    base = statistics.median(r["cpu_ms"] for r in results["per answer"])
    for way, rs in results.items():
        med = statistics.median
        print(
            f"| {way} | {med(r['median'] for r in rs):.1f} ms | {med(r['p95'] for r in rs):.1f} ms "
            f"| {med(r['cpu_ms'] for r in rs):.1f} ({med(r['cpu_ms'] for r in rs) / base:.2f}x) "
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
