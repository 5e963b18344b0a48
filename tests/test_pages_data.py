"""The Data page: counts refresh after an import, a re-import says "already present", and the export
keeps judge verdicts out until every judge has been measured against people."""

from __future__ import annotations

import io
import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.config import REPO_ROOT
from annotate_app.store import Store
from tests.analytics_data import register_version
from tests.seed import human_answer, human_label, human_labels, judge_labels

PAGE = str(REPO_ROOT / "annotate_app" / "ui" / "views" / "data.py")
ROWS = [{"prompt": f"Q{i}?", "response_a": f"yes {i}", "response_b": f"no {i}"} for i in range(3)]
FILE = "".join(json.dumps(r) + "\n" for r in ROWS).encode()


@pytest.fixture
def project(project_paths, monkeypatch):
    with Store(project_paths) as store:
        store.upsert_annotator("boss", role="admin")
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield project_paths
    st.cache_resource.clear()


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    return at.run()


def _import(at: AppTest) -> AppTest:
    at.file_uploader[0].upload("pairs.jsonl", FILE).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    return at


def test_counts_refresh_and_a_reimport_is_already_present(project):
    at = _page()
    assert at.caption[0].value.startswith("0 prompts")
    _import(at)
    assert at.caption[0].value.startswith("3 prompts"), "the counts include the new rows"
    assert "added" in at.success[0].value
    _import(at)
    assert not [s.value for s in at.success if "added" in s.value]
    assert any(i.value.startswith("Already present") for i in at.info)


def test_export_defaults_to_people_and_waits_for_a_measured_judge(project):
    from annotate_app.ui import common

    at = _page()
    _import(at)
    store = common.store()
    ids = store.pairs_frame()["pair_id"].tolist()
    human_label(store, ids[0], "alice", 1)
    judge_labels(store, "judge:x", dict.fromkeys(ids, 0.8))
    at.run()
    assert at.toggle(key="data-export-ai").disabled, "judge:x was measured on 1 pair only"
    assert any("judge:x has not been measured" in c.value for c in at.caption)
    assert any(c.value.startswith("1 preference rows") for c in at.caption)
    at.button(key="data-export-prepare").click().run()
    download = at.get("download_button")[0]
    assert download.proto.label == "Download preferences.jsonl"
    rows = [json.loads(line) for line in io.StringIO(store_export(store))]
    assert [r["pair_id"] for r in rows] == [ids[0]] and rows[0]["source"] == "human"


def store_export(store) -> str:
    from annotate_app.export.options import ExportOptions
    from annotate_app.export.preferences import export_bytes

    data, _ = export_bytes(store, "dpo-jsonl", ExportOptions(source="people"))
    return data.decode()


def test_every_download_is_here_and_the_vote_rules_reach_the_export(project):
    """The page is the one home of the downloads: dataset (with the aggregation options), audit
    log and reward model."""
    from annotate_app.ui import common

    at = _page()
    _import(at)
    store = common.store()
    first = store.pairs_frame()["pair_id"].tolist()[0]
    votes = (("alice", 1), ("bob", 1), ("carol", -1))  # two of three side with the decision
    human_labels(store, [human_answer(first, name, choice) for name, choice in votes])
    at.run()
    assert any(c.value.startswith("1 preference rows") for c in at.caption)
    at.slider(key="data-export-agree").set_value(0.75).run()
    assert any(c.value.startswith("0 preference rows") for c in at.caption), [
        c.value for c in at.caption
    ]
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download audit log (every label event)" in labels
    assert any("No reward model trained yet" in c.value for c in at.caption)
    at.selectbox(key="data-export-fmt").set_value("battles").run()
    assert not at.exception
    at.button(key="data-export-prepare").click().run()
    assert "Download battles.json" in [b.proto.label for b in at.get("download_button")]


def test_the_model_download_is_prepared_by_a_job(project, tmp_path):
    from annotate_app.export.model import EXPORT_MODEL
    from annotate_app.ui import common

    folder = tmp_path / "rm"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    store = common.store()
    register_version(store, "rm-1", str(folder))
    at = _page()
    assert not [b for b in at.get("download_button") if "reward model" in b.proto.label]
    at.button(key="data-model-prepare").click().run()
    assert not at.exception, at.exception
    job = store.latest_job(EXPORT_MODEL, "version", "rm-1")
    assert job is not None, "the click started a job"
    common.services().runner.wait(job["id"])
    at.run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download reward model (Hugging Face folder, zipped)" in labels, labels
