"""Following a running job: a poll when the worker reported nothing new against one when it did.

    .venv/bin/python bench/bench_job_poll.py [--polls 200]

A real project file and a job row whose worker is this process (so it counts as running). "same"
polls while progress.json stays as it is: the row is read once and nothing is written. "changed"
rewrites progress.json before every poll, so each poll also writes the row and reads it back,
which is what every poll did before unchanged reports were skipped. Medians in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from annotate_app.config import ProjectPaths
from annotate_app.jobs import JobRunner
from annotate_app.jobs.runner import PROGRESS
from annotate_app.store import Store


def _time_polls(runner: JobRunner, job_id: str, progress: Path, polls: int, change: bool) -> list:
    times = []
    for i in range(polls):
        if change:
            progress.write_text(json.dumps({"progress": i / polls, "message": f"step {i}"}))
        start = time.perf_counter()
        job = runner.poll(job_id)
        times.append((time.perf_counter() - start) * 1000)
        assert job["status"] == "running"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = ProjectPaths(db=Path(tmp) / "p.duckdb", work_dir=Path(tmp) / "work")
        with Store(paths) as store:
            runner = JobRunner(store)
            job_id = "bench-poll"
            store.create_job(job_id, "train", {})
            store.update_job(job_id, status="running", pid=os.getpid())
            job_dir = runner.job_dir(job_id)
            job_dir.mkdir(parents=True)
            progress = job_dir / PROGRESS
            progress.write_text(json.dumps({"progress": 0.5, "message": "embedding"}))
            runner.poll(job_id)
            same = _time_polls(runner, job_id, progress, args.polls, change=False)
            changed = _time_polls(runner, job_id, progress, args.polls, change=True)
    print(f"load {os.getloadavg()[0]:.1f}, {args.polls} polls each")
    print(f"{'poll':<8} {'median ms':>10}")
    print(f"{'same':<8} {statistics.median(same):10.2f}")
    print(f"{'changed':<8} {statistics.median(changed):10.2f}")
    print(f"ratio    {statistics.median(changed) / statistics.median(same):10.1f}")


if __name__ == "__main__":
    main()
