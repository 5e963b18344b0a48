"""What every command shares: opening the project and turning exceptions into one actionable line."""

from __future__ import annotations

import argparse
import os
import sys

from annotate_app.config import ProjectPaths
from annotate_app.ingest import IngestError
from annotate_app.store import ProjectLockedError, Store, StoreError

MAX_DETAIL_LINES = 20


class CLIError(RuntimeError):
    """A user mistake the command detected itself (bad option, missing file)."""


def project_paths(args: argparse.Namespace) -> ProjectPaths:
    return ProjectPaths.resolve(getattr(args, "db", None))


def open_store(args: argparse.Namespace, must_exist: bool = True) -> Store:
    paths = project_paths(args)
    if must_exist and not paths.db.exists():
        raise CLIError(
            f"no project at {paths.db}; create one with 'annotate --db {paths.db} init' "
            "or choose another with --db / ANNOTATE_DB"
        )
    return Store(paths)


def report_error(exc: BaseException) -> int:
    if isinstance(exc, IngestError):
        # Invalid rows can be skipped; file-level problems and passed limits cannot.
        hint = "; use --skip-invalid to import the valid rows" if exc.skippable else ""
        print(f"annotate: error: {exc}; nothing was imported{hint}", file=sys.stderr)
        for err in exc.errors[1:MAX_DETAIL_LINES]:
            print(f"  {err}", file=sys.stderr)
        if len(exc.errors) > MAX_DETAIL_LINES:
            print(f"  ... {len(exc.errors) - MAX_DETAIL_LINES} more", file=sys.stderr)
        return 1
    if isinstance(exc, ProjectLockedError | StoreError | CLIError | ValueError | OSError):
        print(f"annotate: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ProjectLockedError) else 1
    print(f"annotate: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
    if os.environ.get("ANNOTATE_DEBUG"):
        raise exc
    return 1
