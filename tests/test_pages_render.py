"""Every page renders without an exception or an error box on every small project.

The projects are the edge cases a first campaign hits: nothing at all, one pair, one label, one
judge verdict, judge labels only, prompts all of one length, and one finished training (a real
``train`` job through the worker subprocess). Each is built once for the module; every page in
``ui/app.py`` PAGES is opened on each by an admin through AppTest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.active.select import ActiveConfig
from annotate_app.config import DEMO_DIR, ProjectPaths
from annotate_app.ingest import ImportOptions, PairConfig, import_file
from annotate_app.jobs import JobRunner
from annotate_app.reward.config import HeadConfig, TrainConfig
from annotate_app.reward.encoder import EncoderConfig
from annotate_app.reward.jobs import start_training
from annotate_app.store import Store
from annotate_app.ui.pages import PAGES
from tests.seed import human_answer, human_label, human_labels, judge_labels

UI_DIR = Path(__file__).resolve().parents[1] / "annotate_app" / "ui"
JUDGE = "judge:smol"


def _write_pairs(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pairs(folder: Path, n: int, same_length: bool = False) -> Path:
    rows = [
        {
            "prompt": f"Question {i:02d}?" if same_length else f"Q{i}?" + " more" * i,
            "response_a": f"alpha answer {i}",
            "response_b": f"beta {i}",
            "model_a": "atlas",
            "model_b": "breeze",
        }
        for i in range(n)
    ]
    return _write_pairs(folder / "pairs.jsonl", rows)


def _verdicts(store: Store, pair_ids: list[str]) -> None:
    p_a = {pair_id: 0.8 if i % 3 else 0.3 for i, pair_id in enumerate(pair_ids)}
    judge_labels(store, JUDGE, p_a, rationale="clearer", latency_s=0.9)


def _empty(store: Store, folder: Path) -> None:
    pass


def _one_pair(store: Store, folder: Path) -> None:
    import_file(store, _pairs(folder, 1))


def _one_label(store: Store, folder: Path) -> None:
    import_file(store, _pairs(folder, 1))
    human_label(store, store.pairs_frame()["pair_id"].iloc[0], "alice", 1, latency_ms=2500)


def _one_verdict(store: Store, folder: Path) -> None:
    import_file(store, _pairs(folder, 3))
    _verdicts(store, store.pairs_frame()["pair_id"].tolist()[:1])


def _ai_only(store: Store, folder: Path) -> None:
    import_file(store, _pairs(folder, 8))
    _verdicts(store, store.pairs_frame()["pair_id"].tolist())


def _same_length(store: Store, folder: Path) -> None:
    """The judge-page crash of the first campaign: every overlapping pair has one prompt length."""
    import_file(store, _pairs(folder, 12, same_length=True))
    ids = store.pairs_frame()["pair_id"].tolist()
    _verdicts(store, ids)
    answers = []
    for i, pair_id in enumerate(ids):
        answers.append(human_answer(pair_id, "alice", 1 if i % 2 else -1, latency_ms=3000))
        answers.append(human_answer(pair_id, "bob", 1 if i % 4 else -2, latency_ms=4000))
    human_labels(store, answers)


def _trained(store: Store, folder: Path) -> None:
    """One real training job on the demo prompts: a single model version, scores and priorities."""
    import_file(store, DEMO_DIR / "responses.jsonl", ImportOptions(pairs=PairConfig(1)))
    first = store.pairs_frame()["pair_id"].tolist()[:24]
    human_labels(
        store,
        [
            human_answer(pair_id, "alice", 1 if i % 3 else -1, latency_ms=3000)
            for i, pair_id in enumerate(first)
        ],
    )
    config = TrainConfig(
        encoder=EncoderConfig(max_length=32, batch_size=64, device="cpu"),
        head=HeadConfig(members=2, hidden=8, min_steps=20, max_steps=20),
        min_heldout=3,
    )
    runner = JobRunner(store)
    job = runner.wait(start_training(store, runner, config, ActiveConfig("bald", batch=5)))
    assert job["status"] == "done", job
    assert len(store.model_versions()) == 1


PROJECTS: dict[str, Callable[[Store, Path], None]] = {
    "empty": _empty,
    "one-pair": _one_pair,
    "one-label": _one_label,
    "one-verdict": _one_verdict,
    "ai-only": _ai_only,
    "same-length-prompts": _same_length,
    "one-model-version": _trained,
}


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ProjectPaths]:
    built = {}
    for name, fill in PROJECTS.items():
        folder = tmp_path_factory.mktemp(name)
        paths = ProjectPaths(db=folder / "project.duckdb", work_dir=folder / "work")
        with Store(paths) as store:
            store.upsert_annotator("boss", role="admin")
            store.upsert_annotator("alice")
            store.upsert_annotator("bob")
            fill(store, folder)
        built[name] = paths
    return built


def _page_test(spec) -> AppTest:
    if spec.page.endswith(".py"):
        return AppTest.from_file(str(UI_DIR / spec.page), default_timeout=60)
    module, function = spec.page.split(":")

    def draw(module: str, function: str) -> None:
        import importlib

        getattr(importlib.import_module(module), function)()

    return AppTest.from_function(draw, args=(module, function), default_timeout=60)


def _problems(at: AppTest) -> list[str]:
    found = [f"exception: {e.message} {''.join(e.stack_trace)[-1500:]}" for e in at.exception]
    found += [f"error box: {e.value}" for e in at.error]
    return found


@pytest.fixture(autouse=True)
def _error_details() -> Iterator[None]:
    """Show a failing page's traceback in the assertion (the app hides it from visitors)."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def open_project(
    request: pytest.FixtureRequest, projects, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ProjectPaths]:
    paths = projects[request.param]
    monkeypatch.setenv("ANNOTATE_DB", str(paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(paths.work_dir))
    yield paths
    st.cache_resource.clear()  # closes the app's Store so the next project opens its own file


@pytest.mark.parametrize("open_project", list(PROJECTS), indirect=True)
def test_every_page_renders_on_every_small_project(open_project: ProjectPaths) -> None:
    problems = {}
    for spec in PAGES:
        at = _page_test(spec)
        at.session_state["account"] = Account(name="boss", role="admin")
        at.run()
        if _problems(at):
            problems[spec.title] = _problems(at)
        elif not at.main.children:
            problems[spec.title] = ["nothing drawn"]
    assert not problems, json.dumps(problems, indent=1, default=str)[:6000]
