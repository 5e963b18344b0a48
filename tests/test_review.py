"""Review: listing and filtering pairs, one pair's history, adjudication that the export uses, and
flags that keep a pair out of the export until resolved."""

from __future__ import annotations

import json

import pytest

from annotate_app.export.battles import battle_records
from annotate_app.export.options import ExportOptions
from annotate_app.export.preferences import preference_rows
from annotate_app.ingest import import_file
from annotate_app.store.review import ReviewFilter
from tests.seed import human_answer, human_labels, judge_label


@pytest.fixture
def reviewed(store, tmp_path):
    rows = [
        {
            "prompt": f"Question {i}: {'tea' if i % 2 else 'coffee'}?",
            "response_a": f"short {i}",
            "response_b": f"long answer {i}",
            "model_a": "atlas",
            "model_b": "drift" if i < 2 else "breeze",
        }
        for i in range(4)
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, data)
    ids = dict(zip(store.pairs_frame()["prompt"], store.pairs_frame()["pair_id"], strict=True))
    p = [ids[r["prompt"]] for r in rows]
    human_labels(
        store,
        [
            human_answer(p[0], "alice", 2, rationale="clearer"),  # disputed by bob
            human_answer(p[0], "bob", -1),
            human_answer(p[1], "alice", 1),  # the judge disagrees
        ],
    )
    judge_label(store, p[1], "judge:x", 0.2, rationale="B is safer")
    judge_label(store, p[2], "judge:x", 0.8, rationale="A")
    return store, p


def test_filters_find_pairs_by_text_model_source_state_and_dispute(reviewed):
    store, p = reviewed
    everything = store.review_pairs()
    assert len(everything) == 4
    assert set(everything.loc[everything["disputed"], "pair_id"]) == {p[0], p[1]}
    assert set(store.review_pairs(ReviewFilter(text="TEA"))["pair_id"]) == {p[1], p[3]}
    assert set(store.review_pairs(ReviewFilter(model="drift"))["pair_id"]) == {p[0], p[1]}
    assert set(store.review_pairs(ReviewFilter(source="ai"))["pair_id"]) == {p[1], p[2]}
    assert set(store.review_pairs(ReviewFilter(state="judge only"))["pair_id"]) == {p[2]}
    assert set(store.review_pairs(ReviewFilter(state="unlabeled"))["pair_id"]) == {p[3]}
    assert set(store.review_pairs(ReviewFilter(disputed=True))["pair_id"]) == {p[0], p[1]}
    with pytest.raises(ValueError, match="label state"):
        store.review_pairs(ReviewFilter(state="odd"))  # type: ignore[arg-type]
    history = store.pair_label_history(p[1])
    assert list(history["source"]) == ["human", "ai"]
    assert history["rationale"].tolist()[1] == "[AB] B is safer"  # the A-first reading's


def test_adjudication_settles_the_export_and_flags_hold_pairs_back(reviewed):
    store, p = reviewed
    people = ExportOptions(source="people")
    rows = preference_rows(store, people).frame()
    assert p[0] in set(rows["pair_id"]), "alice's +2 and bob's -1 average to A"
    assert p[0] in {b["question_id"] for b in battle_records(store, "people")}
    store.flag_pair(p[0], "carol", "unsafe", "insults the user")
    assert p[0] not in {b["question_id"] for b in battle_records(store, "people")}
    rows = preference_rows(store, people)
    assert p[0] not in set(rows.frame()["pair_id"]) and rows.dropped["flagged"] == 1
    assert store.review_pairs(ReviewFilter(flagged=True))["pair_id"].tolist() == [p[0]]
    assert store.review_pairs()["pair_id"].iloc[0] == p[0], "flagged pairs lead the list"

    store.adjudicate(p[0], "boss", choice=-2, rationale="B is the safe answer")
    assert store.flagged_pair_ids() == set(), "adjudicating resolves the pair's flags"
    row = preference_rows(store, people).frame().set_index("pair_id").loc[p[0]]
    assert row["chosen"] == "long answer 0", "the adjudicated label decides the pair"
    assert row["source"] == "adjudicated" and row["n_labels"] == 1
    listed = store.review_pairs(ReviewFilter(state="adjudicated"))
    assert listed["pair_id"].tolist() == [p[0]] and listed["adjudicated"].item() == "b"
    assert store.label_events()["source"].tolist().count("human") == 3, "nothing is rewritten"
    with pytest.raises(ValueError, match="needs a choice"):
        store.adjudicate(p[1], "boss", choice=None)
