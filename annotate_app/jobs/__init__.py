"""Background work in a worker subprocess: the app snapshots inputs, the worker computes from files,
and the app ingests the worker's output files. The worker never opens the DuckDB file."""

from annotate_app.jobs.context import JobCancelled, JobContext
from annotate_app.jobs.kinds import JobKind, register_kind
from annotate_app.jobs.runner import JobFailed, JobRunner

__all__ = ["JobCancelled", "JobContext", "JobFailed", "JobKind", "JobRunner", "register_kind"]
