"""The small projects a first campaign hits, built as real project files for the page tests.

Nothing at all, one pair, one label, one judge verdict, judge labels only, prompts all of one
length, and one finished training (a real ``train`` job through the worker subprocess). Every
project has the admin ``boss`` and the annotators ``alice`` and ``bob``, none with a password.
Used by tests/test_pages_render.py (AppTest) and tests/e2e/test_page_tour.py (a real browser).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from annotate_app.active.select import ActiveConfig
from annotate_app.config import DEMO_DIR, ProjectPaths
from annotate_app.ingest import ImportOptions, PairConfig, import_file
from annotate_app.jobs import JobRunner
from annotate_app.reward.config import HeadConfig, TrainConfig
from annotate_app.reward.encoder import EncoderConfig
from annotate_app.reward.jobs import start_training
from annotate_app.store import Store
from tests.seed import human_answer, human_label, human_labels, judge_labels

JUDGE = "judge:smol"
ADMIN = "boss"
ANNOTATORS = ("alice", "bob")


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


def build(name: str, folder: Path) -> ProjectPaths:
    """The project ``name`` of ``PROJECTS`` in ``folder``, with its accounts; closed when returned."""
    paths = ProjectPaths(db=folder / "project.duckdb", work_dir=folder / "work")
    with Store(paths) as store:
        store.upsert_annotator(ADMIN, role="admin")
        for annotator in ANNOTATORS:
            store.upsert_annotator(annotator)
        PROJECTS[name](store, folder)
    return paths
