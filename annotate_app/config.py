"""Project settings.

Paths come from the command line or the environment (``ANNOTATE_DB``, ``ANNOTATE_WORK_DIR``), so the
CLI, the Streamlit app and worker subprocesses all agree on one project without passing flags around.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = Path("data/project.duckdb")
REPO_ROOT = Path(__file__).resolve().parent.parent
# The demo's data ships inside the package; the demo project is made in the current folder (or at
# the path given with --db), never inside the installed package.
DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_DB = Path("annotate-demo.duckdb")


@dataclass
class ProjectPaths:
    """Where a project's DuckDB file and its on-disk artifacts (models, job folders) live."""

    db: Path
    work_dir: Path = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.db = Path(self.db)
        if self.work_dir is None:
            env = os.environ.get("ANNOTATE_WORK_DIR")
            self.work_dir = Path(env) if env else self.db.parent / f"{self.db.stem}.work"
        self.work_dir = Path(self.work_dir)

    @property
    def models_dir(self) -> Path:
        return self.work_dir / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.work_dir / "jobs"

    @classmethod
    def resolve(cls, db: str | Path | None = None) -> ProjectPaths:
        """The explicit path wins, then ``ANNOTATE_DB``, then ``data/project.duckdb``."""
        chosen = db or os.environ.get("ANNOTATE_DB") or DEFAULT_DB
        return cls(db=Path(chosen).expanduser().resolve())
