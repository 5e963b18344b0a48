"""Shared fixtures: real DuckDB project files in tmp dirs, and the shared real data when present."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate_app.config import DEMO_DIR, ProjectPaths
from annotate_app.store import Store

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HH_FILE = SHARED_DATA / "hh-rlhf" / "harmless-base-test-2000.jsonl.gz"
ALPACA_FILE = SHARED_DATA / "alpaca-eval" / "model_outputs.jsonl.gz"


def require_shared(path: Path) -> Path:
    """Skip (with the reason) when the shared real data is not beside the project."""
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (it sits in ../shared/data on dev machines)")
    return path


@pytest.fixture
def hh_file() -> Path:
    return require_shared(HH_FILE)


@pytest.fixture
def alpaca_file() -> Path:
    return require_shared(ALPACA_FILE)


@pytest.fixture
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture
def project_paths(tmp_path: Path) -> ProjectPaths:
    return ProjectPaths(db=tmp_path / "project.duckdb", work_dir=tmp_path / "work")


@pytest.fixture
def store(project_paths: ProjectPaths):
    s = Store(project_paths)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may reach a model hub during tests."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANNOTATE_JOB_MODULES", "tests.jobkinds")
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(
            filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")])
        ),
    )


@pytest.fixture(scope="session", autouse=True)
def _scan_streamlit_components_once() -> Iterator[None]:
    """Each new AppTest scans the metadata of every installed package for Streamlit components,
    which was most of a page test's time (one page render = one AppTest). The packages do not
    change during a session, so the real scan runs once and its answer is reused, as a server
    scans once at start. Sessions whose tests never imported Streamlit leave it unimported."""
    if "streamlit" not in sys.modules:
        yield
        return
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # an older or newer Streamlit without the scanner scans as it likes
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        scan = functools.cache(manifest_scanner.scan_component_manifests)
        patch.setattr(manifest_scanner, "scan_component_manifests", scan)
        yield


@pytest.fixture(autouse=True)
def _fresh_accelerate_state() -> Iterator[None]:
    """accelerate keeps one state per process, fixed by the first trainer (TRL's default bf16, or
    our fine-tune's fp32) and refused to any later one with other settings. The app trains in a
    fresh worker process each time; tests share a process, so each test leaves none behind."""
    yield
    state = sys.modules.get("accelerate.state")
    if state is not None:
        state.AcceleratorState._reset_state(reset_partial_state=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser and server tests get one rerun: they drive real chromium and real servers on a
    shared 2-core machine, where a page can take longer than any timeout we set. A rerun shows in
    the summary ("1 rerun"), so a test that needs one is still seen; one that fails twice fails."""
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))
