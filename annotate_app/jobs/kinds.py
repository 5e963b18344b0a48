"""The registry of job kinds: what the worker runs, and how the parent ingests its output.

Both sides are named as ``module:function`` strings so the parent never imports model code (torch,
transformers) and the worker never imports the store.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    work: str  # "module:function(ctx: JobContext) -> dict", runs in the worker
    collect: str | None = (
        None  # "module:function(store, job_dir, final: bool) -> None", in the parent
    )
    incremental: bool = False  # collect finished output chunks while the job still runs


_KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> JobKind:
    _load_builtin_kinds()
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}; known: {', '.join(sorted(_KINDS))}") from None


def resolve(target: str) -> Callable:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


# Modules that register job kinds when imported; each keeps its kinds next to its own code.
# ``ANNOTATE_JOB_MODULES`` (comma-separated) adds more, for plugins and tests; workers inherit it.
BUILTIN_KIND_MODULES: tuple[str, ...] = (
    "annotate_app.judge.jobs",
    "annotate_app.reward.jobs",
    "annotate_app.export.model",
)


def _load_builtin_kinds() -> None:
    extra = [m for m in os.environ.get("ANNOTATE_JOB_MODULES", "").split(",") if m.strip()]
    for module in (*BUILTIN_KIND_MODULES, *extra):
        importlib.import_module(module.strip())
