"""Judge calibration against human labels, on a real project file with stored verdicts."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from annotate_app.analytics import agreement
from annotate_app.analytics.calibration import (
    CalibrationConfig,
    agreement_by,
    fit_calibration,
    judge_report,
    latest_calibrations,
    refit_calibration,
    refresh_calibrations,
    reliability_curve,
)
from annotate_app.ingest import ImportOptions, import_file
from tests.seed import judge_labels

JUDGE = "openai:test@http://x"


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
    judge_labels(store, JUDGE, p)
    judge_labels(store, JUDGE, {pid: 0.5 for pid in p})  # a second run adds nothing: idempotent
    m = judge_report(store)[JUDGE]
    y = (labels > 0).astype(int)
    judge_a = np.array([int(p[pid] > 0.5) for pid in labels.index])
    assert m["n"] == 10 and m["agreement"] == pytest.approx(0.8)
    assert m["kappa"] == pytest.approx(cohen_kappa_score(y, judge_a))
    expected_ll = -np.mean([np.log(0.8)] * 8 + [np.log(0.2)] * 2)
    assert m["log_loss"] == pytest.approx(expected_ll)
    # every verdict is 0.8 sure of its side and 8 of 10 are right: calibrated, ECE 0
    assert m["ece"] == pytest.approx(0.0) and m["consistency_rate"] == 1.0
    assert m["n_verdicts"] == 10
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
    rows = [(f"p{i}", "ann", "human", 1 if yi else -1, None) for i, yi in enumerate(y)]
    rows += [(f"p{i}", "j", "ai", 1 if pi > 0.5 else -1, pi) for i, pi in enumerate(p)]
    votes = pd.DataFrame(rows, columns=["pair_id", "annotator", "source", "choice", "p_a"])
    votes["both_bad"] = False
    votes["judge_id"] = votes["annotator"].where(votes["source"] == "ai")
    # the one ECE: every verdict is 0.9 sure of its side, 5 of 6 are right
    ece = agreement.judge_agreement(votes).iloc[0]["ece"]
    assert ece == pytest.approx(0.9 - 5 / 6)


def test_fits_are_monotone_and_versioned(gold):
    store, labels = gold
    rng = np.random.default_rng(0)
    p = {
        pid: float(np.clip((0.7 if c > 0 else 0.3) + rng.normal(0, 0.1), 0, 1))
        for pid, c in labels.items()
    }
    judge_labels(store, JUDGE, p)
    assert refit_calibration(store, JUDGE, "isotonic") == 1
    assert refit_calibration(store, JUDGE, "platt") == 2
    _, _, cmap = latest_calibrations(store)[JUDGE]
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
            "judge": "j",
            "hit": [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0],
            "prompt_chars": [10, 20, 30, 40, 50, 60, 70, 80],
            "category": ["x", "x", "x", "x", "y", "y", "y", "y"],
        }
    )
    by_cat = agreement_by(frame, "category").set_index("category")
    assert by_cat.loc["x", "agreement"] == 0.75 and by_cat.loc["y", "agreement"] == 0.5
    by_len = agreement_by(frame, "prompt_chars")
    assert by_len["n"].sum() == 8 and len(by_len) == 4


def test_agreement_by_length_when_every_prompt_has_the_same_length():
    frame = pd.DataFrame({"judge": "j", "hit": [1.0, 0.0, 1.0], "prompt_chars": [42, 42, 42]})
    by_len = agreement_by(frame, "prompt_chars")
    assert by_len["prompt_chars"].tolist() == ["42 chars"]
    assert by_len["n"].tolist() == [3] and by_len["agreement"].iloc[0] == pytest.approx(2 / 3)


def _noisy_verdicts(labels: pd.Series, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {
        pid: float(np.clip((0.7 if c > 0 else 0.3) + rng.normal(0, 0.1), 0.01, 0.99))
        for pid, c in labels.items()
    }


def test_refresh_fits_once_enough_pairs_then_every_n(gold):
    store, labels = gold
    verdicts = _noisy_verdicts(labels)
    first = dict(list(verdicts.items())[:6])
    judge_labels(store, JUDGE, first)
    config = CalibrationConfig(min_pairs=5, refit_every=3)
    assert refresh_calibrations(store, config) == {JUDGE: 1}
    assert refresh_calibrations(store, config) == {}  # nothing new: no new version
    judge_labels(
        store, JUDGE, dict(list(verdicts.items())[6:8])
    )  # 2 new decided pairs < refit_every
    assert refresh_calibrations(store, config) == {}
    assert refresh_calibrations(store, config, any_new=True) == {JUDGE: 2}  # after a judge job
    judge_labels(store, JUDGE, dict(list(verdicts.items())[8:]))
    assert refresh_calibrations(store, config) == {}
    assert store.judge_calibrations(JUDGE)["n_pairs"].tolist() == [6, 8]


def test_routing_reads_the_stored_map(gold):
    from annotate_app.routing.calibration import JudgeCalibration

    store, labels = gold
    verdicts = _noisy_verdicts(labels, seed=1)
    judge_labels(store, JUDGE, verdicts)
    assert not JudgeCalibration.from_store(store).fitted  # nothing stored: own confidence
    version = refit_calibration(store, JUDGE, "platt")
    calibration = JudgeCalibration.from_store(store)
    assert f"v{version} platt on 10" in calibration.describe()
    pair_ids = list(verdicts)
    p_a = np.array([verdicts[p] for p in pair_ids])
    _, _, stored = latest_calibrations(store)[JUDGE]
    got = calibration.p_right(p_a, np.ones(len(p_a)), pair_ids=pd.Index(pair_ids))
    assert got == pytest.approx(stored.p_agree(p_a))
    assert calibration.agreement == judge_report(store)[JUDGE]["agreement"]


def test_a_routing_pass_fits_a_missing_version_and_records_what_it_read(gold, demo_dir):
    from annotate_app.routing import plan as routing_plan

    store, labels = gold
    import_file(store, demo_dir / "responses.jsonl", ImportOptions())  # open pairs to route
    judge_labels(store, JUDGE, _noisy_verdicts(labels, seed=2))
    assert store.judge_calibrations(JUDGE).empty
    plan = routing_plan.preview(store, routing_plan.RoutingConfig())
    assert plan.calibration_versions == {JUDGE: 1}
    assert f"{JUDGE} v1 isotonic on 10" in plan.calibration
    run_id = routing_plan.apply(store, plan)
    runs = store.routing_runs().set_index("id")
    assert json.loads(runs.loc[run_id, "params"])["calibration_versions"] == {JUDGE: 1}
    again = routing_plan.preview(store, routing_plan.RoutingConfig())
    assert again.calibration_versions == {JUDGE: 1}  # no new decided pair: no refit


def test_the_app_service_refits_the_stored_map_as_human_labels_arrive(gold, project_paths):
    from annotate_app.service import ServiceConfig, Services

    store, labels = gold
    judge_labels(
        store, JUDGE, _noisy_verdicts(labels)
    )  # 10 judged gold pairs: enough for a first map
    assert store.judge_calibrations(JUDGE).empty
    store.close()
    services = Services(project_paths, ServiceConfig(calibration_check_s=0.2, checkpoint_s=0))
    try:
        deadline = time.monotonic() + 20
        while services.store.judge_calibrations(JUDGE).empty and time.monotonic() < deadline:
            time.sleep(0.1)
        fitted = services.store.judge_calibrations(JUDGE)
        assert fitted["n_pairs"].tolist() == [10]
    finally:
        services.close()
