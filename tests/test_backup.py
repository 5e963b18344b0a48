"""Backup and restore: directly, and through the process that owns the file (as the app does)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from annotate_app.ingest import import_file
from annotate_app.store import ProjectLockedError, Store, StoreError
from annotate_app.store.backup_files import RequestConfig, backup, restore
from tests.seed import human_answer, human_label, human_labels


def _label_some(store: Store, n: int) -> list[str]:
    pairs = store.pairs_frame()["pair_id"].tolist()[:n]
    human_labels(
        store,
        [
            human_answer(pid, "alice", 1 if i % 2 else -2, left_side="a", latency_ms=900)
            for i, pid in enumerate(pairs)
        ],
    )
    return pairs


def test_backup_and_restore_directly(store, project_paths, demo_dir, tmp_path):
    import_file(store, demo_dir / "responses.jsonl")
    _label_some(store, 5)
    store.close()
    target = tmp_path / "copies" / "b.duckdb"
    assert backup(project_paths, target) == "copied directly"

    with Store(project_paths) as s:  # the project changes after the backup
        human_label(s, s.pairs_frame()["pair_id"].iloc[10], "bob", 0)
        assert s.stats()["labels"]["human"] == 6

    kept = restore(project_paths, target)
    assert kept.exists()
    with Store(project_paths) as s:
        assert s.stats()["labels"]["human"] == 5
        assert s.stats()["pairs"] == 180
        # the label id sequence continues after the restored events, not from 1
        new_id = human_label(s, s.pairs_frame()["pair_id"].iloc[11], "bob", 1)
        assert new_id > int(s.label_events()["id"].iloc[:-1].max())


def test_restore_rejects_a_file_that_is_not_a_project(project_paths, tmp_path):
    Store(project_paths).close()
    bogus = tmp_path / "not-a-project.duckdb"
    bogus.write_bytes(b"hello")
    with pytest.raises(StoreError, match="not a readable project backup"):
        restore(project_paths, bogus)


OWNER = textwrap.dedent(
    """
    import sys, time
    from annotate_app.store.backup_files import serve_requests
    from annotate_app.config import ProjectPaths
    from annotate_app.store import Store
    store = Store(ProjectPaths(db=sys.argv[1], work_dir=sys.argv[2]))
    print("ready", flush=True)
    while True:
        serve_requests(store)
        time.sleep(0.1)
    """
)


def test_backup_while_another_process_owns_the_project(store, project_paths, demo_dir, tmp_path):
    import_file(store, demo_dir / "responses.jsonl")
    labeled = _label_some(store, 7)
    store.close()
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(project_paths.db), str(project_paths.work_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout.readline().strip() == "ready"
        with pytest.raises(ProjectLockedError):
            Store(project_paths)
        target = tmp_path / "live.duckdb"
        how = backup(project_paths, target, RequestConfig(timeout_s=30))
        assert how == "copied by the running app"
    finally:
        owner.kill()
        owner.wait()
    with Store(target) as copy:
        events = copy.label_events()
        assert sorted(events["pair_id"]) == sorted(labeled)
        assert copy.stats()["pairs"] == 180


def test_backup_request_times_out_with_a_clear_message(store, project_paths, tmp_path):
    store.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from annotate_app.store import Store; s = Store(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(project_paths.db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        start = time.monotonic()
        with pytest.raises(StoreError, match=r"in use by PID \d+.*did not answer"):
            backup(project_paths, tmp_path / "x.duckdb", RequestConfig(timeout_s=1))
        assert time.monotonic() - start < 10
    finally:
        holder.kill()
        holder.wait()
