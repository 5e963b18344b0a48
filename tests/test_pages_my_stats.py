"""My stats: gold accuracy, agreement with the others (leave-one-out), speed and streak by day, on
known labels; and the figure functions behind them."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.analytics.annotator import agreement_with_others, labels_by_day, streak
from annotate_app.config import REPO_ROOT
from annotate_app.ingest import import_file
from annotate_app.store import Store
from tests.seed import human_answer, human_labels

PAGE = str(REPO_ROOT / "annotate_app" / "ui" / "views" / "my_stats.py")


def _votes(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"pair_id": p, "annotator": a, "source": s, "choice": c, "both_bad": False}
            for p, a, s, c in rows
        ]
    )


def test_agreement_with_others_leaves_the_annotator_out():
    votes = _votes(
        [
            ("p1", "alice", "human", 2),
            ("p1", "bob", "human", 1),  # match
            ("p2", "alice", "human", 1),
            ("p2", "bob", "human", -1),
            ("p2", "gold", "import", -2),  # others say B: a miss
            ("p3", "alice", "human", 0),
            ("p3", "bob", "human", 1),  # alice's tie on a decided pair is a miss
            ("p4", "alice", "human", 1),
            ("p4", "bob", "human", 0),  # others tied: not scored
            ("p5", "bob", "human", 1),  # alice not on it
        ]
    )
    got = agreement_with_others(votes, "alice")
    assert (got.n_pairs, got.matched) == (3, 1) and got.ci_low < 1 / 3 < got.ci_high
    assert agreement_with_others(votes, "nobody").rate is None


def test_days_and_streak():
    events = pd.DataFrame(
        {
            "kind": ["label", "label", "skip", "label"],
            "latency_ms": [2000, 4000, 1000, 3000],
            "created_at": pd.to_datetime(
                ["2026-11-29 10:00", "2026-11-29 11:00", "2026-11-30 09:00", "2026-11-30 12:00"]
            ),
        }
    )
    days = labels_by_day(events)
    assert days["labels"].tolist() == [2, 1] and days["median_seconds"].tolist() == [3.0, 3.0]
    assert streak(days["day"], dt.date(2026, 11, 30)) == 2
    assert streak(days["day"], dt.date(2026, 12, 1)) == 2, "today's first label is still to come"
    assert streak(days["day"], dt.date(2026, 12, 2)) == 0


@pytest.fixture
def project(project_paths, tmp_path, monkeypatch):
    rows = [
        {"prompt": f"Q{i}?", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(2)
    ] + [{"prompt": f"R{i}?", "response_a": f"x {i}", "response_b": f"y {i}"} for i in range(2)]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]), encoding="utf-8")
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps(r) + "\n" for r in rows[2:]), encoding="utf-8")
    with Store(project_paths) as store:
        import_file(store, gold)
        import_file(store, plain)
        store.upsert_annotator("alice")
        pairs = store.pairs_frame()
        truth = store.label_events().set_index("pair_id")["choice"]
        answers = []
        for pair_id in pairs["pair_id"]:
            if pair_id in truth.index:  # alice gets one gold pair right, one wrong
                right = pair_id == sorted(truth.index)[0]
                answers.append(
                    human_answer(pair_id, "alice", int(truth[pair_id]) * (1 if right else -1))
                )
            else:
                answers.append(human_answer(pair_id, "alice", 1, latency_ms=6000))
                answers.append(human_answer(pair_id, "bob", 1))
        human_labels(store, answers)
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield project_paths
    st.cache_resource.clear()


def test_my_stats_page_shows_my_figures(project):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["account"] = Account(name="alice", role="annotator")
    at.run()
    assert not at.exception and not at.error
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Gold accuracy"] == "50%"
    assert tiles["Agreement with others"] == "75%", "2 of 2 with bob, 1 of 2 against gold"
    assert tiles["Streak"] == "1 days" and tiles["Labeled in total"] == "4"
    assert [s.value for s in at.subheader] == ["Labels per day", "Speed over time"]
