"""Load: N annotators labeling at once against `annotate serve` on 127.0.0.1, in real browsers.

For each N: build a project of open pairs (overlap 1), start `annotate serve`, and drive N browser
contexts in one chromium (tests/load_driver.py): sign in, then a fixed number of keyboard answers
each, with a think time between answers (uniform 0.5x-1.5x of --think). The label page paints the
next pair from its buffer at the key press; the latency measured here is the acknowledgement: from
the key press to the server's acknowledgement of the answer's id, in the page. After the server
stops, DuckDB is checked: every acknowledged event id present, no extra label, no pair labeled twice.
The server's CPU per answer gives the capacity of one server process: answers per CPU second, and
annotators at 10 s per label. The server's probe also counts its answer commits, so the table says
how many outboxes each commit carried (outboxes arriving during a commit share the next one).

The label page answers through the label route (``POST /annotate/label/sync``), without a Streamlit
rerun. The accounts are made with ``annotate user add NAME --role annotator --password-stdin`` and
sign in with their password. So that on a small machine the figures are the server's, not the
browsers' fight for the same cores, the servers (app and floor) run at niceness --server-nice and
this process with its chromium at --browser-nice (both stated in the table).

Baselines in the same run: a bare Streamlit fragment that swaps one marker on the same keys, with
the same N browser contexts (what Streamlit and chromium cost on this machine right now), and the
domain work alone (submit + next pair + progress) from N threads on one Store, without Streamlit.

Run (as root for a negative niceness):
  .venv/bin/python bench/bench_load.py [--annotators 16 32] [--submits 8] [--think 5.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate_app.store import Store  # noqa: E402
from tests import load_driver as ld  # noqa: E402


def load() -> float:
    return os.getloadavg()[0]


def browser_run(
    folder: Path, n: int, submits: int, think: float, pairs: int, nice: int | None
) -> dict:
    names = [f"ann{k}" for k in range(n)]
    db = ld.build_project(folder / f"load{n}.duckdb", pairs, [])
    accounts_s = ld.add_accounts(db, names)
    probe = folder / f"server-ms-{n}.txt"
    proc, url = ld.start_server(
        db, folder / "work", env={"ANNOTATE_TIMING_LOG": str(probe)}, nice=nice
    )
    window: dict[str, float] = {}
    try:
        watch = threading.Thread(target=_after_sign_in, args=(proc.pid, window), daemon=True)
        result = asyncio.run(
            ld.drive(url, names, submits, think_s=think, password=ld.PASSWORD,
                     on_start=lambda people: (window.update(people=people), watch.start()))
        )  # fmt: skip
        window["done"] = 1.0
        watch.join(timeout=5)
        cpu = ld.cpu_seconds(proc.pid) - window.get("cpu0", 0.0)
    finally:
        ld.stop(proc)
    probed = [line.split() for line in probe.read_text().splitlines() if line.strip()]
    server_ms = [float(row[0]) for row in probed]
    counted = [row for row in probed if len(row) >= 3]  # the route's lines carry the counters
    commits, outboxes = (int(counted[-1][1]), int(counted[-1][2])) if counted else (0, 0)
    with Store(db) as store:
        labels = store.current_labels("human")
        events = store.label_events()
    label_ids = set(events.loc[events["kind"] == "label", "id"])
    parts = [p for a in result.annotators for p in a.parts_ms]
    totals = [sum(p) for p in parts]
    slow = (
        [p for p, t in zip(parts, totals, strict=True) if t >= ld.pct(totals, 0.95)]
        if parts
        else []
    )
    acked = result.acked
    return {
        "n": n,
        "answers": len(result.latencies_ms),
        "median": statistics.median(result.latencies_ms),
        "p95": ld.pct(result.latencies_ms, 0.95),
        "server_median": statistics.median(server_ms),
        "server_p95": ld.pct(server_ms, 0.95),
        "server_n": len(server_ms),
        "outboxes_per_commit": outboxes / max(1, commits),
        "per_s": len(acked) / result.wall_s,
        # the window starts once every annotator signed in: sign-ins (a password hash each) and
        # page loads are not answers
        "cpu_ms": cpu * 1000 / max(1, len(acked) - int(window.get("acked0", 0))),
        "lost": len(set(acked) - label_ids),
        "extra": len(label_ids) - len(set(acked)),
        "twice": int(labels["pair_id"].duplicated().sum()),
        "refused": sum(len(a.refused) + a.unanswered for a in result.annotators),
        "load": load(),
        "accounts_s": accounts_s,
        # press -> request sent, -> reply's first byte, -> acknowledged: medians, and the means
        # over the slowest 5% of answers
        "parts_median": [statistics.median(p[k] for p in parts) for k in range(3)]
        if parts
        else None,
        "parts_slow": [statistics.mean(p[k] for p in slow) for k in range(3)] if slow else None,
    }


def _after_sign_in(pid: int, window: dict) -> None:
    """Mark the server's CPU and the answers so far once every annotator is signed in."""
    people = window["people"]
    while "done" not in window:
        if all(a.first_total is not None for a in people):
            window["acked0"] = sum(len(a.acked) for a in people)
            window["cpu0"] = ld.cpu_seconds(pid)
            return
        time.sleep(0.05)


