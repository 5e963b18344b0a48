"""The `.duckdb` file alone holds every acknowledged label: after a clean stop, and (while the app
runs, or after a kill -9) up to the app's last periodic checkpoint.

"Alone" is checked by copying only the `.duckdb` file, without its `.wal`, and opening the copy.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from annotate_app.store import Store
from tests import load_driver as ld
from tests.seed import human_answer, human_labels


def _file_alone(db: Path, folder: Path) -> Path:
    folder.mkdir()
    copy = folder / db.name
    shutil.copyfile(db, copy)
    assert not copy.with_name(copy.name + ".wal").exists()
    return copy


def _label_ids(db: Path) -> set[int]:
    with Store(db) as store:
        events = store.label_events()
    return set(events[events["kind"] == "label"]["id"])


def test_closing_a_store_leaves_one_self_contained_file(tmp_path: Path) -> None:
    db = ld.build_project(tmp_path / "p.duckdb", 5, ["alice"])
    store = Store(db)
    pairs = store.pairs_frame()["pair_id"].tolist()
    ids = set(human_labels(store, [human_answer(pid, "alice", 1, left_side="a") for pid in pairs]))
    assert db.with_name(db.name + ".wal").exists(), "commits sit in the WAL until a checkpoint"
    store.close()
    assert not db.with_name(db.name + ".wal").exists()
    assert ids <= _label_ids(_file_alone(db, tmp_path / "alone"))


def _browser_or_skip() -> None:
    if not ld.CHROMIUM.exists():
        pytest.skip("chromium not installed (run `make browser`)")
    pytest.importorskip("playwright.async_api")


@pytest.mark.e2e
def test_clean_stop_checkpoints(tmp_path: Path) -> None:
    _browser_or_skip()
    db = ld.build_project(tmp_path / "p.duckdb", 12, ["alice"])
    proc, url = ld.start_server(db, tmp_path / "work", env={"ANNOTATE_CHECKPOINT_S": "0"})
    try:
        result = asyncio.run(ld.drive(url, ["alice"], 5))
    finally:
        ld.stop(proc)  # SIGTERM: the server's shutdown hook closes the project
    assert len(result.acked) == 5
    assert not db.with_name(db.name + ".wal").exists(), "a clean stop leaves no WAL behind"
    assert set(result.acked) <= _label_ids(_file_alone(db, tmp_path / "alone"))


@pytest.mark.e2e
def test_periodic_checkpoint_survives_kill_9(tmp_path: Path) -> None:
    _browser_or_skip()
    db = ld.build_project(tmp_path / "p.duckdb", 12, ["alice"])
    proc, url = ld.start_server(db, tmp_path / "work", env={"ANNOTATE_CHECKPOINT_S": "1"})
    try:
        result = asyncio.run(ld.drive(url, ["alice"], 5))
        time.sleep(3)  # at least one checkpoint after the last acknowledgement
        ld.kill9(proc)
    finally:
        ld.stop(proc)
    assert len(result.acked) == 5
    assert set(result.acked) <= _label_ids(_file_alone(db, tmp_path / "alone"))
