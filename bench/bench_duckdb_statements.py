"""What one durable answer costs in DuckDB, statement by statement, against the cheapest durable
write there is (a line appended to a file and fsync'd), in one run.

The label route's CPU per answer (``bench_label_latency.py``) is compared with a bare Streamlit
rerun, which writes nothing. This shows where the difference comes from: the CPU of a trivial
statement, a one-row insert into a two-column table, the label event insert alone, and the answer's
whole commit as the app makes it (``Store.record_answers``: the event, its page id and a lease, one
transaction) and the same without the lease (an answer whose buffer top-up leased nothing), on a
copy of a real project file; then an fsync'd append of the same answer as one
JSON line, which is what an answer log outside DuckDB would cost per answer.

CPU is this process's user + system time (``resource.getrusage``), medians over --rounds rounds of
--n statements each.

Run: .venv/bin/python bench/bench_duckdb_statements.py [--pairs 2000] [--n 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate_app.store import Store  # noqa: E402
from annotate_app.store.client_answers import PageAnswer  # noqa: E402
from tests import load_driver as ld  # noqa: E402


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def per_call_ms(fn: Callable[[int], object], n: int, rounds: int) -> tuple[float, float]:
    """Median over rounds of (CPU ms, wall ms) per call."""
    cpu, wall = [], []
    start = 0
    for _ in range(rounds):
        c0, w0 = cpu_s(), time.perf_counter()
        for i in range(start, start + n):
            fn(i)
        cpu.append((cpu_s() - c0) * 1000 / n)
        wall.append((time.perf_counter() - w0) * 1000 / n)
        start += n
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000, help="open pairs in the project")
    parser.add_argument("--n", type=int, default=200, help="statements per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    total = args.n * args.rounds
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-duckdb-") as tmp:
        folder = Path(tmp)
        db = ld.build_project(folder / "p.duckdb", args.pairs, [])
        con = duckdb.connect(str(db))
        pairs = [r[0] for r in con.execute("SELECT id FROM pairs ORDER BY id").fetchall()]
        if len(pairs) < 3 * total:
            raise SystemExit(f"--pairs must be at least {3 * total} for --n x --rounds answers")
        con.execute("CREATE TABLE bench_tiny (a INTEGER, b VARCHAR)")
        rows.append(("SELECT 1", *per_call_ms(lambda i: con.execute("SELECT 1").fetchall(),
                                               args.n, args.rounds)))  # fmt: skip
        rows.append((
            "INSERT one row, 2 columns (autocommit)",
            *per_call_ms(lambda i: con.execute("INSERT INTO bench_tiny VALUES (?, ?)", [i, "x"]),
                         args.n, args.rounds),
        ))  # fmt: skip

        def event(i: int) -> None:
            con.execute(
                "INSERT INTO label_events (pair_id, annotator, source, kind, choice, both_bad, "
                "left_side, latency_ms) VALUES (?, ?, 'human', 'label', 1, false, 'a', 1000)",
                [pairs[i], "bench-event"],
            )

        rows.append(
            ("INSERT one label event (autocommit)", *per_call_ms(event, args.n, args.rounds))
        )
        con.close()

        store = Store(db)
        expires = dt.datetime.now() + dt.timedelta(minutes=30)

        def answer(i: int) -> None:
            store.record_answers(
                [PageAnswer("bench-answer", uuid.uuid4().hex, pairs[total + i], "label", "a",
                            choice=1, latency_ms=1000)],
                [(pairs[(total + i + 1) % len(pairs)], "bench-answer", "a", expires)],
            )  # fmt: skip

        rows.append((
            "one answer as the app commits it (event, page id, lease)",
            *per_call_ms(answer, args.n, args.rounds),
        ))  # fmt: skip

        def answer_alone(i: int) -> None:
            store.record_answers(
                [PageAnswer("bench-alone", uuid.uuid4().hex, pairs[2 * total + i], "label", "a",
                            choice=1, latency_ms=1000)],
            )  # fmt: skip

        rows.append((
            "the same answer without a lease (event, page id)",
            *per_call_ms(answer_alone, args.n, args.rounds),
        ))  # fmt: skip
        store.close()

        log = os.open(folder / "answers.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

        def append(i: int) -> None:
            line = {"cid": uuid.uuid4().hex, "pair": pairs[i], "annotator": "bench", "choice": 1,
                    "side": "a", "latency_ms": 1000, "at": time.time()}  # fmt: skip
            os.write(log, (json.dumps(line) + "\n").encode())
            os.fsync(log)

        rows.append(("the same answer as a JSON line, appended and fsync'd", *per_call_ms(
            append, args.n, args.rounds)))  # fmt: skip
        os.close(log)
    print(
        f"| statement ({args.pairs:,}-pair project, {args.rounds} x {args.n}) | CPU ms | wall ms |"
    )
    print("|---|---|---|")
    for name, cpu, wall in rows:
        print(f"| {name} | {cpu:.3f} | {wall:.3f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
