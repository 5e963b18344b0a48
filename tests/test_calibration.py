"""Judge calibration against human labels, on a real project file with stored verdicts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from annotate_app.analytics.calibration import (
    CalibrationConfig,
    agreement_by,
    fit_calibration,
    judge_metrics,
    judge_report,
    latest_calibration_map,
    refit_calibration,
    reliability_curve,
)
from annotate_app.ingest import ImportOptions, import_file
from annotate_app.judge.debias import choice_from_p_a

JUDGE = "openai:test@http://x"


def add_verdicts(store, p_by_pair: dict[str, float], consistent: bool = True) -> None:
    frame = pd.DataFrame(
        {
            "pair_id": list(p_by_pair),
            "judge_id": JUDGE,
            "choice": [choice_from_p_a(p) for p in p_by_pair.values()],
            "p_a": list(p_by_pair.values()),
            "rationale": None,
            "latency_ms": 5,
            "metadata": json.dumps({"consistent": consistent}),
        }
    )
    store.add_judge_verdicts(frame)


@pytest.fixture
def gold(store, demo_dir):
    import_file(store, demo_dir / "gold.jsonl", ImportOptions())
    labels = store.current_labels("import").set_index("pair_id")["choice"]
    return store, labels


def test_metrics_on_stored_verdicts(gold):
    store, labels = gold
    # right with confidence on 8 pairs, wrong on 2
    p = {pid: (0.8 if c > 0 else 0.2) for pid, c in labels.items()}
    wrong = list(p)[:2]
    for pid in wrong:
        p[pid] = 1 - p[pid]
    add_verdicts(store, p)
    add_verdicts(store, {pid: 0.5 for pid in p})  # a second run adds nothing: idempotent
    m = judge_report(store)[JUDGE]
    y = (labels > 0).astype(int)
    judge_a = np.array([int(p[pid] > 0.5) for pid in labels.index])
    assert m["n"] == 10 and m["agreement"] == pytest.approx(0.8)
    assert m["kappa"] == pytest.approx(cohen_kappa_score(y, judge_a))
    expected_ll = -np.mean([np.log(0.8)] * 8 + [np.log(0.2)] * 2)
    assert m["log_loss"] == pytest.approx(expected_ll)
    # two occupied bins (p = 0.2 and p = 0.8): ECE = sum_b n_b/n * |p_b - share of A wins in b|
    pv = np.array([p[pid] for pid in labels.index])
    ece = sum((pv == b).sum() / 10 * abs(b - y[pv == b].mean()) for b in (0.2, 0.8))
    assert m["ece"] == pytest.approx(ece) and m["consistency_rate"] == 1.0
    lo, hi = m["agreement_ci95"]
    assert lo < 0.8 < hi
    ann = store.label_events().query("source == 'ai'")
    assert len(ann) == 10 and set(ann["annotator"]) == {JUDGE}


def test_reliability_curve_and_ece():
    p = np.array([0.1, 0.1, 0.9, 0.9, 0.9, 0.9])
    y = np.array([0, 0, 1, 1, 1, 0])
    curve = reliability_curve(p, y, n_bins=10)
    assert curve["count"].tolist() == [2, 4]
    assert curve["frac_a"].tolist() == pytest.approx([0.0, 0.75])
    frame = pd.DataFrame(
        {"p_a": p, "human_mean_choice": np.where(y == 1, 1.0, -1.0), "consistent": True}
    )
    m = judge_metrics(frame)
    assert m["ece"] == pytest.approx((2 * 0.1 + 4 * 0.15) / 6)


def test_fits_are_monotone_and_versioned(gold):
    store, labels = gold
    rng = np.random.default_rng(0)
    p = {
        pid: float(np.clip((0.7 if c > 0 else 0.3) + rng.normal(0, 0.1), 0, 1))
        for pid, c in labels.items()
    }
    add_verdicts(store, p)
    assert refit_calibration(store, JUDGE, "isotonic") == 1
    assert refit_calibration(store, JUDGE, "platt") == 2
    cmap = latest_calibration_map(store, JUDGE)
    assert cmap.method == "platt"
    grid = np.linspace(0.05, 0.95, 19)
    assert np.all(np.diff(cmap.p_human_a(grid)) >= 0)
    assert cmap.params["coef"] > 0  # the judge's p_a carries the human signal here
    assert np.all(cmap.p_agree(grid) >= 0) and np.all(cmap.p_agree(grid) <= 1)
    assert store.judge_calibrations(JUDGE)["version"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="at least 50"):
        refit_calibration(store, JUDGE, "isotonic", CalibrationConfig(min_pairs=50))


def test_isotonic_fit_recovers_the_frequencies():
    p = np.repeat([0.2, 0.6, 0.9], 10)
    y = np.array([0] * 8 + [1] * 2 + [0] * 5 + [1] * 5 + [0] * 1 + [1] * 9)
    cmap = fit_calibration(p, y, "isotonic")
    assert cmap.p_human_a([0.2, 0.6, 0.9]) == pytest.approx([0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="both sides"):
        fit_calibration(p, np.ones_like(y))


def test_agreement_by_length_and_category():
    frame = pd.DataFrame(
        {
            "judge_id": "j",
            "p_a": [0.9, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9, 0.9],
            "human_mean_choice": [1, 1, -1, 1, 1, -1, -1, -1],
            "prompt_chars": [10, 20, 30, 40, 50, 60, 70, 80],
            "category": ["x", "x", "x", "x", "y", "y", "y", "y"],
            "consistent": True,
        }
    )
    by_cat = agreement_by(frame, "category").set_index("category")
    assert by_cat.loc["x", "agreement"] == 0.75 and by_cat.loc["y", "agreement"] == 0.5
    by_len = agreement_by(frame, "prompt_chars")
    assert by_len["n"].sum() == 8 and len(by_len) == 4
