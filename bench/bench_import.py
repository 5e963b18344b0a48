"""Import throughput: ``import_file`` against a naive row-by-row ``executemany`` INSERT loop.

Generates N pairs (default 100k) with realistic text lengths in two shapes, the pairs JSONL format and
the multi-response JSONL format (4 models per prompt, all 6 pairs each), and times both paths into a
fresh DuckDB file, median of R runs. The baseline does the same parsing and hashing but writes row by
row through ``executemany`` with ``ON CONFLICT DO NOTHING``; it validates nothing. It manages only
tens of pairs per second here, so it runs on the first ``--baseline-lines`` lines of the same file and
the comparison is of rates (pairs/s), not of wall time for the whole file.

    .venv/bin/python bench/bench_import.py [--n 100000] [--runs 3] [--baseline-lines 1000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from annotate_app import ids
from annotate_app.ingest import import_file
from annotate_app.store import Store
from annotate_app.store.db import connect, migrate

MODELS = ("model-a", "model-b", "model-c", "model-d")


def _texts(rng: np.random.Generator, n: int, median_chars: int, tag: str) -> list[str]:
    """Word salad with lognormal lengths (sigma 0.8): a few short, a long tail of long answers."""
    vocab = np.array(
        [
            "the",
            "a",
            "of",
            "to",
            "and",
            "in",
            "is",
            "it",
            "that",
            "for",
            "you",
            "with",
            "on",
            "as",
            "are",
            "this",
            "be",
            "can",
            "your",
            "or",
            "by",
            "not",
            "model",
            "answer",
            "question",
            "data",
            "example",
            "code",
            "function",
            "value",
            "return",
            "list",
            "python",
            "step",
            "first",
            "because",
            "however",
            "therefore",
            "result",
            "important",
            "consider",
            "simple",
            "using",
            "which",
            "would",
            "should",
        ]
    )
    words_per = np.maximum(3, rng.lognormal(np.log(median_chars / 6), 0.8, n).astype(int))
    stream = vocab[rng.integers(0, len(vocab), int(words_per.sum()))]
    out, start = [], 0
    for i, k in enumerate(words_per):
        out.append(f"{tag}{i} " + " ".join(stream[start : start + k]))
        start += k
    return out


def write_pairs(path: Path, n: int) -> int:
    rng = np.random.default_rng(0)
    prompts = _texts(rng, n, 150, "p")
    a, b = _texts(rng, n, 600, "a"), _texts(rng, n, 600, "b")
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {
                "prompt": prompts[i],
                "response_a": a[i],
                "response_b": b[i],
                "model_a": MODELS[i % 4],
                "model_b": MODELS[(i + 1) % 4],
            }
            f.write(json.dumps(row) + "\n")
    return n


def write_multi(path: Path, n_pairs: int) -> int:
    n_prompts = -(-n_pairs // 6)  # 4 responses per prompt give 6 pairs
    rng = np.random.default_rng(1)
    prompts = _texts(rng, n_prompts, 150, "p")
    replies = _texts(rng, n_prompts * 4, 600, "r")
    with path.open("w", encoding="utf-8") as f:
        for i, prompt in enumerate(prompts):
            for j, model in enumerate(MODELS):
                row = {"prompt": prompt, "response": replies[i * 4 + j], "model": model}
                f.write(json.dumps(row) + "\n")
    return n_prompts * 4


def _prompt_row(prompt: str, source: str) -> tuple:
    turns = [{"role": "user", "content": prompt}]
    return (ids.prompt_id(turns), prompt, json.dumps(turns), 1, source)


def naive_insert(db: Path, path: Path, shape: str, limit: int | None = None) -> int:
    """The obvious peer: parse each line, then INSERT row by row with executemany."""
    prompts, responses, pairs = [], [], []
    by_prompt: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as f:
        for line in itertools.islice(f, limit):
            row = json.loads(line)
            p = _prompt_row(row["prompt"], path.name)
            prompts.append(p)
            if shape == "pairs":
                ra = ids.response_id(p[0], row["response_a"])
                rb = ids.response_id(p[0], row["response_b"])
                responses += [(ra, p[0], row["response_a"], row["model_a"])]
                responses += [(rb, p[0], row["response_b"], row["model_b"])]
                x, y = sorted((ra, rb))
                pairs.append((ids.pair_id(x, y), p[0], x, y, path.name))
            else:
                rid = ids.response_id(p[0], row["response"])
                responses.append((rid, p[0], row["response"], row["model"]))
                by_prompt.setdefault(p[0], []).append(rid)
    for pid, rids in by_prompt.items():
        for x, y in itertools.combinations(sorted(rids), 2):
            pairs.append((ids.pair_id(x, y), pid, x, y, path.name))
    con = connect(db)
    migrate(con)
    con.execute("BEGIN TRANSACTION")
    con.executemany(
        "INSERT INTO prompts (id, text, turns, n_turns, source) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        prompts,
    )
    con.executemany(
        "INSERT INTO responses (id, prompt_id, text, model) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        responses,
    )
    con.executemany(
        "INSERT INTO pairs (id, prompt_id, response_a, response_b, source) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        pairs,
    )
    con.execute("COMMIT")
    n = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    con.close()
    return int(n)


def app_import(db: Path, path: Path, shape: str) -> int:
    with Store(db) as store:
        return import_file(store, path).added["pairs"]


def timed(fn: Callable[..., int], work: Path, path: Path, shape: str, runs: int, **kw):
    """Median wall seconds, every run's wall seconds, median CPU seconds (all threads), pairs.

    CPU time is quoted beside wall time because the benchmark machine is shared: under load the
    wall time grows while the CPU time the work needs stays put."""
    seconds, cpu, pairs = [], [], 0
    for run in range(runs):
        db = work / f"{fn.__name__}-{shape}-{run}.duckdb"
        start, start_cpu = time.perf_counter(), time.process_time()
        pairs = fn(db, path, shape, **kw)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        db.unlink()
    return statistics.median(seconds), seconds, statistics.median(cpu), pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="pairs per file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=1, help="the naive loop is slow")
    parser.add_argument(
        "--baseline-lines", type=int, default=1000, help="lines the naive loop gets"
    )
    args = parser.parse_args()
    print(f"duckdb {duckdb.__version__}; {args.n} pairs per file")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for shape, writer in (("pairs", write_pairs), ("multi-response", write_multi)):
            path = work / f"{shape}.jsonl"
            n_lines = writer(path, args.n)
            mb = path.stat().st_size / 1e6
            app_med, app_all, app_cpu, app_pairs = timed(app_import, work, path, shape, args.runs)
            base_med, base_all, base_cpu, base_pairs = timed(
                naive_insert, work, path, shape, args.baseline_runs, limit=args.baseline_lines
            )
            rows.append(
                (shape, n_lines, mb, app_pairs, app_med, app_all, app_cpu)
                + (base_pairs, base_med, base_all, base_cpu)
            )
    print()
    print(
        "| file | lines | MB | pairs | import_file wall s, median (runs) | CPU s | pairs/s "
        "| naive: pairs | naive wall s | naive CPU s | naive pairs/s | rate ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        shape, lines, mb, pairs, app_med, app_all, app_cpu = row[:7]
        b_pairs, base_med, base_all, base_cpu = row[7:]
        app_rate, base_rate = pairs / app_med, b_pairs / base_med
        print(
            f"| {shape} | {lines:,} | {mb:.0f} | {pairs:,} | {app_med:.1f} "
            f"({', '.join(f'{s:.1f}' for s in app_all)}) | {app_cpu:.1f} | {app_rate:,.0f} | "
            f"{b_pairs:,} | {base_med:.1f} | {base_cpu:.1f} | {base_rate:,.0f} | "
            f"{app_rate / base_rate:,.0f}x |"
        )


if __name__ == "__main__":
    main()
