"""The real ``annotate`` console script in subprocesses: the workflow, --help, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annotate_app.cli import build_parser

SCRIPT = Path(sys.executable).with_name("annotate")
ROWS = [
    {"prompt": f"Question {i}", "chosen": f"A careful answer {i}", "rejected": f"meh {i}"}
    for i in range(5)
]


def run(*args: str, env: dict | None = None, module: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "annotate_app.cli"] if module else [str(SCRIPT)]
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module", autouse=True)
def _script_installed() -> None:
    if not SCRIPT.exists():
        pytest.fail(f"console script {SCRIPT} missing: run 'make install'")


HELP_ALL = """
import contextlib, io, sys
from annotate_app.cli import build_parser, main
names = sorted(build_parser()._subparsers._group_actions[0].choices)
for name in names:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([name, "--help"])
        except SystemExit as exc:
            assert exc.code == 0, (name, exc.code)
    text = out.getvalue()
    assert text.startswith("usage: annotate " + name), (name, text)
    assert "--db" in text, name
print(" ".join(names))
"""


def test_help_for_every_command() -> None:
    """The script's own --help, then every command's --help in one process (each start costs)."""
    done = run("--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: annotate")
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"init", "import", "stats", "export", "serve", "demo"} <= commands
    assert all(name in done.stdout for name in commands)
    done = subprocess.run(
        [sys.executable, "-c", HELP_ALL], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == commands


def test_workflow(tmp_path: Path) -> None:
    db = tmp_path / "proj.duckdb"
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")

    done = run("--db", str(db), "init")
    assert done.returncode == 0 and f"created project {db}" in done.stdout

    # ANNOTATE_DB chooses the project as well as --db; -m runs the same CLI.
    done = run("import", str(data), env={"ANNOTATE_DB": str(db)}, module=True)
    assert done.returncode == 0, done.stderr
    assert (
        "gold.jsonl: 5 rows as chosen-rejected; added 5 prompts, 10 responses, 5 pairs, 5 labels"
        in done.stdout
    )

    done = run("stats", "--json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert (stats["prompts"], stats["responses"], stats["pairs"]) == (5, 10, 5)
    assert stats["labels"] == {"human": 0, "ai": 0, "import": 5, "adjudicated": 0}

    out = tmp_path / "export" / "prefs.jsonl"
    done = run("--db", str(db), "export", str(out), "--format", "dpo-jsonl", "--source", "import")
    assert done.returncode == 0, done.stderr
    assert "wrote 5 preference rows" in done.stdout
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(r["prompt"], r["chosen"], r["rejected"]) for r in exported} == {
        (r["prompt"], r["chosen"], r["rejected"]) for r in ROWS
    }


def test_skip_invalid_reports_rows(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    data = tmp_path / "mixed.jsonl"
    data.write_text(json.dumps(ROWS[0]) + "\n{broken\n" + json.dumps(ROWS[1]) + "\n")
    line = one_line_error(run("--db", str(db), "import", str(data)))
    assert line.startswith("annotate: error: mixed.jsonl:2: broken JSON")
    assert "nothing was imported; use --skip-invalid" in line
    done = run("--db", str(db), "import", str(data), "--skip-invalid")
    assert done.returncode == 0, done.stderr
    assert "added 2 prompts" in done.stdout and "skipped 1 invalid rows" in done.stdout
    assert "skipped mixed.jsonl:2: broken JSON" in done.stdout


ERROR_CASES = [
    (["stats"], "no project at"),
    (["import", "data.jsonl", "missing.jsonl"], "missing.jsonl: no such file"),
    (["import", "data.jsonl", "--format", "dpo"], "invalid choice: 'dpo'"),
    (["import", "data.jsonl", "--pairs-per-prompt", "0"], "--pairs-per-prompt must be 1 or more"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["--db", "notes.duckdb", "stats"], "cannot open project"),
]


def test_errors_are_one_line(tmp_path: Path) -> None:
    """Each mistake gives a non-zero exit and one line; the cases run side by side (each start
    of the CLI costs about two CPU seconds)."""
    (tmp_path / "data.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    (tmp_path / "notes.duckdb").write_text("not a database\n")
    procs = [
        subprocess.Popen(
            [str(SCRIPT), "--db", str(tmp_path / f"none{i}.duckdb"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for i, (args, _) in enumerate(ERROR_CASES)
    ]
    for proc, (args, expected) in zip(procs, ERROR_CASES, strict=True):
        out, err = proc.communicate(timeout=120)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert expected in one_line_error(done), args
    assert not list(tmp_path.glob("none*.duckdb"))  # no mistake leaves an empty project behind
