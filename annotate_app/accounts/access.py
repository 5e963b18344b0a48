"""What a signed-in account may read and do, checked in the domain layer.

Hiding a menu item protects nothing: a page that forgets a check, or a future API, would still hand
an annotator the judge's verdicts or everyone's labels. So the reads and actions that only admins
may use go through these functions, which take the acting account and raise ``NotAllowed`` (a
``PermissionError``) before touching the project. An annotator may read their own events only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annotate_app.accounts.auth import Account, NotAllowed, require_admin
from annotate_app.export import preferences
from annotate_app.export.options import ExportOptions, ExportReport
from annotate_app.store import Store

__all__ = [
    "NotAllowed",
    "export_bytes",
    "export_dataset",
    "judge_verdicts",
    "label_events",
    "labels",
    "require_admin",
]


def label_events(store: Store, by: Account, annotator: str | None = None) -> pd.DataFrame:
    """The audit log: an admin may read anyone's (``annotator=None``: all); an annotator their own."""
    if not by.is_admin and annotator != by.name:
        raise NotAllowed("annotators can read only their own labels")
    return store.label_events(annotator)


def labels(store: Store, by: Account, source: str | None = None) -> pd.DataFrame:
    """Every current label, of every annotator and the judge: admins only."""
    require_admin(by)
    return store.current_labels(source)


def judge_verdicts(store: Store, by: Account, judge_id: str | None = None) -> pd.DataFrame:
    require_admin(by)
    return store.judge_verdicts(judge_id)


def export_dataset(
    store: Store, by: Account, path: str | Path, fmt: str, options: ExportOptions | None = None
) -> ExportReport:
    require_admin(by)
    return preferences.export_dataset(store, path, fmt, options)


def export_bytes(
    store: Store, by: Account, fmt: str, options: ExportOptions | None = None
) -> tuple[bytes, str]:
    require_admin(by)
    return preferences.export_bytes(store, fmt, options)
