"""Bradley-Terry ratings: a hand-computed case, agreement with choix, and the project pipeline."""

from __future__ import annotations

import json
import math

import choix
import numpy as np
import pandas as pd
import pytest

from annotate_app.analytics.leaderboard import (
    ELO_SCALE,
    Leaderboard,
    LeaderboardConfig,
    fit_bradley_terry,
    human_position_bias,
    judge_position_bias,
    leaderboard,
    rate_models,
    win_rate_matrix,
)
from annotate_app.cli import main
from tests.analytics_data import TRUE_STRENGTH, populate
from tests.seed import human_answer, human_labels


def battles(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_a", "model_b", "wins_a", "wins_b", "ties"])


def test_two_models_hand_computed():
    # x beats y 2 times, loses 0, ties 2 -> 3 wins to 1 as halves: P(x > y) = 3/4,
    # so the log-odds gap is ln 3 and the Elo gap 400 * log10(3).
    table = rate_models(battles([("x", "y", 2, 0, 2)]), rounds=0).set_index("model")
    gap = table.loc["x", "rating"] - table.loc["y", "rating"]
    assert gap == pytest.approx(400 * math.log10(3), abs=1e-3)
    assert table.loc["x", "rating"] + table.loc["y", "rating"] == pytest.approx(2000)
    assert table.loc["x", ["battles", "wins", "losses", "ties"]].tolist() == [4, 2, 0, 2]


def test_three_models_in_a_consistent_chain():
    # With P(a>b) = 2/3 from 2:1, P(b>c) = 2/3 from 2:1 and a-c never met, the MLE
    # puts each gap at ln 2 (the only comparisons), so a-c is 2 ln 2.
    theta = fit_bradley_terry(
        3, np.array([0, 1]), np.array([1, 2]), np.array([2.0, 2.0]), np.array([1.0, 1.0]), 1e-9
    )[0]
    assert theta[0] - theta[1] == pytest.approx(math.log(2), abs=1e-6)
    assert theta[1] - theta[2] == pytest.approx(math.log(2), abs=1e-6)


def test_undefeated_models_are_flagged():
    ratings = rate_models(battles([("x", "y", 5, 0, 0), ("y", "z", 2, 1, 1)]), rounds=0)
    board = Leaderboard(ratings, pd.DataFrame(), pd.DataFrame(), {}, {})
    assert "x never lost: its rating is a lower bound" in board.notes()
    assert np.isfinite(ratings["rating"]).all()


def test_few_battles_are_marked_provisional():
    """An Elo in the thousands from 5 battles must not stand without a warning."""
    ratings = rate_models(
        battles([("x", "y", 5, 0, 0), ("y", "z", 40, 40, 0)]), rounds=50, min_battles=30
    ).set_index("model")
    assert ratings["few_battles"].to_dict() == {"x": True, "y": False, "z": False}
    board = Leaderboard(ratings.reset_index(), pd.DataFrame(), pd.DataFrame(), {}, {})
    assert "x has only 5 battles: its rating is provisional" in board.notes()
    assert not any(n.startswith(("y ", "z ")) for n in board.notes())


def test_rank_follows_the_arena_rule():
    # a is clearly best; b and c are indistinguishable, so they share rank 2; d is clearly last.
    frame = battles(
        [
            ("a", "b", 90, 10, 0),
            ("a", "c", 90, 10, 0),
            ("b", "c", 50, 50, 0),
            ("b", "d", 90, 10, 0),
            ("c", "d", 90, 10, 0),
        ]
    )
    table = rate_models(frame, rounds=200).set_index("model")
    assert table["rank"].to_dict() == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert table.loc["b", "rank_worst"] == 3 and table.loc["a", "rank_worst"] == 1
    # the rule by hand: 1 + models whose lower bound is above this model's upper bound
    for model, row in table.iterrows():
        above = (table["ci_low"] > row["ci_high"]).sum()
        assert row["rank"] == 1 + above, model
    assert not table["unranked"].any()


def test_an_interval_too_wide_to_rank_says_so():
    frame = battles([("a", "b", 60, 20, 0), ("b", "c", 60, 20, 0), ("c", "w", 1, 1, 0)])
    table = rate_models(frame, rounds=200).set_index("model")
    assert table.loc["w", "unranked"] and table.loc["w", "rank"] == 1
    assert table.loc["w", "rank_worst"] == 4
    board = Leaderboard(table.reset_index(), pd.DataFrame(), pd.DataFrame(), {}, {})
    assert any(n.startswith("w: its 95% interval") and "too wide" in n for n in board.notes())


def test_matches_choix_on_the_same_comparisons():
    rng = np.random.default_rng(7)
    n = 6
    truth = rng.normal(size=n)
    rows, data = [], []
    for _ in range(3000):
        i, j = rng.choice(n, size=2, replace=False)
        p = 1 / (1 + math.exp(-(truth[i] - truth[j])))
        u = rng.random()
        if u < 0.1:  # a tie: half a win each way, which choix sees as one win each way
            rows.append((i, j, 0, 0, 1))
            data += [(i, j), (j, i)]
        elif u < 0.1 + 0.9 * p:
            rows.append((i, j, 1, 0, 0))
            data += [(i, j), (i, j)]
        else:
            rows.append((i, j, 0, 1, 0))
            data += [(j, i), (j, i)]
    frame = battles([(f"m{i}", f"m{j}", a, b, t) for i, j, a, b, t in rows])
    frame = frame.groupby(["model_a", "model_b"], as_index=False).sum()
    ours = rate_models(frame, rounds=0).set_index("model")["rating"]
    ours = (ours.reindex([f"m{k}" for k in range(n)]).to_numpy() - 1000) / ELO_SCALE
    for reference in (choix.ilsr_pairwise(n, data), choix.opt_pairwise(n, data, alpha=1e-9)):
        reference = reference - reference.mean()
        assert np.allclose(ours, reference, atol=1e-4), (ours, reference)


def test_bootstrap_interval_brackets_the_estimate_and_shrinks_with_data():
    small = rate_models(battles([("x", "y", 6, 3, 1)]), rounds=300).set_index("model")
    large = rate_models(battles([("x", "y", 60, 30, 10)]), rounds=300).set_index("model")
    for table in (small, large):
        assert (table["ci_low"] <= table["rating"]).all()
        assert (table["rating"] <= table["ci_high"]).all()
    width = lambda t: (t["ci_high"] - t["ci_low"]).loc["x"]  # noqa: E731
    assert width(large) < width(small) / 2


def test_win_rate_matrix_is_complementary():
    rate = win_rate_matrix(battles([("x", "y", 3, 1, 0), ("y", "z", 1, 1, 2), ("x", "y", 0, 1, 1)]))
    assert rate.loc["x", "y"] == pytest.approx(3.5 / 6)
    assert rate.loc["y", "x"] == pytest.approx(2.5 / 6)
    assert rate.loc["y", "z"] == pytest.approx(0.5)
    assert math.isnan(rate.loc["x", "z"])


def test_position_bias_estimates():
    counts = pd.DataFrame(
        {"annotator": ["a", "b"], "left_wins": [3, 3], "right_wins": [1, 3], "ties": [2, 0]}
    )
    bias = human_position_bias(counts)
    assert bias["left_win_rate"] == pytest.approx(0.6)
    assert bias["n"] == 10 and bias["ties"] == 2
    assert bias["annotators"]["a"]["left_win_rate"] == pytest.approx(0.75)
    verdicts = pd.DataFrame(
        {
            "judge": ["j", "j", "k"],
            "metadata": [
                json.dumps({"p_ab": 0.9, "p_ba": 0.7}),
                json.dumps({"p_ab": 0.6, "p_ba": 0.8}),
                None,  # no raw readings: left out
            ],
        }
    )
    judge = judge_position_bias(verdicts)
    assert list(judge) == ["j"]
    assert judge["j"]["first_position_rate"] == pytest.approx(0.75)


def test_project_leaderboard_recovers_the_true_order(store):
    populate(store)
    board = leaderboard(store, LeaderboardConfig(bootstrap_rounds=100))
    by_truth = sorted(TRUE_STRENGTH, key=TRUE_STRENGTH.get, reverse=True)
    assert list(board.ratings["model"]) == by_truth
    # every vote between two models is one battle: 360 human + 180 judge + 10 gold
    assert board.ratings["battles"].sum() == 2 * 550
    human = leaderboard(store, LeaderboardConfig(source="human", bootstrap_rounds=0))
    assert human.ratings["battles"].sum() == 2 * 360
    # the simulated annotators click the left response 20% of the time, the judge leans first
    assert human.human_position["ci_low"] > 0.5
    assert board.judge_position["judge:test"]["first_position_rate"] > 0.55


def test_leaderboard_cli_json(store, project_paths, capsys):
    populate(store)
    store.close()
    assert main(["--db", str(project_paths.db), "leaderboard", "--json", "--rounds", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["ratings"]][0] == "atlas-70b"
    first = out["ratings"][0]
    assert {"rank", "rank_worst", "few_battles", "unranked"} <= set(first)
    assert first["few_battles"] == (first["battles"] < 30)
    assert out["win_rate"]["atlas-70b"]["drift-1b"] > 0.5
    assert main(["--db", str(project_paths.db), "leaderboard", "--source", "ai"]) == 0
    assert "judge judge:test position bias" in capsys.readouterr().out


def _leaderboard_page() -> None:
    from annotate_app.ui.views.leaderboard import render

    render()


def test_page_warns_about_a_rating_from_few_battles(store, project_paths, tmp_path, monkeypatch):
    """A newcomer that won all of its 5 battles tops the table; the page says it is provisional."""
    from streamlit.testing.v1 import AppTest

    from annotate_app.accounts.auth import Account
    from annotate_app.ingest import import_file
    from annotate_app.ui import common

    populate(store)
    rows = [
        {
            "prompt": f"new {i}",
            "response_a": f"z{i}",
            "response_b": f"a{i}",
            "model_a": "zeta-1b",
            "model_b": "atlas-70b",
        }
        for i in range(5)
    ]
    path = tmp_path / "new.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, path)
    frame = store.pairs_frame()
    new = frame[frame["prompt"].str.startswith("new ")]
    human_labels(
        store,
        [
            human_answer(pair.pair_id, "alice", 2 if pair.model_a == "zeta-1b" else -2)
            for pair in new.itertuples()
        ],
    )
    store.upsert_annotator("boss", role="admin")
    store.close()
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    common.store()
    at = AppTest.from_function(_leaderboard_page, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["zeta-1b", "few_battles"] and table.loc["zeta-1b", "battles"] == 5
    assert not table.loc["atlas-70b", "few_battles"]
    warnings = [w.value for w in at.warning]
    assert "zeta-1b has only 5 battles: its rating is provisional" in warnings
    assert any("Chatbot Arena" in c.value for c in at.caption)
