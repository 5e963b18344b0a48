"""Restore reads a backup end to end and refuses a damaged one; the project stays untouched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from annotate_app.config import ProjectPaths
from annotate_app.ingest import import_file
from annotate_app.store import Store, StoreError
from annotate_app.store.backup import verify_project_file
from annotate_app.store.backup_files import backup, restore
from tests.seed import human_answer, human_labels

BLOCK = 262144  # DuckDB's default block size
HEADERS = 3 * 4096  # the file header and two database headers come before block 0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project_with_backup(project_paths: ProjectPaths, demo_dir: Path, tmp_path: Path):
    with Store(project_paths) as store:
        import_file(store, demo_dir / "responses.jsonl")
        pairs = store.pairs_frame()["pair_id"].tolist()[:6]
        human_labels(store, [human_answer(pid, "alice", 1, left_side="a") for pid in pairs])
    target = tmp_path / "good.duckdb"
    backup(project_paths, target)
    return project_paths, target


def _overwrite_data_blocks(source: Path, target: Path) -> Path:
    """The backup with 8 KiB of garbage in the middle of each block that holds rows of the
    ``responses`` table (its metadata, so opening the file and listing its tables, still works)."""
    con = duckdb.connect(str(source), read_only=True)
    blocks = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info('responses') WHERE block_id >= 0"
        ).fetchall()
    ]
    con.close()
    assert blocks
    data = bytearray(source.read_bytes())
    for block in blocks:
        middle = HEADERS + block * BLOCK + BLOCK // 2
        data[middle : middle + 8192] = os.urandom(8192)
    target.write_bytes(bytes(data))
    return target


def test_a_good_backup_reads_end_to_end(project_with_backup) -> None:
    _, good = project_with_backup
    counts = verify_project_file(good)
    assert counts["pairs"] == 180 and counts["label_events"] == 6


def test_restore_refuses_overwritten_data_blocks(project_with_backup, tmp_path: Path) -> None:
    paths, good = project_with_backup
    bad = _overwrite_data_blocks(good, tmp_path / "bad.duckdb")
    before = _digest(paths.db)
    with pytest.raises(StoreError, match=r"bad\.duckdb (is damaged|is not a readable)"):
        restore(paths, bad)
    assert _digest(paths.db) == before, "the project file is untouched"
    assert not list(paths.db.parent.glob("*.before-restore-*"))
    assert not list(paths.db.parent.glob(".*.restoring"))
    with Store(paths) as store:
        assert store.stats()["pairs"] == 180


def test_cli_restore_of_a_damaged_backup_is_one_line(project_with_backup, tmp_path: Path) -> None:
    paths, good = project_with_backup
    bad = _overwrite_data_blocks(good, tmp_path / "bad.duckdb")
    done = subprocess.run(
        [sys.executable, "-m", "annotate_app.cli", "--db", str(paths.db), "restore", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANNOTATE_WORK_DIR": str(paths.work_dir)},
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.duckdb" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_restore_refuses_a_project_with_its_wal_beside_it(project_with_backup, tmp_path) -> None:
    paths, good = project_with_backup
    live = tmp_path / "live.duckdb"
    live.write_bytes(good.read_bytes())
    live.with_name("live.duckdb.wal").write_bytes(b"x")
    with pytest.raises(StoreError, match="WAL beside it"):
        restore(paths, live)
