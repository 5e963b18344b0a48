"""A small load run: N annotators in real browser sessions against `annotate serve` on loopback.

After the server stops, DuckDB must hold exactly the acknowledged labels: none lost, none twice, and
with overlap 1 no pair labeled by two annotators. bench/bench_load.py is the big version.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from annotate_app.store import Store
from tests import load_driver as ld

pytestmark = pytest.mark.e2e

if not ld.CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
pytest.importorskip("playwright.async_api")

NAMES = [f"ann{i}" for i in range(4)]
SUBMITS = 4


def test_concurrent_annotators_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    db = ld.build_project(tmp_path / "load.duckdb", 60, NAMES)
    proc, url = ld.start_server(db, tmp_path / "work")
    snapshot = tmp_path / "while-serving.duckdb"
    try:
        result = asyncio.run(ld.drive(url, NAMES, SUBMITS))
        annotate = Path(sys.executable).parent / "annotate"
        done = subprocess.run(
            [str(annotate), "--db", str(db), "backup", str(snapshot)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "ANNOTATE_WORK_DIR": str(tmp_path / "work")},
        )
        assert done.returncode == 0, done.stderr
        assert "running app" in done.stdout, done.stdout  # the app answered the request
    finally:
        ld.stop(proc)
    with Store(db) as store:
        labels = store.current_labels("human")
        events = store.label_events()
    with Store(snapshot) as copy:
        assert len(copy.current_labels("human")) == len(labels), "the backup has every label"
    assert not any(a.refused or a.unanswered for a in result.annotators)
    assert len(result.acked) == len(NAMES) * SUBMITS
    assert sorted(result.acked) == sorted(events.loc[events["kind"] == "label", "id"])
    assert len(labels) == len(result.acked), "no label lost, none extra"
    assert not labels["pair_id"].duplicated().any(), "overlap 1: no pair labeled twice"
    print(
        f"{len(NAMES)} annotators, {len(result.acked)} labels in {result.wall_s:.1f}s: "
        f"press->next median {statistics.median(result.latencies_ms):.0f} ms, "
        f"p95 {result.pct(0.95):.0f} ms"
    )
