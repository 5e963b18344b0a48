"""Imports stream with limits: expanded size, line length and rows; gzip bombs end in a located error.

The bomb tests run the import in a subprocess whose address space is capped a little above what it
has mapped before the import starts, so reading a file whole (as the old reader did) would die with
MemoryError, while the streaming reader stops at the limit with a message naming file and line.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from annotate_app import settings
from annotate_app.cli import main
from annotate_app.ingest import ImportOptions, IngestError, import_file
from annotate_app.ingest.readers import ReadLimits, parse_size, read_rows
from annotate_app.store import Store

MiB = 1 << 20


def good(i: int) -> dict:
    return {"prompt": f"question {i}", "chosen": f"right {i}", "rejected": f"wrong {i}"}


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def write_bomb(path: Path, block: bytes, copies: int) -> None:
    """A gzip file of ``copies`` identical members: small on disk, ``len(block) * copies`` inside."""
    member = gzip.compress(block, compresslevel=9)
    with path.open("wb") as out:
        for _ in range(copies):
            out.write(member)


BOMB_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from annotate_app.ingest import IngestError, import_file
    from annotate_app.store import Store

    store = Store(sys.argv[1])
    before = store.stats()
    with open("/proc/self/status") as f:
        mapped = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
    cap = mapped + int(sys.argv[3]) * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    results = []
    for path in sys.argv[2].split(","):
        try:
            import_file(store, path)
        except IngestError as exc:
            results.append({"error": str(exc), "skippable": exc.skippable})
        except BaseException as exc:
            results.append({"crash": f"{type(exc).__name__}: {exc}"})
        else:
            results.append({"imported": True})
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    print(json.dumps({"results": results, "unchanged": store.stats() == before}))
    """
)


def test_gzip_bombs_stop_at_the_limits_within_capped_memory(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with Store(db) as store:
        import_file(store, _file(tmp_path / "seed.jsonl", jsonl([good(i) for i in range(3)])))
        # the project's own limit, lowered so the test expands 256 MiB rather than the default 2 GiB
        settings.update(store, import_max_bytes=256 * MiB)
    # 3 GiB of blank 1 MiB lines: only the expanded-size limit can stop it
    wide = tmp_path / "wide.jsonl.gz"
    write_bomb(wide, (b" " * (MiB - 1) + b"\n") * 16, 192)
    # one 3 GiB line inside a JSON string: the line-length limit (default 64 MiB) stops it first
    long = tmp_path / "long.jsonl.gz"
    member = gzip.compress(b"a" * (16 * MiB), compresslevel=9)
    with long.open("wb") as out:
        out.write(gzip.compress(b'{"prompt": "p", "chosen": "'))
        for _ in range(192):
            out.write(member)
    assert wide.stat().st_size < 8 * MiB and long.stat().st_size < 8 * MiB
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD, str(db), f"{wide},{long}", "400"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    wide_result, long_result = out["results"]
    assert "crash" not in wide_result and "crash" not in long_result, out
    assert wide_result["error"].startswith("wide.jsonl.gz:257: the file's expanded size passes")
    assert "256 MiB" in wide_result["error"] and "--max-bytes" in wide_result["error"]
    assert long_result["error"].startswith("long.jsonl.gz:1: the line's length passes")
    assert "64 MiB" in long_result["error"] and "--max-line-bytes" in long_result["error"]
    assert not wide_result["skippable"] and not long_result["skippable"]
    assert out["unchanged"], "a refused file left the project as it was"


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv", ".csv.gz", ".parquet", ".pq.gz"])
def test_every_format_streams_compressed_or_not_with_a_row_limit(
    store: Store, tmp_path: Path, suffix: str
) -> None:
    rows = [good(i) for i in range(7)]
    if suffix.startswith(".csv"):
        data = pd.DataFrame(rows).to_csv(index=False).encode()
    elif suffix.startswith((".parquet", ".pq")):
        tmp = tmp_path / "plain.parquet"
        pd.DataFrame(rows).to_parquet(tmp)
        data = tmp.read_bytes()
    else:
        data = jsonl(rows)
    name = "rows" + (".parquet.gz" if suffix == ".pq.gz" else suffix)
    path = _file(tmp_path / name, gzip.compress(data) if name.endswith(".gz") else data)
    kind, got = read_rows(path)
    assert [line for line, _ in got][-1] in (7, 8) and kind in ("jsonl", "csv", "parquet")
    before = store.stats()
    with pytest.raises(IngestError, match=r"more than 5 rows, the limit.*--max-rows"):
        import_file(store, path, ImportOptions(limits=ReadLimits(max_rows=5)))
    assert store.stats() == before
    report = import_file(store, path, ImportOptions(limits=ReadLimits(max_rows=7)))
    assert report.added["pairs"] == 7


def test_a_project_setting_and_the_cli_flags_set_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "p.duckdb"
    path = _file(tmp_path / "ten.jsonl", jsonl([good(i) for i in range(10)]))
    with Store(db) as store:
        settings.update(store, import_max_rows=4)
        with pytest.raises(IngestError, match="more than 4 rows"):
            import_file(store, path)
        assert store.stats()["pairs"] == 0
    assert main(["--db", str(db), "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "ten.jsonl:5: the file has more than 4 rows" in err and "--skip-invalid" not in err
    assert main(["--db", str(db), "import", str(path), "--max-line-bytes", "10"]) == 1
    assert "ten.jsonl:1: the line's length passes the limit of 10 bytes" in capsys.readouterr().err
    assert main(["--db", str(db), "import", str(path), "--max-rows", "10"]) == 0
    with Store(db) as store:
        assert store.stats()["pairs"] == 10
    assert parse_size("2G") == 2 << 30 and parse_size("512k") == 512 << 10
    assert parse_size("64MiB") == 64 << 20
    with pytest.raises(SystemExit):
        main(["--db", str(db), "import", str(path), "--max-bytes", "lots"])


def test_the_upload_page_applies_the_project_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from annotate_app.accounts.auth import Account
    from annotate_app.config import REPO_ROOT

    db = tmp_path / "p.duckdb"
    with Store(db) as store:
        store.upsert_annotator("boss", role="admin")
        settings.update(store, import_max_rows=2)
    monkeypatch.setenv("ANNOTATE_DB", str(db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(tmp_path / "work"))
    page = str(REPO_ROOT / "annotate_app" / "ui" / "views" / "data.py")
    try:
        at = AppTest.from_file(page, default_timeout=60)
        at.session_state["account"] = Account("boss", "admin")
        at.run()
        at.file_uploader[0].upload("three.jsonl", jsonl([good(i) for i in range(3)])).run()
        assert not at.exception
        assert "three.jsonl cannot be imported" in at.error[0].value
        problems = at.dataframe[0].value["problem"].tolist()
        assert len(problems) == 1 and "more than 2 rows, the limit" in problems[0]
    finally:
        st.cache_resource.clear()
