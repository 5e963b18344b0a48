"""Loading the default local judge: straight from the GGUF against from its de-quantised copy.

    .venv/bin/python bench/bench_judge_load.py [--repeats 3]

Each load runs in a fresh process (as a judge job's worker does), so imports are in every row.
"gguf" loads with an empty cache folder (transformers parses and de-quantises the GGUF, and the copy
is written); "copy" loads from the copy that the first row left. Medians over --repeats, wall and
CPU seconds (user + sys of the child), and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOAD = (
    "from annotate_app.judge.local import LocalJudge; import sys; "
    "LocalJudge(); sys.stdout.write('ok')"
)


def _load_once(cache: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LOAD],
        env={**os.environ, "ANNOTATE_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or done.stdout != "ok":
        raise SystemExit(done.stderr[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float]]] = {"gguf": [], "copy": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            rows["gguf"].append(_load_once(Path(cache)))
            rows["copy"].append(_load_once(Path(cache)))
    medians = {
        name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in rows.items()
    }
    print(f"load {os.getloadavg()[0]:.1f} at the end, {args.repeats} repeats")
    print(f"{'source':<6} {'wall s':>8} {'cpu s':>8}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:<6} {wall:8.1f} {cpu:8.1f}")
    (gw, gc), (cw, cc) = medians["gguf"], medians["copy"]
    print(f"ratio  {gw / cw:8.1f} {gc / cc:8.1f}")


if __name__ == "__main__":
    main()
