"""A second process that opens a held project gets one clear line naming the holder, never a trace."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate_app.store import ProjectLockedError, Store

HOLDER = (
    "import sys\n"
    "from annotate_app.store import Store\n"
    "s = Store(sys.argv[1])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"  # hold the file until the test closes our stdin
    "s.close()\n"
)


@pytest.fixture
def held_db(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    path = tmp_path / "held.duckdb"
    Store(path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield path, proc.pid
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_open_names_the_holder(held_db: tuple[Path, int]) -> None:
    path, pid = held_db
    with pytest.raises(ProjectLockedError) as caught:
        Store(path)
    message = str(caught.value)
    assert f"PID {pid}" in message
    assert str(path) in message
    assert "-c" in message  # the holder's command line, so a person knows what to stop
    assert "\n" not in message
    assert "Conflicting lock" not in message
    with pytest.raises(ProjectLockedError, match=f"PID {pid}"):
        Store(path, read_only=True)


def test_cli_exits_with_one_line(held_db: tuple[Path, int], tmp_path: Path) -> None:
    path, pid = held_db
    env = {**os.environ, "ANNOTATE_DB": str(path)}
    data = tmp_path / "rows.jsonl"
    data.write_text('{"prompt": "p", "response_a": "a", "response_b": "b"}\n')
    for args in (["stats"], ["import", str(data)]):
        done = subprocess.run(
            [sys.executable, "-m", "annotate_app.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("annotate: error: project ")
        assert f"PID {pid}" in lines[0]
        assert "Traceback" not in done.stderr + done.stdout
