"""Kappa, alpha, gold accuracy and judge agreement on small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from annotate_app.analytics import agreement
from tests.analytics_data import populate


def votes(rows: list[tuple]) -> pd.DataFrame:
    """(pair, annotator, source, choice[, p_a]) -> a votes frame; choice None means both bad."""
    frame = pd.DataFrame(
        [(*r, None)[:5] for r in rows], columns=["pair_id", "annotator", "source", "choice", "p_a"]
    )
    frame["both_bad"] = frame["choice"].isna()
    frame["judge_id"] = None
    return frame


def test_kappa_hand_computed():
    # observed agreement 7/10; chance .6*.5 + .4*.5 = .5; kappa = (.7 - .5) / (1 - .5) = .4
    x = list("aaaaaabbbb")
    y = list("aaaabbabbb")
    assert agreement.cohen_kappa(x, y) == pytest.approx(0.4)


def test_kappa_matches_sklearn_on_random_ratings():
    rng = np.random.default_rng(3)
    x = rng.choice(["a", "b", "tie"], size=200)
    y = np.where(rng.random(200) < 0.6, x, rng.choice(["a", "b", "tie"], size=200))
    assert agreement.cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y))


def test_kappa_undefined_cases_are_nan():
    assert math.isnan(agreement.cohen_kappa(["a", "a"], ["a", "a"]))
    assert math.isnan(agreement.cohen_kappa(["a"], ["b"]))
    with pytest.raises(ValueError, match="two ratings per item"):
        agreement.cohen_kappa(["a", "b"], ["a"])


def test_pairwise_kappa_uses_only_overlapping_pairs():
    frame = votes(
        [
            ("p1", "ann", "human", 2),
            ("p1", "bob", "human", 1),  # same outcome (A), different strength
            ("p2", "ann", "human", -1),
            ("p2", "bob", "human", -2),
            ("p3", "ann", "human", 1),
            ("p3", "bob", "human", -1),
            ("p4", "ann", "human", 0),
            ("p4", "bob", "human", 0),
            ("p5", "ann", "human", 1),  # bob did not label p5
            ("p1", "gold", "import", 1),  # other sources are not annotator pairs
        ]
    )
    table = agreement.pairwise_kappa(frame)
    assert table[["annotator_1", "annotator_2", "n_pairs"]].values.tolist() == [["ann", "bob", 4]]
    # ann: a b a tie; bob: a b b tie -> observed 3/4, chance (2*1 + 1*2 + 1*1)/16 = 5/16
    assert table["agreement"].iloc[0] == pytest.approx(0.75)
    assert table["kappa"].iloc[0] == pytest.approx((0.75 - 5 / 16) / (1 - 5 / 16))


def test_krippendorff_alpha_nominal_hand_computed():
    # Units: (a,a) (a,b) (b,b) (b,b). Coincidences o_ab = o_ba = 1, n_a = 3, n_b = 5, n = 8:
    # alpha = 1 - (n - 1) * (o_ab + o_ba) / (2 * n_a * n_b) = 1 - 7 * 2 / 30 = 8/15.
    frame = votes(
        [
            ("u1", "r1", "human", 1),
            ("u1", "r2", "human", 2),
            ("u2", "r1", "human", 1),
            ("u2", "r2", "human", -1),
            ("u3", "r1", "human", -1),
            ("u3", "r2", "human", -1),
            ("u4", "r1", "human", -2),
            ("u4", "r2", "human", -1),
            ("u5", "r1", "human", 1),  # a unit with one value carries no pairable information
        ]
    )
    assert agreement.krippendorff_alpha(frame) == pytest.approx(8 / 15)
    # Ordinal on the 5-point scale sees the 2-vs-1 differences: lower than perfect, above nominal.
    ordinal = agreement.krippendorff_alpha(frame, scale=True)
    assert 0 < ordinal < 1


def test_krippendorff_alpha_perfect_and_degenerate():
    perfect = votes(
        [("u1", "r1", "human", 1), ("u1", "r2", "human", 1)]
        + [
            ("u2", "r1", "human", -1),
            ("u2", "r2", "human", -1),
        ]
    )
    assert agreement.krippendorff_alpha(perfect) == pytest.approx(1.0)
    one_value = votes([("u1", "r1", "human", 1), ("u1", "r2", "human", 1)])
    assert math.isnan(agreement.krippendorff_alpha(one_value))


def test_gold_accuracy_counts_ties_as_misses():
    frame = votes(
        [
            ("g1", "import:gold", "import", 1),
            ("g2", "import:gold", "import", -1),
            ("g3", "import:gold", "import", 0),  # a tie is no gold
            ("g1", "ann", "human", 2),
            ("g2", "ann", "human", 0),
            ("g3", "ann", "human", 1),
            ("g1", "bob", "human", -1),
        ]
    )
    table = agreement.gold_accuracy(frame).set_index("annotator")
    assert table.loc["ann", ["n_gold", "correct"]].tolist() == [2, 1]
    assert table.loc["bob", "accuracy"] == 0.0


def test_judge_agreement_and_log_loss():
    frame = votes(
        [
            ("p1", "ann", "human", 1),
            ("p2", "ann", "human", -1),
            ("p3", "ann", "human", 1),
            ("p4", "ann", "human", 0),  # humans undecided: not scored
            ("p1", "j", "ai", 1, 0.8),
            ("p2", "j", "ai", -1, 0.3),
            ("p3", "j", "ai", -1, 0.4),
            ("p4", "j", "ai", 1, 0.9),
        ]
    )
    row = agreement.judge_agreement(frame).iloc[0]
    assert row["n_pairs"] == 3
    assert row["agreement"] == pytest.approx(2 / 3)
    expected = -(np.log(0.8) + np.log(0.7) + np.log(0.4)) / 3
    assert row["log_loss"] == pytest.approx(expected)
    probs = agreement.judge_probabilities(frame)
    assert probs["p_a"].tolist() == [0.8, 0.3, 0.4]
    assert probs["human_a"].tolist() == [1.0, 0.0, 1.0]


def test_agreement_summary_on_a_project(store):
    populate(store)
    summary = agreement.agreement_summary(store)
    assert summary["overlap_pairs"] == 180  # every pair has a judge vote besides a human one
    assert {(r["annotator_1"], r["annotator_2"]) for r in summary["annotator_pairs"]} == {
        ("alice", "bob"),
        ("alice", "carol"),
        ("bob", "carol"),
    }
    assert 0 < summary["krippendorff_alpha"] < 1
    assert [g["n_gold"] for g in summary["gold_accuracy"]] == [10, 7, 3]
    judge = summary["judges"][0]
    assert judge["judge"] == "judge:test" and judge["agreement"] > 0.6


def test_reference_outcomes_follow_the_one_rule():
    """The people's outcome is the sign of the mean choice: +2 -1 -1 is a tie (no reference), though
    a majority would say B; a both-bad vote takes no side."""
    frame = votes(
        [
            ("p1", "u1", "human", 2),
            ("p1", "u2", "human", -1),
            ("p1", "u3", "import", -1),
            ("p2", "u1", "human", -2),
            ("p2", "u2", "human", None),
            ("p1", "j", "ai", -1, 0.3),
            ("p2", "j", "ai", -1, 0.2),
        ]
    )
    frame.loc[frame["source"] == "ai", "judge_id"] = "j"
    rows = agreement.judge_rows(frame)
    assert rows["pair_id"].tolist() == ["p2"] and rows["hit"].tolist() == [1.0]
    table = agreement.judge_agreement(frame).iloc[0]
    assert (table["n_pairs"], table["agreement"]) == (1, 1.0)
