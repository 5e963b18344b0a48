"""The Jobs page: "Train now" starts the real training job (or says why it cannot), and Cancel stops
a running job through the job runner."""

from __future__ import annotations

import json
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.config import REPO_ROOT
from annotate_app.ingest import import_file
from annotate_app.store import Store
from annotate_app.ui import common
from tests.seed import human_answer, human_labels

PAGE = str(REPO_ROOT / "annotate_app" / "ui" / "views" / "jobs.py")


@pytest.fixture
def project(project_paths, tmp_path, monkeypatch):
    rows = [{"prompt": f"Q{i}?", "response_a": f"yes {i}", "response_b": "no"} for i in range(6)]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Store(project_paths) as store:
        import_file(store, data)
        store.upsert_annotator("boss", role="admin")
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield project_paths
    st.cache_resource.clear()


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    return at.run()


def test_train_now_explains_a_refusal_then_starts_and_cancel_stops_it(project):
    at = _page()
    at.button(key="jobs-train").click().run()
    assert "no labels" in at.warning[0].value, "nothing to train on yet"
    store = common.store()
    pair_ids = store.pairs_frame()["pair_id"]
    human_labels(
        store, [human_answer(p, "boss", 1 if i % 2 else -1) for i, p in enumerate(pair_ids)]
    )
    at.run()
    assert "6 labels arrived" in " ".join(c.value for c in at.caption)
    at.button(key="jobs-train").click().run()
    assert not at.exception
    assert "Started training job" in at.success[0].value
    job_id = store.list_jobs()["id"].iloc[0]
    at.run()
    assert at.button(key="jobs-train").disabled, "one training job at a time"
    assert at.selectbox(key="jobs-cancel-pick").value == job_id
    at.button(key="jobs-cancel").click().run()
    assert not at.exception
    deadline = time.time() + 20
    while store.get_job(job_id)["status"] not in ("cancelled", "failed", "done"):
        assert time.time() < deadline, store.get_job(job_id)
        time.sleep(0.2)
    assert store.get_job(job_id)["status"] == "cancelled"
    assert store.active_model() is None, "a cancelled training leaves no model"
