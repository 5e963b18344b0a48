"""Streaming reader against the whole-file reader it replaced: peak memory and time to read every row.

Writes a JSONL file of N pairs (realistic lengths: lognormal, median ~150 characters per prompt and
~600 per response), plain and gzipped, then reads every row of each in a fresh subprocess, R times:

- baseline: the former reader (``path.read_bytes()``, ``gzip.decompress``, split on newlines,
  ``json.loads`` per line), inlined here;
- streaming: ``annotate_app.ingest.readers.read_rows`` (one counting stream, limits, duplicate-key
  check).

Peak memory is the child's peak RSS (VmHWM, reset after imports) minus its RSS after imports, so it
is what reading costs. The
import as a whole also holds the parsed rows until its one transaction; this measures the reader.

    .venv/bin/python bench/bench_import_stream.py [--pairs 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import gzip, json, sys, time
from pathlib import Path
from annotate_app.ingest.readers import read_rows

def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":"))

def baseline(path):
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    n = 0
    for line in raw.split(b"\n"):
        if line.strip():
            json.loads(line.decode("utf-8"))
            n += 1
    return n

def streaming(path):
    _, rows = read_rows(path)
    return sum(1 for _ in rows)

path, how = Path(sys.argv[1]), sys.argv[2]
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to the current RSS, so imports do not count
before = status_kib("VmRSS")
start = time.perf_counter()
n = (baseline if how == "baseline" else streaming)(path)
seconds = time.perf_counter() - start
peak = status_kib("VmHWM")
print(json.dumps({"rows": n, "seconds": seconds, "peak_mib": (peak - before) / 1024}))
"""

WORDS = [
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
]


def _text(rng: np.random.Generator, median: int) -> str:
    n_words = max(1, int(rng.lognormal(np.log(median / 4.5), 0.8)))
    return " ".join(rng.choice(WORDS, n_words))


def write_files(folder: Path, pairs: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    plain = folder / "pairs.jsonl"
    with plain.open("w", encoding="utf-8") as out:
        for i in range(pairs):
            row = {
                "prompt": f"{i} " + _text(rng, 150),
                "response_a": _text(rng, 600),
                "response_b": _text(rng, 600),
            }
            out.write(json.dumps(row) + "\n")
    packed = folder / "pairs.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=6))
    return [plain, packed]


def measure(path: Path, how: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as folder:
        files = write_files(Path(folder), args.pairs)
        expanded = files[0].stat().st_size / 2**20
        print(f"{args.pairs:,} pairs; {expanded:.0f} MiB expanded; median of {args.runs} runs\n")
        print(
            "| file | MiB on disk | reader | rows | seconds | peak MiB | time ratio | memory ratio |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for path in files:
            results = {}
            for how in ("baseline", "streaming"):
                runs = [measure(path, how) for _ in range(args.runs)]
                results[how] = {
                    "rows": runs[0]["rows"],
                    "seconds": statistics.median(r["seconds"] for r in runs),
                    "peak_mib": statistics.median(r["peak_mib"] for r in runs),
                }
            base = results["baseline"]
            for how, r in results.items():
                print(
                    f"| {path.name} | {path.stat().st_size / 2**20:.1f} | {how} | {r['rows']:,} "
                    f"| {r['seconds']:.2f} | {r['peak_mib']:.1f} "
                    f"| {r['seconds'] / base['seconds']:.2f} "
                    f"| {r['peak_mib'] / max(base['peak_mib'], 1e-9):.3f} |"
                )


if __name__ == "__main__":
    main()
