"""Job rows: the state of background work, as the CLI and the Jobs page show it."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from annotate_app.store.base import StoreBase, first_row

_JOB_FIELDS = (
    "status",
    "progress",
    "message",
    "error",
    "result",
    "pid",
    "started_at",
    "finished_at",
)


class JobStore(StoreBase):
    def create_job(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        with self.cursor() as cur:
            cur.execute(
                "INSERT INTO jobs (id, kind, status, params) VALUES (?, ?, 'queued', ?)",
                [job_id, kind, json.dumps(params, default=str)],
            )

    def update_job(self, job_id: str, **fields: Any) -> None:
        unknown = set(fields) - set(_JOB_FIELDS)
        if unknown:
            raise ValueError(f"unknown job fields: {sorted(unknown)}")
        if "result" in fields and fields["result"] is not None:
            fields["result"] = json.dumps(fields["result"], default=str)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.cursor() as cur:
            cur.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*fields.values(), job_id])

    def get_job(self, job_id: str) -> dict | None:
        with self.cursor() as cur:
            frame = cur.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).df()
        return None if frame.empty else _job_row(frame.iloc[0].to_dict())

    def list_jobs(self, limit: int = 50, status: tuple[str, ...] | None = None) -> pd.DataFrame:
        where = "WHERE status IN (SELECT unnest(?::VARCHAR[]))" if status else ""
        params: list[Any] = [list(status)] if status else []
        with self.cursor() as cur:
            return cur.execute(
                f"SELECT * FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                [*params, limit],
            ).df()

    def latest_job(self, kind: str, param: str, value: str) -> dict | None:
        """The newest job of ``kind`` started with ``params[param] == value``."""
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT * FROM jobs WHERE kind = ? AND json_extract_string(params, ?) = ? "
                "ORDER BY created_at DESC, id DESC LIMIT 1",
                [kind, f"$.{param}", value],
            ).df()
        return None if frame.empty else _job_row(frame.iloc[0].to_dict())

    def active_job(self, kind: str) -> str | None:
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT id FROM jobs WHERE kind = ? AND status IN ('queued', 'running') "
                    "ORDER BY created_at DESC LIMIT 1",
                    [kind],
                )
            )
        return None if row is None else str(row[0])


def _job_row(row: dict) -> dict:
    for key in ("params", "result"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row
