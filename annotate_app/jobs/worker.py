"""Worker subprocess entry point: ``python -m annotate_app.jobs.worker JOB_DIR``.

Exit 0 with ``result.json`` on success; exit 1 with ``error.txt`` on failure; exit 3 when cancelled.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from annotate_app.jobs.context import ERROR, RESULT, JobCancelled, JobContext, write_json_atomic
from annotate_app.jobs.kinds import get_kind, resolve

EXIT_FAILED, EXIT_CANCELLED = 1, 3


def main(argv: list[str]) -> int:
    job_dir = Path(argv[0])
    ctx = JobContext.load(job_dir)
    try:
        result = resolve(get_kind(ctx.kind).work)(ctx) or {}
    except JobCancelled:
        return EXIT_CANCELLED
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent as text
        summary = f"{type(exc).__name__}: {exc}"
        (job_dir / ERROR).write_text(summary + "\n\n" + traceback.format_exc(), encoding="utf-8")
        return EXIT_FAILED
    write_json_atomic(job_dir / RESULT, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
