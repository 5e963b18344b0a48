"""The replay protocol: an in-sample comparison says so in every output; nested folds score, on
each fold, the strategy the other folds chose. Synthetic replay rows, no models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from annotate_app.simulation.strategies import (
    IN_SAMPLE_WARNING,
    SELECTED,
    SimulationConfig,
    learning_curve_html,
    protocol,
    report,
)


def _rows(fold_of_seed: dict[int, int | None], accuracy) -> list[dict]:
    rows = []
    for seed, fold in fold_of_seed.items():
        for strategy in ("random", "bald"):
            for budget in (100, 200):
                rows.append(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "budget": budget,
                        "accuracy": accuracy(strategy, fold, budget, seed),
                        "log_loss": 0.69,
                        "ece": 0.0,
                        "fold": fold,
                    }
                )
    return rows


def test_in_sample_run_says_so_in_every_output(tmp_path) -> None:
    config = SimulationConfig(data="pool.jsonl", budgets=[100, 200], strategies=["random", "bald"])
    assert protocol(config) == "in-sample"
    rows = _rows({s: None for s in range(3)}, lambda st, f, b, s: 0.55 + 0.01 * s)
    out = report(rows, config)
    assert out["in_sample"] and out["warning"] == IN_SAMPLE_WARNING
    assert IN_SAMPLE_WARNING in out["table"]
    assert IN_SAMPLE_WARNING in json.dumps(out)
    html = tmp_path / "curve.html"
    learning_curve_html(out, html)
    text = html.read_text(encoding="utf-8")
    assert "IN-SAMPLE" in text and IN_SAMPLE_WARNING in text


def test_test_file_run_is_out_of_sample() -> None:
    config = SimulationConfig(data="pool.jsonl", test="test.jsonl", budgets=[100, 200])
    out = report(_rows({0: None, 1: None}, lambda st, f, b, s: 0.6), config)
    assert out["protocol"] == "test file" and not out["in_sample"]
    assert "IN-SAMPLE" not in out["table"]


def test_nested_folds_score_the_choice_of_the_other_folds() -> None:
    # bald wins on folds 0 and 1, random wins on fold 2 by a lot: the choice for fold 2 (made on
    # folds 0 and 1) is bald, and fold 2 must be scored with bald's low figure, not random's.
    def accuracy(strategy, fold, budget, seed):
        if fold == 2:
            return 0.70 if strategy == "random" else 0.50
        return 0.62 if strategy == "bald" else 0.58

    config = SimulationConfig(data="pool.jsonl", budgets=[100, 200], folds=3)
    out = report(_rows({0: 0, 1: 1, 2: 2}, accuracy), config)
    assert out["protocol"] == "nested folds" and not out["in_sample"]
    chosen = pd.DataFrame(out["results"])
    chosen = chosen[(chosen["strategy"] == SELECTED) & (chosen["budget"] == 200)]
    by_fold = dict(zip(chosen["fold"], chosen["accuracy"], strict=True))
    assert by_fold[2] == 0.50
    # folds 0 and 1: the other folds' mean still favours random only when fold 2 is among them
    # with its large random lead: (0.70 + 0.58) / 2 = 0.64 > (0.50 + 0.62) / 2 = 0.56
    assert by_fold[0] == 0.58 and by_fold[1] == 0.58
    assert np.isclose(chosen["accuracy"].mean(), (0.50 + 0.58 + 0.58) / 3)
    assert SELECTED in out["table"]
