"""A deleted WAL after a kill -9 is noticed at the next start, instead of silently losing labels.

A real process runs the app's services with periodic checkpoints off, commits labels, lets the
service thread mark the newest one, and kills itself with SIGKILL: the labels are only in the WAL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from annotate_app.config import ProjectPaths
from annotate_app.service import Services
from annotate_app.store import Store
from annotate_app.store.durability import read_mark
from tests import load_driver as ld

CRASHER = textwrap.dedent(
    """
    import os, signal, sys, time, uuid
    from annotate_app.config import ProjectPaths
    from annotate_app.service import ServiceConfig, Services
    from annotate_app.store.client_answers import PageAnswer
    paths = ProjectPaths(db=sys.argv[1], work_dir=sys.argv[2])
    svc = Services(paths, ServiceConfig(lease_write_s=0.05, poll_s=0.1, checkpoint_s=0))
    ids = svc.store.record_answers(  # four label page answers, as the page's outbox stores them
        [
            PageAnswer("alice", str(uuid.uuid4()), pid, "label", "a", choice=1, latency_ms=1500)
            for pid in svc.store.pairs_frame()["pair_id"].tolist()[:4]
        ]
    )
    time.sleep(1.5)  # the service thread marks the newest event
    print(max(ids), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.fixture
def crashed(tmp_path: Path) -> tuple[ProjectPaths, int]:
    db = ld.build_project(tmp_path / "p.duckdb", 6, ["alice"])
    paths = ProjectPaths(db=db, work_dir=tmp_path / "work")
    done = subprocess.run(
        [sys.executable, "-c", CRASHER, str(paths.db), str(paths.work_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    assert db.with_name(db.name + ".wal").exists(), "the labels are only in the WAL"
    return paths, int(done.stdout.strip())


def test_a_deleted_wal_is_reported_at_the_next_start(crashed) -> None:
    paths, newest = crashed
    paths.db.with_name(paths.db.name + ".wal").unlink()
    services = Services(paths)
    try:
        assert services.lost_labels is not None
        assert f"up to #{newest}" in services.lost_labels
        assert "write-ahead log" in services.lost_labels
        assert services.store.label_events().empty, "DuckDB itself opened without a word"
    finally:
        services.close()


def test_a_kept_wal_replays_and_nothing_is_reported(crashed) -> None:
    paths, newest = crashed
    services = Services(paths)
    try:
        assert services.lost_labels is None
        assert int(services.store.label_events()["id"].max()) == newest
    finally:
        services.close()
    assert read_mark(paths).clean


def test_serve_prints_the_loss(crashed, tmp_path: Path) -> None:
    paths, newest = crashed
    paths.db.with_name(paths.db.name + ".wal").unlink()
    annotate = shutil.which("annotate", path=str(Path(sys.executable).parent))
    port = ld.free_port()
    proc = subprocess.Popen(
        [annotate, "--db", str(paths.db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "ANNOTATE_WORK_DIR": str(paths.work_dir)},
    )
    try:
        ld.wait_healthy(proc, f"http://127.0.0.1:{port}", timeout_s=120)
    finally:
        ld.stop(proc)
    (line,) = [x for x in proc.stderr.read().splitlines() if x.startswith("annotate: warning:")]
    assert line.startswith("annotate: warning: label events after #0") and f"#{newest}" in line
    with Store(paths) as store:
        assert store.label_events().empty
