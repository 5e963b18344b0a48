"""The demo ships inside the package: an install into a bare folder runs ``annotate demo`` from any
folder, the project lands where the user is, and its recorded labels fill the agreement, gold and
judge panels from the start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annotate_app import demo_data, settings
from annotate_app.analytics.agreement import agreement_summary
from annotate_app.cli.serve import create_demo
from annotate_app.config import REPO_ROOT, ProjectPaths
from annotate_app.store import Store


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as ``pip install .`` lays it out (no dependencies: the test venv has them)."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # A copy of the source, so the build's own folders (build/, *.egg-info) stay out of the checkout.
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(
        REPO_ROOT / "annotate_app",
        source / "annotate_app",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        cwd=build,
        env={**os.environ, "TMPDIR": str(build)},
        timeout=300,
    )
    return target


def test_an_installed_package_makes_the_demo_in_the_users_folder(installed, tmp_path):
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ANNOTATE_DB", "ANNOTATE_WORK_DIR")}
    env["PYTHONPATH"] = str(installed)  # the installed copy, not the checkout
    run = subprocess.run(
        [sys.executable, "-m", "annotate_app.cli", "demo", "--no-serve"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert (elsewhere / "annotate-demo.duckdb").exists(), run.stdout
    assert "recorded labels" in run.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import annotate_app.config as c; print(c.DEMO_DIR)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed) and (Path(where) / "labels.jsonl").exists()
    assert not (installed / "annotate_app" / "annotate-demo.duckdb").exists()


def test_the_demo_fills_gold_agreement_and_judge_panels(tmp_path):
    paths = ProjectPaths(db=tmp_path / "demo.duckdb", work_dir=tmp_path / "work")
    create_demo(paths)
    create_demo(paths)  # a second run adds nothing twice
    with Store(paths) as store:
        project = settings.load(store)
        assert project.overlap_k == demo_data.DEMO_OVERLAP_K and project.gold_fraction > 0
        recorded = sum(1 for _ in demo_data.LABELS.open(encoding="utf-8"))
        assert len(store.label_events().query("source in ('human', 'ai')")) == recorded
        summary = agreement_summary(store)
        rationales = store.label_events()["rationale"].dropna()
    assert summary["overlap_pairs"] > 20 and summary["mean_pairwise_kappa"] is not None
    assert {g["annotator"] for g in summary["gold_accuracy"]} == {"alice", "bob"}
    (judge,) = summary["judges"]
    assert judge["judge"] == "judge:recorded-demo" and judge["n_pairs"] >= 20
    assert 0.5 < judge["agreement"] < 0.95, json.dumps(judge)
    assert len(rationales) > 10