def floor_run(folder: Path, n: int, submits: int, think: float, nice: int | None) -> dict:
    proc, url = ld.start_floor(folder, nice=nice)
    try:
        cpu0 = ld.cpu_seconds(proc.pid)
        result = asyncio.run(ld.drive(url, [f"f{k}" for k in range(n)], submits, think_s=think,
                                      floor=True))  # fmt: skip
        cpu = ld.cpu_seconds(proc.pid) - cpu0
    finally:
        ld.stop(proc)
    return {
        "n": n,
        "answers": len(result.latencies_ms),
        "median": statistics.median(result.latencies_ms),
        "p95": ld.pct(result.latencies_ms, 0.95),
        "unanswered": sum(a.unanswered for a in result.annotators),
        "cpu_ms": cpu * 1000 / max(1, len(result.latencies_ms)),
        "load": load(),
    }


def domain_run(folder: Path, n: int, answers: int, pairs: int) -> dict:
    """The server's code alone, no browser or HTTP, no think time: one label-page exchange per
    answer (an outbox of that answer, as the page sends it), from n threads on one Store."""
    names = [f"ann{k}" for k in range(n)]
    db = ld.build_project(folder / f"domain{n}.duckdb", pairs, names)
    with Store(db) as store:
        times, wall = ld.answer_times(store, names, answers)
        twice = int(store.current_labels("human")["pair_id"].duplicated().sum())
    return {
        "n": n,
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "per_s": len(times) / wall,
        "twice": twice,
        "load": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, nargs="+", default=[32])
    parser.add_argument("--submits", type=int, default=8, help="answers per annotator")
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds between answers")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--domain-answers", type=int, default=40)
    parser.add_argument("--server-nice", type=int, default=-5, help="the servers' niceness")
    parser.add_argument("--browser-nice", type=int, default=10, help="this process and chromium")
    args = parser.parse_args()
    os.setpriority(os.PRIO_PROCESS, 0, args.browser_nice)  # chromium inherits it
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        for n in args.annotators:
            f = floor_run(folder, n, args.submits, args.think, args.server_nice)
            print(f"floor {f}", flush=True)
            b = browser_run(folder, n, args.submits, args.think, args.pairs, args.server_nice)
            print(f"app {b}", flush=True)
            d = domain_run(folder, n, args.domain_answers, args.pairs)
            print(f"domain {d}", flush=True)
            rows.append((n, b, f, d))
    print()
    print(
        "| annotators | server outbox->data median / p95 | browser key->ack median / p95 "
        "| answers | labels/s | lost / extra / twice | refused | bare Streamlit key->next "
        "median / p95 | server CPU ms per answer (app / bare) | one process: answers per CPU s "
        "(annotators at 10 s/label) | exchange alone, no think time, median / p95 "
        "| load avg (app, floor, domain) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, b, f, d in rows:
        print(
            f"| {n} | {b['server_median']:.0f} / {b['server_p95']:.0f} ms "
            f"| {b['median']:.0f} / {b['p95']:.0f} ms | {b['answers']} | {b['per_s']:.1f} "
            f"| {b['lost']} / {b['extra']} / {b['twice']} | {b['refused']} "
            f"| {f['median']:.0f} / {f['p95']:.0f} ms "
            f"| {b['cpu_ms']:.0f} / {f['cpu_ms']:.0f} "
            f"| {1000 / b['cpu_ms']:.1f} ({10000 / b['cpu_ms']:.0f}) "
            f"| {d['median']:.1f} / {d['p95']:.1f} ms "
            f"| {b['load']:.1f}, {f['load']:.1f}, {d['load']:.1f} |"
        )
    took = ", ".join(f"{b['accounts_s']:.0f}" for _, b, _, _ in rows)
    print(
        f"\n{os.cpu_count()} cores; think time {args.think} s mean; {args.pairs} open pairs; "
        f"servers at niceness {args.server_nice}, browsers at {args.browser_nice}; accounts made "
        f"with `annotate user add` in {took} s."
    )
    for n, b, _, _ in rows:
        print(
            f"{n} annotators: {b['cpu_ms']:.1f} ms of server CPU per answer, so one process "
            f"answers about {1000 / b['cpu_ms']:.0f} per CPU second: about "
            f"{10000 / b['cpu_ms']:.0f} annotators at one label per 10 s, or "
            f"{5000 / b['cpu_ms']:.0f} at one per 5 s, on one core. Outboxes per answer commit "
            f"(group commit): {b['outboxes_per_commit']:.2f}."
        )
        if b["parts_median"]:
            med, slow = b["parts_median"], b["parts_slow"]
            print(
                f"{n} annotators, where key->ack went (ms, from the route request's Resource "
                f"Timing): press -> request sent / -> reply's first byte / -> acknowledged: "
                f"median {med[0]:.0f} / {med[1]:.0f} / {med[2]:.0f}; the slowest 5% on average "
                f"{slow[0]:.0f} / {slow[1]:.0f} / {slow[2]:.0f}."
            )


if __name__ == "__main__":
    main()
