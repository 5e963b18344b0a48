"""Job kinds used only by the job-runner tests, loaded through ANNOTATE_JOB_MODULES.

They exercise the real worker subprocess: real files, real progress, real crashes and kills.
"""

from __future__ import annotations

import os
import time

import pandas as pd

from annotate_app.jobs import JobContext, JobKind, register_kind


def square_numbers(ctx: JobContext) -> dict:
    """Squares its input in chunks, one output file per chunk; can crash or hang on request."""
    numbers = ctx.input("numbers")["n"].tolist()
    chunk = int(ctx.params.get("chunk", 2))
    for start in range(0, len(numbers), chunk):
        if ctx.params.get("crash_at") == start:
            raise RuntimeError(f"planned crash at {start}")
        if ctx.params.get("die_at") == start:
            os.kill(os.getpid(), 9)
        part = numbers[start : start + chunk]
        ctx.write_output(
            f"chunk-{start:06d}", pd.DataFrame({"n": part, "sq": [x * x for x in part]})
        )
        ctx.progress((start + len(part)) / len(numbers), f"{start + len(part)}/{len(numbers)}")
        time.sleep(float(ctx.params.get("delay", 0)))
    return {"count": len(numbers)}


def collect_squares(store, job_dir, final: bool) -> None:
    """Stores every finished chunk as a setting, idempotently, like a real collector would."""
    for path in sorted((job_dir / "outputs").glob("chunk-*.parquet")):
        frame = pd.read_parquet(path)
        for n, sq in zip(frame["n"], frame["sq"], strict=True):
            store.set_setting(f"square:{n}", int(sq))


register_kind(
    JobKind(
        "test-squares",
        work="tests.jobkinds:square_numbers",
        collect="tests.jobkinds:collect_squares",
        incremental=True,
    )
)
