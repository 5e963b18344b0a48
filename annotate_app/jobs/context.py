"""What a worker function sees: its parameters, its input files, progress reporting, cancellation."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

PARAMS, PROGRESS, RESULT, ERROR, CANCEL = (
    "params.json",
    "progress.json",
    "result.json",
    "error.txt",
    "cancel",
)
INPUTS, OUTPUTS = "inputs", "outputs"


class JobCancelled(Exception):
    """Raised inside a worker when the parent asked it to stop."""


def write_json_atomic(path: Path, payload: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, default=str), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class JobContext:
    job_id: str
    kind: str
    dir: Path
    params: dict[str, Any]

    @classmethod
    def load(cls, job_dir: Path) -> JobContext:
        spec = json.loads((job_dir / PARAMS).read_text(encoding="utf-8"))
        return cls(spec["job_id"], spec["kind"], job_dir, spec["params"])

    def input(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.dir / INPUTS / f"{name}.parquet")

    def input_path(self, name: str) -> Path:
        return self.dir / INPUTS / name

    def output_dir(self) -> Path:
        out = self.dir / OUTPUTS
        out.mkdir(exist_ok=True)
        return out

    def write_output(self, name: str, frame: pd.DataFrame) -> Path:
        """Write a Parquet output atomically: the parent only ever sees whole files."""
        out = self.output_dir() / f"{name}.parquet"
        tmp = out.with_name(f".{out.name}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
        return out

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress; also the point where a cancel request takes effect."""
        write_json_atomic(
            self.dir / PROGRESS,
            {"progress": max(0.0, min(1.0, fraction)), "message": message, "at": time.time()},
        )
        if self.cancelled():
            raise JobCancelled()

    def cancelled(self) -> bool:
        return (self.dir / CANCEL).exists()
