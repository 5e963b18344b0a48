"""The Routing page warns when the human budget is spent and will not empty the human queue without
an explicit confirmation; its tables show prompts, not pair hashes, and its terms are explained."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.ingest import import_file
from annotate_app.store import Store
from annotate_app.ui import common
from tests.seed import human_answer, human_labels


def _routing_page() -> None:
    from annotate_app.ui.views.routing import render

    render()


@pytest.fixture
def overspent(project_paths, tmp_path, monkeypatch):
    """12 pairs, a 25% budget (3 labels) with 4 labels given, and 8 pairs waiting for humans."""
    rows = [
        {
            "prompt": f"Prompt number {i}: how to cook rice?",
            "response_a": f"a{i}",
            "response_b": "b",
        }
        for i in range(12)
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Store(project_paths) as store:
        import_file(store, data)
        store.upsert_annotator("boss", role="admin")
        ids = store.pairs_frame()["pair_id"].tolist()
        human_labels(store, [human_answer(pair_id, "alice", 1) for pair_id in ids[:4]])
        queued = pd.DataFrame(
            {
                "pair_id": ids[4:],
                "route": "human",
                "priority": 1.0,
                "reason": "queued earlier",
                "propensity": 1.0,
                "explore": False,
            }
        )
        store.save_routes(queued, "all-human", 1.0, {})
        store.set_setting("routing", {"budget": {"human_budget": 0.25}})
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield project_paths
    st.cache_resource.clear()


def test_overspend_warns_and_emptying_the_queue_needs_a_confirmation(overspent):
    at = AppTest.from_function(_routing_page, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    at.run()
    assert not at.exception
    assert any("pace" in e.markdown[0].value for e in at.expander), "the legend explains pace"
    at.button(key="rt-preview").click().run()
    assert not at.exception
    assert any(
        "human budget is spent" in w.value and "4 human labels" in w.value for w in at.warning
    )
    assert any("empties the human queue" in e.value and "8 pairs" in e.value for e in at.error)
    assert {m.label: m.value for m in at.metric}["To humans"] == "0"
    preview = next(d.value for d in at.dataframe if "explore" in d.value.columns)
    assert "pair_id" not in preview and preview["prompt"].str.startswith("Prompt number").all()
    assert at.button(key="rt-apply").disabled, "no apply before the confirmation"

    at.checkbox(key="rt-confirm-empty").check().run()
    assert not at.button(key="rt-apply").disabled
    at.button(key="rt-apply").click().run()
    assert "Applied routing run" in at.success[0].value
    assert common.store().route_mix()["human"] == 0
