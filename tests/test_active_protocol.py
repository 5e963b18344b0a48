"""The replay protocol: an in-sample comparison says so in every output; nested folds score, on
each fold, the strategy the other folds chose. Synthetic replay rows, no models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

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


def test_recorded_verdicts_become_p_a_and_p_judge_wrong(tmp_path) -> None:
    from annotate_app.simulation.strategies import Replay, _labeled_pairs

    rows = [
        {
            "prompt": f"q{i}",
            "chosen": f"good {i}",
            "rejected": f"bad {i}",
            "judge_x": j,
            "judge_y": k,
        }
        for i, (j, k) in enumerate([(1.0, 1.0), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)] * 3)
    ]
    path = tmp_path / "judged.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    pairs = _labeled_pairs(str(path), "pool")
    assert list(pairs.filter(like="judge_").columns) == ["judge_x", "judge_y"]
    # P(A wins) follows the side the chosen reply landed on, whatever the import's order
    chosen_is_a = pairs["target"] == 1
    n = len(pairs)
    assert n == len(rows)
    x = np.asarray([r["judge_x"] for r in rows])
    order = [int(t.split()[-1]) for t in np.where(chosen_is_a, pairs["text_a"], pairs["text_b"])]
    expected = np.where(chosen_is_a, x[order], 1 - x[order])
    assert np.allclose(pairs["judge_x"], expected)

    replay = Replay(
        fa=np.zeros((n, 1)),
        fb=np.zeros((n, 1)),
        ctx=np.zeros((n, 1)),
        target=pairs["target"].to_numpy(float),
        is_test=np.zeros(n, bool),
        judges=pairs.filter(like="judge_").to_numpy(float),
    )
    wrong = replay.p_judge_wrong(np.arange(8), np.arange(n))
    kind = [order[i] % 4 for i in range(n)]  # 0, 3: both judges right; 1: x wrong; 2: x ties
    both_right = [w for w, k in zip(wrong, kind, strict=True) if k in (0, 3)]
    split = [w for w, k in zip(wrong, kind, strict=True) if k in (1, 2)]
    assert max(both_right) < min(split)  # a disagreeing second judge or a tie: a coin flip
    assert min(split) == 0.5
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rows[0], "judge_x": 2.0}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: field judge_x"):
        _labeled_pairs(str(bad), "pool")


def _tiny_replay(n: int = 240):
    from annotate_app.simulation.strategies import Replay

    rng = np.random.default_rng(5)
    fa, fb = rng.normal(size=(n, 6)), rng.normal(size=(n, 6))
    target = ((fa - fb) @ rng.normal(size=6) > 0).astype(float)
    replay = Replay(fa, fb, rng.normal(size=(n, 4)), target, np.zeros(n, bool), None)
    pool, test = np.arange(180), np.arange(180, n)
    return replay, pool, test, rng.choice(pool, size=20, replace=False)


def test_auto_that_draws_only_random_replays_random_exactly() -> None:
    # Common random numbers: auto's random arm takes random's own batch, so without exploration
    # the two replays hold the same labels and models, and the paired difference is zero.
    from annotate_app.active.bandit import BanditConfig
    from annotate_app.reward.config import HeadConfig

    replay, pool, test, start = _tiny_replay()
    head = HeadConfig(members=2, hidden=8, min_steps=20, max_steps=20)
    config = SimulationConfig(
        data="x", budgets=[20, 40, 60], batch=10, head=head, bandit=BanditConfig(explore=0.0)
    )
    plain = replay.replay("random", 3, pool, test, start, config)
    auto = replay.replay("auto", 3, pool, test, start, config)
    assert [r["log_loss"] for r in auto] == [r["log_loss"] for r in plain]
    assert set(auto[-1]["auto_arms"]) == {"random"}
    assert auto[0]["strategy"] == "auto (explore 0.0, ramp 10, elimination True)"
    # exploring from the first batch, it leaves random's labels, and its rows say which rule ran
    config.bandit = BanditConfig(explore=1.0, explore_ramp=0)
    explored = replay.replay("auto", 3, pool, test, start, config)
    assert set(explored[-1]["auto_arms"]) - {"random"}
    assert explored[-1]["log_loss"] != plain[-1]["log_loss"]
    assert SimulationConfig(data="x").strategy_name("auto") == "auto"
