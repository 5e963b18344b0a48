"""`auto` in the app's loop: each selection records its round in the project, and the gain of a
round is measured (earlier model against the next, on the uniform share) once those labels exist.
A real DuckDB project and the real worker subprocess, with a tiny head."""

from __future__ import annotations

import math

import pytest

from annotate_app.active.bandit import leader_line, project_standings, standings
from annotate_app.active.select import ActiveConfig
from annotate_app.ingest import ImportOptions, PairConfig, import_file
from annotate_app.jobs import JobRunner
from annotate_app.reward.config import HeadConfig, TrainConfig
from annotate_app.reward.encoder import EncoderConfig
from annotate_app.reward.jobs import start_selection, start_training
from tests.seed import human_answer, human_labels

QUALITY = {"atlas-70b": 4, "breeze-13b": 3, "comet-7b": 2, "drift-1b": 1}


def _config() -> TrainConfig:
    return TrainConfig(
        encoder=EncoderConfig(max_length=64, batch_size=64, device="cpu"),
        head=HeadConfig(members=3, hidden=16, min_steps=40, max_steps=40),
        min_heldout=3,
    )


def _label(store, pair_ids) -> None:
    pairs = store.pairs_frame(list(pair_ids))
    better_a = {
        row.pair_id: QUALITY[row.model_a] > QUALITY[row.model_b] for row in pairs.itertuples()
    }
    human_labels(store, [human_answer(p, "alice", 1 if a else -1) for p, a in better_a.items()])


@pytest.fixture
def project(store, demo_dir):
    import_file(
        store, demo_dir / "responses.jsonl", ImportOptions(pairs=PairConfig(pairs_per_prompt=2))
    )
    ids = store.pairs_frame()["pair_id"].tolist()
    _label(store, ids[: len(ids) // 2])
    return store


def test_auto_records_rounds_and_measures_a_gain(project) -> None:
    store = project
    runner = JobRunner(store)
    active = ActiveConfig("auto", batch=10)

    runner.wait(start_training(store, runner, _config(), active))
    rounds = store.acquisition_rounds()
    assert len(rounds) == 1
    first = rounds.iloc[0]
    assert first["arm"] in first["probs"] and math.isclose(sum(first["probs"].values()), 1.0)
    assert first["probs"]["random"] == max(first["probs"].values())  # auto starts on random
    assert len(first["eval_pairs"]) == 2 and math.isnan(first["gain"])
    assert set(first["eval_pairs"]) <= set(store.open_pair_ids())
    top = store.routes_frame().head(10)
    assert set(first["eval_pairs"]) <= set(top["pair_id"]) and (top["policy"] == "auto").all()

    _label(store, top["pair_id"])
    runner.wait(start_training(store, runner, _config(), active))
    rounds = store.acquisition_rounds()
    assert len(rounds) == 2 and rounds["gain"].isna().all()  # round 2's share is not labeled yet

    _label(store, rounds.iloc[1]["eval_pairs"])
    runner.wait(start_selection(store, runner, active))
    rounds = store.acquisition_rounds()
    assert len(rounds) == 3
    assert math.isfinite(rounds.iloc[0]["gain"])  # model 1 against model 2 on round 2's share
    assert rounds.iloc[1:]["gain"].isna().all()

    table = standings(rounds.to_dict("records"))
    assert table["measured_rounds"].iloc[0] == 1
    assert table.loc[table["leading"], "strategy"].tolist() == ["random"]
    shown = project_standings(store)  # what the Dashboard shows
    assert shown is not None and shown["batches"].sum() == 1
    assert leader_line(shown).startswith("auto follows random")
