"""The full audit log: every label, skip and undo event as recorded, for review outside the app."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audit_log_bytes(frame, fmt))
    return len(frame)


def audit_log_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The log as file bytes (also what the admin page's download button serves)."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
