"""Routing decisions and their reasons are persisted in DuckDB, readable for display, and the CLI
previews before it writes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annotate_app.cli import main
from annotate_app.ingest import import_file
from annotate_app.routing import plan as routing_plan
from annotate_app.routing.budget import BudgetConfig
from annotate_app.routing.policies import PolicyConfig
from annotate_app.store import Store
from tests.seed import human_answer, human_labels, judge_labels


def _project(store: Store, tmp_path, n: int = 10) -> list[str]:
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "prompt": f"question {i}?",
                    "response_a": f"answer {i}",
                    "response_b": f"reply {i}",
                }
            )
            for i in range(n)
        ),
        encoding="utf-8",
    )
    import_file(store, path)
    ids = store.pairs_frame()["pair_id"].tolist()
    judge_labels(
        store, "local:test-judge", {pid: 0.95 if i % 2 else 0.55 for i, pid in enumerate(ids)}
    )
    return ids


def test_routes_and_reasons_survive_reopening(project_paths, tmp_path):
    with Store(project_paths) as store:
        _project(store, tmp_path)
        config = routing_plan.RoutingConfig(
            policy=PolicyConfig(name="confidence", fill_budget=False),
            budget=BudgetConfig(human_budget=0.3),
        )
        plan = routing_plan.preview(store, config)
        assert store.route_mix() == {"human": 0, "ai": 0, "hold": 0}  # preview writes nothing
        run_id = routing_plan.apply(store, plan)
    with Store(project_paths) as store:
        current = store.route_list()
        assert len(current) == 10
        assert (current["policy"] == "confidence").all()
        assert current["reason"].str.startswith("confidence:").all()
        assert store.route_mix() == {"human": 3, "ai": 5, "hold": 2}
        human = current[current["route"] == "human"]
        assert human["reason"].str.contains("too high; human label").all()
        assert current["priority"].is_monotonic_decreasing
        decisions = store.routing_decisions(run_id)
        assert len(decisions) == 10 and decisions["reason"].notna().all()
        runs = store.routing_runs()
        assert runs.iloc[0][["policy", "n_human", "n_ai", "n_hold"]].tolist() == [
            "confidence",
            3,
            5,
            2,
        ]
        assert json.loads(runs.iloc[0]["params"])["budget"]["human_budget"] == 0.3


def test_rerouting_replaces_routes_and_drops_labeled_pairs(store, tmp_path):
    ids = _project(store, tmp_path)
    config = routing_plan.RoutingConfig(
        policy=PolicyConfig(name="random"), budget=BudgetConfig(human_budget=0.5)
    )
    routing_plan.apply(store, routing_plan.preview(store, config))
    queued = store.route_list(route="human")["pair_id"].tolist()
    assert len(queued) == 5
    human_labels(store, [human_answer(pid, "alice", 1) for pid in queued[:2]])
    second = routing_plan.apply(store, routing_plan.preview(store, config))
    current = store.route_list()
    assert len(current) == 8 and not current["pair_id"].isin(queued[:2]).any()
    # 2 labels given, so 3 more of the 5 may be queued now.
    assert store.route_mix()["human"] == 3
    assert len(store.routing_decisions(second)) == 8
    # The learned router reads back the propensity routing stored for the labeled pairs.
    outcomes = store.human_outcomes().set_index("pair_id")
    assert outcomes.loc[queued[0], "propensity"] == 0.5
    assert set(ids) >= set(current["pair_id"])


def test_reward_model_embeddings_feed_the_similarity_feature(store, tmp_path):
    from annotate_app.reward.encoder import response_text, text_key

    _project(store, tmp_path, n=3)
    texts = store.pairs_frame()
    first = texts.iloc[0]
    vectors = pd.DataFrame(
        {
            "text_hash": [
                text_key(response_text(first["prompt"], first["text_a"])),
                text_key(response_text(first["prompt"], first["text_b"])),
            ],
            "vector": [[1.0, 0.0], [0.0, 1.0]],
        }
    )
    vectors.to_parquet(tmp_path / "vectors.parquet")
    store.insert_embeddings("minilm|mean|256|norm", tmp_path / "vectors.parquet")
    plan = routing_plan.preview(store, routing_plan.RoutingConfig())
    assert plan.features.loc[first["pair_id"], "has_embedding"] == 1
    assert plan.features.loc[first["pair_id"], "emb_cosine"] == 0
    assert plan.features["has_embedding"].sum() == 1


def test_cli_preview_then_apply(project_paths, tmp_path, capsys):
    with Store(project_paths) as store:
        _project(store, tmp_path)
    db = str(project_paths.db)
    assert main(["--db", db, "route", "--policy", "value", "--human-budget", "2", "--preview"]) == 0
    out = capsys.readouterr().out
    assert "routes: 2 human" in out and "value: human label worth" in out
    assert "nothing was written" in out
    with Store(project_paths) as store:
        assert store.route_mix() == {"human": 0, "ai": 0, "hold": 0}
    assert main(["--db", db, "route", "--policy", "value", "--human-budget", "2"]) == 0
    assert "applied routing run" in capsys.readouterr().out
    with Store(project_paths) as store:
        assert store.route_mix()["human"] == 2
        assert routing_plan.load_config(store).policy.name == "value"
    with pytest.raises(SystemExit):
        main(["--db", db, "route", "--human-budget", "2.5"])
    assert "whole number" in capsys.readouterr().err
    assert main(["--db", db, "route", "--policy", "learned", "--preview"]) == 0
    assert "learned:" in capsys.readouterr().out


def _routing_page() -> None:
    from annotate_app.ui.views.routing import render

    render()


@pytest.fixture
def page_project(project_paths, tmp_path, monkeypatch):
    import streamlit as st

    with Store(project_paths) as store:
        _project(store, tmp_path)
        store.upsert_annotator("boss", role="admin")  # the page checks the account still exists
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield project_paths
    st.cache_resource.clear()  # closes the app's Store (on_release) and stops its job poller


def test_admin_page_previews_applies_and_shows_reasons(page_project):
    from streamlit.testing.v1 import AppTest

    from annotate_app.accounts.auth import Account

    at = AppTest.from_function(_routing_page, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="rt-policy").select("confidence").run()
    at.slider(key="rt-budget-f").set_value(0.3).run()
    at.button(key="rt-preview").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["To humans"] == "3" and metrics["Human queue"] == "0"
    at.button(key="rt-apply").click().run()
    assert not at.exception, at.exception
    assert "Applied routing run" in at.success[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Human queue"] == "3" and metrics["Judge"] == "5"
    assert metrics["Human labels"] == "0 / 3"
    current = [d.value for d in at.dataframe if "policy" in d.value.columns][0]
    assert len(current) == 10 and current["reason"].str.startswith("confidence:").all()
