"""The Review page through AppTest: the flag queue, filters, one pair's labels, and adjudication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.ingest import import_file
from annotate_app.store import Store
from annotate_app.ui import common
from tests.seed import human_label

PAGE = str(Path(__file__).resolve().parents[1] / "annotate_app" / "ui" / "views" / "review.py")


@pytest.fixture
def project(project_paths, tmp_path, monkeypatch):
    rows = [
        {"prompt": f"How do I {verb}?", "response_a": f"Carefully {verb}.", "response_b": "No."}
        for verb in ("bake bread", "tie a knot", "fix a bike")
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Store(project_paths) as store:
        import_file(store, data)
        store.upsert_annotator("boss", role="admin")
        store.upsert_annotator("carol")
        ids = dict(zip(store.pairs_frame()["prompt"], store.pairs_frame()["pair_id"], strict=True))
        human_label(store, ids["How do I bake bread?"], "alice", 1, rationale="detailed")
        human_label(store, ids["How do I bake bread?"], "bob", -2, rationale="too long")
        store.flag_pair(ids["How do I tie a knot?"], "alice", "cant_judge", "needs a picture")
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield ids
    st.cache_resource.clear()


def _table(at: AppTest, column: str):
    """The first table with this column (AppTest does not keep a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


ADMIN = Account(name="boss", role="admin")


def _open(who: Account = ADMIN) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["account"] = who
    return at.run()


def test_review_finds_opens_and_adjudicates(project):
    ids = project
    at = _open()
    assert not at.exception and not at.error
    flags = _table(at, "reason")
    assert flags["reason"].tolist() == ["can't judge"] and flags["note"].tolist() == [
        "needs a picture"
    ]
    assert at.selectbox(key="review-open").value == ids["How do I tie a knot?"], "flagged first"

    at.toggle(key="rv-disputed").set_value(True).run()
    assert _table(at, "people_labels")["prompt"].tolist() == ["How do I bake bread?"]
    history = _table(at, "rationale")
    assert history["rationale"].tolist() == ["detailed", "too long"]
    assert history["label"].tolist() == ["A better", "B much better"]

    at.toggle(key="rv-disputed").set_value(False)
    at.text_input(key="rv-text").input("KNOT").run()
    assert at.selectbox(key="review-open").value == ids["How do I tie a knot?"]
    at.radio(key=f"rv-choice-{ids['How do I tie a knot?']}").set_value("B better")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert any("final label" in s.value for s in at.success)
    store = common.store()
    event = store.label_events().iloc[-1]
    assert (event["source"], event["annotator"], event["choice"]) == ("adjudicated", "boss", -1)
    assert store.flagged_pair_ids() == set()


def test_review_is_for_admins_only(project):
    at = _open(Account(name="carol", role="annotator"))
    assert [e.value for e in at.error] == ["This page is for admins."]
    assert not at.dataframe
