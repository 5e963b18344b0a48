"""``annotate jobs list`` and ``annotate jobs cancel``: background work as the ``jobs`` table has it.

Opening the project adopts the jobs of processes that are gone (``JobRunner``), so the list shows
what is really running: a finished orphan is collected, a stale one is stopped and marked failed.
"""

from __future__ import annotations

import argparse
import json

import pandas as pd

from annotate_app.cli.support import CLIError, open_store
from annotate_app.jobs import JobRunner
from annotate_app.jobs.runner import FINISHED

COLUMNS = ("id", "kind", "status", "progress", "pid", "started_at", "finished_at", "message")


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.0%}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return " ".join(str(value).split())[:60]


def cmd_jobs_list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        runner = JobRunner(store)
        for job_id, what in runner.adopted:
            print(f"adopted {job_id} from a process that is gone: {what}")
        status = None if args.all else ("queued", "running")
        jobs = store.list_jobs(limit=args.limit, status=status)
    rows = [{c: jobs.at[i, c] for c in COLUMNS if c in jobs.columns} for i in jobs.index]
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    if not rows:
        print("no running jobs" if not args.all else "no jobs")
        return 0
    table = [list(COLUMNS)] + [[_cell(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        job = store.get_job(args.job_id)
        if job is None:
            raise CLIError(f"no job {args.job_id}; see 'annotate jobs list --all'")
        if job["status"] in FINISHED:
            print(f"job {args.job_id} already {job['status']}")
            return 0
        runner = JobRunner(store)
        runner.cancel(args.job_id, grace=args.grace)
        job = store.get_job(args.job_id)
    print(f"job {args.job_id} {job['status']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list or cancel background jobs (train, select, judge)")
    actions = p.add_subparsers(dest="jobs_action", metavar="ACTION", required=True)
    q = actions.add_parser("list", help="running jobs (all recent ones with --all)")
    q.add_argument("--all", action="store_true", help="finished jobs too")
    q.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    q.add_argument("--json", action="store_true", help="print JSON rows")
    q.set_defaults(handler=cmd_jobs_list)
    q = actions.add_parser("cancel", help="stop a running job (its worker is killed if it hangs)")
    q.add_argument("job_id", metavar="JOB_ID")
    q.add_argument(
        "--grace", type=float, default=10.0, help="seconds before the worker is killed (default 10)"
    )
    q.set_defaults(handler=cmd_jobs_cancel)
