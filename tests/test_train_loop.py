"""train -> score -> select on a real DuckDB project, through the real worker subprocess."""

from __future__ import annotations

import os
import signal
import time

import pytest

from annotate_app.active.select import ActiveConfig
from annotate_app.ingest import ImportOptions, PairConfig, import_file
from annotate_app.jobs import JobRunner
from annotate_app.reward.config import HeadConfig, TrainConfig
from annotate_app.reward.encoder import EncoderConfig
from annotate_app.reward.jobs import TrainingBusy, start_selection, start_training
from tests.seed import human_answer, human_labels

QUALITY = {"atlas-70b": 4, "breeze-13b": 3, "comet-7b": 2, "drift-1b": 1}


def _config() -> TrainConfig:
    return TrainConfig(
        encoder=EncoderConfig(max_length=64, batch_size=64, device="cpu"),
        head=HeadConfig(members=3, hidden=16, min_steps=60, max_steps=60),
        min_heldout=3,
    )


@pytest.fixture
def project(store, demo_dir):
    """The demo prompts, two pairs each; the better model wins on two thirds of the pairs."""
    options = ImportOptions(pairs=PairConfig(pairs_per_prompt=2))
    import_file(store, demo_dir / "responses.jsonl", options)
    pairs = store.pairs_frame()
    answers = []
    for i, row in enumerate(pairs.itertuples()):
        if i % 3 == 2:
            continue
        gap = QUALITY[row.model_a] - QUALITY[row.model_b]
        choice = (1 if gap > 0 else -1) * (2 if abs(gap) >= 2 else 1)
        answers.append(human_answer(row.pair_id, "alice", choice))
    human_labels(store, answers)
    return store


def test_train_score_select_and_a_killed_run_keeps_the_last_good_model(project) -> None:
    store = project
    runner = JobRunner(store)
    open_ids = set(store.open_pair_ids())
    assert 20 <= len(open_ids) < len(store.pairs_frame())

    job = runner.wait(start_training(store, runner, _config(), ActiveConfig("bald", batch=5)))
    model = store.active_model()
    assert model is not None and model["job_id"] == job["id"] and model["mode"] == "head"
    assert model["n_labels"] == len(store.training_labels(["human", "import"]))
    assert model["metrics"]["n_heldout"] >= 3 and 0.0 <= model["heldout_accuracy"] <= 1.0
    assert model["train_seconds"] > 0
    assert os.path.exists(os.path.join(model["path"], "head.pt"))
    scores = store.pair_scores(model["id"])
    assert set(scores["pair_id"]) == open_ids
    assert scores["p_a"].between(0, 1).all() and (scores["uncertainty"] >= 0).all()
    routes = store.routes_frame()
    assert set(routes["pair_id"]) == open_ids
    top = routes.head(5)
    assert (top["priority"] > 1).all() and (top["policy"] == "bald").all()
    cached = store.embedding_count(_config().encoder.cache_id)
    pairs = store.pairs_frame()
    assert cached == len(set(pairs["response_a"]) | set(pairs["response_b"]))  # each text once

    # select with another strategy rescores with the same model and reorders the queue
    runner.wait(start_selection(store, runner, ActiveConfig("kcenter", batch=4)))
    routes = store.routes_frame()
    assert (routes.head(4)["priority"] > 1).all() and (routes["priority"] > 1).sum() == 4
    assert set(routes["policy"]) == {"kcenter"}
    assert store.embedding_count() == cached  # nothing embedded twice

    # a second run starts while nothing is running, and is killed mid-way
    job_id = start_training(store, runner, _config(), ActiveConfig("random", batch=5))
    with pytest.raises(TrainingBusy):
        start_training(store, runner, _config())
    deadline = time.time() + 60
    while time.time() < deadline:
        job = runner.poll(job_id)
        if job["progress"] > 0:
            break
        time.sleep(0.05)
    os.killpg(int(job["pid"]), signal.SIGKILL)
    job = runner.wait(job_id, raise_on_failure=False)
    assert job["status"] == "failed" and "SIGKILL" in job["error"]
    assert store.active_model()["id"] == model["id"]
    assert len(store.model_versions()) == 1
    assert set(store.pair_scores(model["id"])["pair_id"]) == open_ids

    # once every pair is labeled a training still lands, with no open pair to score or queue
    human_labels(store, [human_answer(pair_id, "alice", 1) for pair_id in sorted(open_ids)])
    runner.wait(start_training(store, runner, _config(), ActiveConfig("random", batch=5)))
    latest = store.active_model()
    assert latest["id"] != model["id"] and store.pair_scores(latest["id"]).empty


def test_training_without_labels_says_so(store, demo_dir) -> None:
    import_file(store, demo_dir / "responses.jsonl", ImportOptions())
    with pytest.raises(ValueError, match="no labels"):
        start_training(store, JobRunner(store), _config())
