"""The one outcome rule: the pandas function and the SQL view agree, on hand cases and on random
votes; the choice scale round-trips; the view reaches files made before it existed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate_app.judge.debias import choice_from_p_a
from annotate_app.labels import scale
from annotate_app.labels.consensus import pair_consensus
from annotate_app.labels.outcome import file_outcomes, pair_outcomes
from annotate_app.labels.sources import HUMAN_SOURCES, PEOPLE, SOURCES, Source
from annotate_app.store import Store
from annotate_app.store.client_answers import PageAnswer
from annotate_app.store.db import connect, migrate
from tests.seed import adjudicated_label, human_answer, human_labels, imported_labels, judge_labels
from tests.test_store import add_pairs


def _votes(rows: list[tuple]) -> pd.DataFrame:
    """(pair, annotator, source, choice) rows; choice None is a both-bad vote."""
    frame = pd.DataFrame(rows, columns=["pair_id", "annotator", "source", "choice"])
    frame["both_bad"] = frame["choice"].isna()
    return frame


HAND = _votes(
    [
        ("p_a", "x", "human", 2),  # +2 -1 -1: the mean is 0, a tie; the majority says B
        ("p_a", "y", "human", -1),
        ("p_a", "z", "human", -1),
        ("p_b", "x", "human", -2),
        ("p_b", "y", "human", None),  # both bad takes no side
        ("p_bad", "x", "human", None),
        ("p_one", "x", "human", 1),
    ]
)


def test_the_rule_on_hand_cases():
    got = pair_outcomes(HAND).set_index("pair_id")
    assert got["outcome"].to_dict() == {"p_a": "tie", "p_b": "b", "p_bad": "both_bad", "p_one": "a"}
    assert got.loc["p_b", ["n_labels", "n_both_bad", "mean_choice", "strength"]].tolist() == [
        2,
        1,
        -2.0,
        2.0,
    ]
    assert got["target"].to_dict() == pytest.approx(
        {"p_a": 0.5, "p_b": 0.0, "p_bad": np.nan, "p_one": 1.0}, nan_ok=True
    )
    majority = pair_outcomes(HAND, "majority").set_index("pair_id")["outcome"]
    assert majority.to_dict() == {"p_a": "b", "p_b": "b", "p_bad": "both_bad", "p_one": "a"}
    with pytest.raises(ValueError, match="unknown outcome method"):
        pair_outcomes(HAND, "vote")  # type: ignore[arg-type]


def test_consensus_decides_by_the_same_rule():
    votes = HAND.assign(source=HAND["source"].fillna("human"))
    for method in ("mean", "majority"):
        rule = pair_outcomes(votes, method).set_index("pair_id")["outcome"]
        consensus = pair_consensus(votes, method).set_index("pair_id")["outcome"]
        assert consensus.to_dict() == rule.to_dict()


def test_file_outcomes_for_a_simulation():
    labels = pd.DataFrame({"pair_id": ["p", "p", "q", "r"], "choice": [1, -1, 1, -1]})
    got = file_outcomes(labels).set_index("pair_id")
    assert got["outcome"].to_dict() == {"p": "tie", "q": "a", "r": "b"}
    assert got["target"].to_dict() == {"p": 0.5, "q": 1.0, "r": 0.0}


def test_sql_view_and_python_agree_on_random_votes(store: Store):
    rng = np.random.default_rng(7)
    pairs = add_pairs(store, 40)
    rows = []
    people: list[PageAnswer] = []
    gold: dict[str, dict[str, bool]] = {}  # per imported file: pair -> A chosen
    judged: dict[str, dict[str, float]] = {}  # per judge: pair -> p_a
    for pair in pairs:
        for k in range(int(rng.integers(1, 6))):
            source = str(rng.choice(["human", "human", "import", "ai", "adjudicated"]))
            both_bad = bool(rng.random() < 0.15)
            choice = None if both_bad else int(rng.integers(-2, 3))
            if source == "human":
                people.append(human_answer(pair, f"human-{k}", choice, both_bad=both_bad))
                annotator = f"human-{k}"
            elif source == "import":  # a chosen/rejected file decides every pair it holds
                choice = 1 if rng.random() < 0.5 else -1
                gold.setdefault(f"gold-{k}.jsonl", {})[pair] = choice > 0
                annotator = f"import:gold-{k}.jsonl"
            elif source == "ai":  # a judge gives a probability, and never both-bad
                p_a = float(rng.choice([0.05, 0.3, 0.5, 0.7, 0.95]))
                choice = choice_from_p_a(p_a)
                judged.setdefault(f"ai-{k}", {})[pair] = p_a
                annotator = f"ai-{k}"
            else:
                adjudicated_label(store, pair, f"adjudicated-{k}", choice, both_bad=both_bad)
                annotator = f"adjudicated-{k}"
            rows.append((pair, annotator, source, choice))
    human_labels(store, people)
    for file, a_wins in gold.items():
        imported_labels(store, a_wins, file)
    for judge_id, p_a in judged.items():
        judge_labels(store, judge_id, p_a)
    votes = _votes(rows)
    with store.cursor() as cur:
        view = cur.execute("SELECT * FROM pair_outcomes").df()
    columns = ["n_labels", "n_both_bad", "n_a", "n_b", "n_tie", "outcome"]
    for voters in (*SOURCES, PEOPLE):
        chosen = votes[votes["source"].isin(HUMAN_SOURCES if voters == PEOPLE else (voters,))]
        python = pair_outcomes(chosen).set_index("pair_id").sort_index()
        sql = view[view["voters"] == voters].set_index("pair_id").sort_index()
        assert len(python) and list(python.index) == list(sql.index), voters
        assert python[columns].astype(str).equals(sql[columns].astype(str)), voters
        assert np.allclose(python["mean_choice"], sql["mean_choice"], equal_nan=True)
        assert np.allclose(python["strength"], sql["strength"], equal_nan=True)


def test_the_view_reaches_a_file_made_before_it(tmp_path):
    path = tmp_path / "old.duckdb"
    con = connect(path)
    migrate(con, upto="0007_review")
    con.execute(
        "INSERT INTO label_events (pair_id, annotator, source, kind, choice) "
        "VALUES ('p1', 'alice', 'human', 'label', 2), ('p1', 'gold', 'import', 'label', -1)"
    )
    con.close()
    with Store(path) as store, store.cursor() as cur:
        rows = cur.execute(
            "SELECT voters, outcome, mean_choice FROM pair_outcomes ORDER BY voters"
        ).fetchall()
        by_source = cur.execute(
            "SELECT source, outcome FROM pair_labels ORDER BY source"
        ).fetchall()
    assert rows == [("human", "a", 2.0), ("import", "b", -1.0), ("people", "a", 0.5)]
    assert by_source == [("human", "a"), ("import", "b")]


def test_the_choice_scale():
    assert [c.key for c in scale.SCALE] == ["1", "2", "3", "4", "5", "6"]
    assert scale.CHOICE_VALUES == (2, 1, 0, -1, -2)
    for shown in scale.CHOICE_VALUES:
        assert scale.stored_choice(shown, "a") == shown
        assert scale.stored_choice(scale.stored_choice(shown, "b"), "b") == shown
    assert scale.stored_choice(2, "b") == -2
    assert [c.both_bad for c in scale.SCALE] == [False] * 5 + [True]


def test_sources_are_one_set():
    assert SOURCES == ("human", "ai", "import", "adjudicated")
    assert Source.AI not in HUMAN_SOURCES and set(HUMAN_SOURCES) < set(SOURCES)
