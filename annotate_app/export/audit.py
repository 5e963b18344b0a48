"""The full audit log: every label, skip and undo event as recorded, with the models of the pair's
two responses, for review outside the app. The CSV form neutralises formula-like cells."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from annotate_app.export.files import csv_bytes, write_files_atomic
from annotate_app.store import Store

AUDIT_FORMATS = ("csv", "parquet")


def audit_format(path: str | Path, fmt: str | None = None) -> str:
    chosen = fmt or Path(path).suffix.lstrip(".").lower()
    if chosen not in AUDIT_FORMATS:
        raise ValueError(
            f"cannot tell the audit log format from {str(path)!r}; name it .csv or .parquet "
            "or pass --format"
        )
    return chosen


def export_audit_log(store: Store, path: str | Path, fmt: str | None = None) -> int:
    """Write every label event, oldest first; returns the number of events."""
    fmt = audit_format(path, fmt)
    frame = store.audit_log_frame()
    data = audit_log_bytes(frame, fmt)
    write_files_atomic({Path(path): lambda tmp: tmp.write_bytes(data)})
    return len(frame)


def audit_log_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The log as file bytes (also what the admin page's download button serves)."""
    if fmt == "csv":
        return csv_bytes(frame)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
