"""The reward head stacked with judge verdicts: the fit on tiny synthetic data, and the train job
that fits, saves, measures and applies it on a real project (random cached vectors, no encoder)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annotate_app.reward.judge_stack import (
    STACK_FILE,
    JudgeStack,
    JudgeStackConfig,
    crossfit_probs,
    eligible_judges,
    fit_judge_stack,
    judge_evidence,
    sigmoid,
)
from tests.seed import judge_labels


def _world(n: int, judge_right: float, seed: int):
    """A weak head (its logit carries a little of the truth) and a judge right ``judge_right`` of
    the time; every pair has a verdict."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    y = (rng.random(n) < sigmoid(2 * truth)).astype(float)
    head = sigmoid(0.6 * truth + rng.normal(scale=1.0, size=n))
    right = rng.random(n) < judge_right
    said_a = np.where(right, y, 1 - y)
    p_judge = np.where(said_a == 1, 0.8, 0.2)
    ids = [f"p{i}" for i in range(n)]
    verdicts = pd.DataFrame(
        {"pair_id": ids, "judge_id": "j", "p_a": p_judge, "consistent": rng.random(n) < 0.8}
    )
    return ids, y, head, verdicts


def _accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(((p > 0.5) == (y > 0.5)).mean())


def _fit_and_score(judge_right: float, seed: int) -> tuple[float, float, JudgeStack]:
    ids, y, head, verdicts = _world(1200, judge_right, seed)
    fit, test = slice(0, 600), slice(600, None)
    evidence = judge_evidence(verdicts, ids, ["j"])
    stack = fit_judge_stack(
        head[fit], y[fit], evidence.take(np.arange(600)), ["j"], JudgeStackConfig()
    )
    assert stack is not None
    stacked = stack.apply(head[test], evidence.take(np.arange(600, 1200)))
    return _accuracy(head[test], y[test]), _accuracy(stacked, y[test]), stack


def test_an_informative_judge_lifts_the_head_out_of_sample() -> None:
    head, stacked, stack = _fit_and_score(judge_right=0.85, seed=1)
    assert stacked >= head + 0.05
    assert stack.used and stack.pool["stacked_log_loss"] < stack.pool["head_log_loss"]
    assert stack.weights[1] > 0.5  # consistent evidence counts for the judge's side


def test_a_judge_that_is_noise_costs_nothing_beyond_noise() -> None:
    gaps, used = [], []
    for seed in range(4):
        head, stacked, stack = _fit_and_score(judge_right=0.5, seed=seed)
        gaps.append(stacked - head)
        used.append(stack.used)
        assert abs(stack.weights[1]) < 0.5  # the head is overconfident: its weight may shrink
    assert np.mean(gaps) > -0.015
    # rescaling the head's logit explains the gain in log-loss: the judge is seldom taken
    assert sum(used) <= 1


def test_pairs_without_a_verdict_keep_the_heads_probability_exactly() -> None:
    ids, y, head, verdicts = _world(200, 0.85, seed=3)
    stack = fit_judge_stack(
        head, y, judge_evidence(verdicts, ids, ["j"]), ["j"], JudgeStackConfig()
    )
    members = np.vstack([head, 1 - head, np.full(len(head), 0.3)])  # [K, N]
    only_some = verdicts.iloc[::2]  # every other pair has a verdict
    evidence = judge_evidence(only_some, ids, ["j"])
    out = stack.apply(members, evidence)
    assert out.shape == members.shape
    np.testing.assert_array_equal(out[:, 1::2], members[:, 1::2])
    assert not np.allclose(out[:, ::2], members[:, ::2])
    # a verdict the judge gave in one order (consistency unknown) counts as consistent
    unknown = only_some.assign(consistent=None)
    np.testing.assert_array_equal(
        judge_evidence(unknown, ids, ["j"]).columns[::2, 0], 2 * only_some["p_a"].to_numpy() - 1
    )


def test_too_few_verdicts_fit_nothing_and_judges_need_overlap() -> None:
    ids, y, head, verdicts = _world(100, 0.85, seed=4)
    few = verdicts.iloc[:5]
    config = JudgeStackConfig(min_pairs=30)
    assert fit_judge_stack(head, y, judge_evidence(few, ids, ["j"]), ["j"], config) is None
    both = pd.concat([verdicts, few.assign(judge_id="k")])
    assert eligible_judges(both, ids, 30) == ["j"]
    assert eligible_judges(both, ids[:20], 30) == []


def test_crossfit_never_scores_a_pair_with_a_model_that_saw_it() -> None:
    seen: list[tuple[set, set]] = []

    def fit_predict(fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        seen.append((set(fit), set(score)))
        return np.full(len(score), 0.7)

    out = crossfit_probs(fit_predict, 23, folds=4, seed=0)
    assert np.all(out == 0.7) and len(seen) == 4
    assert all(not (f & s) for f, s in seen)
    assert set().union(*(s for _, s in seen)) == set(range(23))


def test_a_stack_survives_save_and_load() -> None:
    ids, y, head, verdicts = _world(100, 0.85, seed=5)
    stack = fit_judge_stack(
        head, y, judge_evidence(verdicts, ids, ["j"]), ["j"], JudgeStackConfig()
    )
    with tempfile.TemporaryDirectory() as tmp:
        stack.save(Path(tmp))
        assert JudgeStack.load(Path(tmp)) == stack
        assert JudgeStack.load(Path(tmp) / "nowhere") is None
        assert json.loads((Path(tmp) / STACK_FILE).read_text())["judges"] == ["j"]


# ---- the train job on a real project ------------------------------------------------------------


# ---- the train job on a real project ------------------------------------------------------------

QUALITY = {"atlas-70b": 4, "breeze-13b": 3, "comet-7b": 2, "drift-1b": 1}
STACK = JudgeStackConfig(min_pairs=10, folds=3)


def _train_config():
    from annotate_app.reward.config import HeadChoiceConfig, HeadConfig, TrainConfig

    return TrainConfig(
        head=HeadConfig(members=3, hidden=8, min_steps=40, max_steps=40),
        # the same folds as the stack's: the stack fits on the chosen head's cross-fitted logits
        head_choice=HeadChoiceConfig(folds=3, min_labels=10),
        min_heldout=3,
    )


@pytest.fixture
def project(store, demo_dir, tmp_path):
    """The demo pairs, two thirds labeled by model quality, and random 8-d vectors cached for every
    text: the head has nothing to learn from, the encoder is never loaded."""
    from annotate_app.ingest import ImportOptions, PairConfig, import_file
    from annotate_app.reward.encoder import response_text, text_key
    from tests.seed import human_answer, human_labels

    import_file(
        store, demo_dir / "responses.jsonl", ImportOptions(pairs=PairConfig(pairs_per_prompt=2))
    )
    pairs = store.pairs_frame()
    texts = {
        text_key(response_text(p, r))
        for p, a, b in zip(pairs["prompt"], pairs["text_a"], pairs["text_b"], strict=True)
        for r in (a, b)
    }
    rng = np.random.default_rng(0)
    vectors = pd.DataFrame(
        {"text_hash": sorted(texts), "vector": [rng.normal(size=8).tolist() for _ in texts]}
    )
    vectors.to_parquet(tmp_path / "vectors.parquet")
    store.insert_embeddings(_train_config().encoder.cache_id, tmp_path / "vectors.parquet")
    winner_a = {}
    for row in pairs.itertuples():
        winner_a[row.pair_id] = QUALITY[row.model_a] > QUALITY[row.model_b]
    human_labels(
        store,
        [
            human_answer(pair_id, "alice", 1 if a_wins else -1)
            for i, (pair_id, a_wins) in enumerate(winner_a.items())
            if i % 3 != 2
        ],
    )
    return store, winner_a


def _judge(store, pair_ids, winner_a, judge="jj", right_share=0.9) -> None:
    """Verdicts of a judge right ``right_share`` of the time, P .9 sure of its side."""
    rng = np.random.default_rng(1)
    right = rng.random(len(pair_ids)) < right_share
    p_a = {p: (0.9 if winner_a[p] == r else 0.1) for p, r in zip(pair_ids, right, strict=True)}
    judge_labels(store, judge, p_a)


def test_train_job_fits_saves_measures_and_applies_the_stack(project) -> None:
    from annotate_app.active.select import ActiveConfig
    from annotate_app.analytics.dashboard import reward_model_accuracy
    from annotate_app.jobs import JobRunner
    from annotate_app.reward.config import (
        HEAD_VARIANTS,
        describe_head,
        head_variant,
        read_version_config,
    )
    from annotate_app.reward.encoder import cached_vectors, response_text, text_key
    from annotate_app.reward.head import BTEnsemble
    from annotate_app.reward.jobs import start_selection, start_training

    store, winner_a = project
    runner = JobRunner(store)
    active = ActiveConfig("random", batch=3)
    labeled = sorted(store.training_labels(["human"])["pair_id"])
    unlabeled = sorted(set(winner_a) - set(labeled))

    # a single verdict, on a pair nobody labeled: no stack; that pair is scored by the head alone
    # (a project with no verdicts at all is every other train test's)
    lone = unlabeled[:1]
    _judge(store, lone, winner_a)
    runner.wait(start_training(store, runner, _train_config(), active, STACK))
    model = store.active_model()
    assert model["heldout_accuracy"] is not None
    assert "heldout_accuracy_with_judge" not in model["metrics"]
    assert not (Path(model["path"]) / STACK_FILE).exists()
    scores = store.pair_scores(model["id"]).set_index("pair_id")
    assert lone[0] in scores.index
    # with no stack, the head's own score is the app's score
    np.testing.assert_array_equal(scores["head_p_a"], scores["p_a"])
    shown = reward_model_accuracy(store.model_versions_frame())
    assert shown["heldout_accuracy"] == pytest.approx(model["heldout_accuracy"])
    assert shown["heldout_accuracy_with_judge"] is None

    # the head was chosen by CV on the training labels: recorded, saved as the version's head
    # (the export and a selection read it from there), and shown beside the accuracy
    choice = model["metrics"]["head_choice"]
    assert choice["n"] == model["metrics"]["n_train"] and choice["folds"] == 3
    assert set(choice["cv"]) == set(HEAD_VARIANTS)
    used = head_variant(_train_config().head, choice["variant"])
    assert read_version_config(Path(model["path"])).head == used
    assert BTEnsemble.load(Path(model["path"])).config == used
    assert choice["head"] == describe_head(used)
    assert shown["head"] == choice["head"] and shown["head_reason"] == choice["reason"]

    # a judge right 90% of the time on every labeled pair and on four pairs nobody labeled
    judged_only = unlabeled[:4]
    _judge(store, labeled + judged_only[1:], winner_a)
    open_ids = set(store.open_pair_ids())
    runner.wait(start_training(store, runner, _train_config(), active, STACK))
    model = store.active_model()
    folder = Path(model["path"])
    stack = JudgeStack.load(folder)
    assert stack is not None and stack.judges == ["jj"]
    metrics = model["metrics"]
    assert metrics["n_heldout_with_verdict"] == metrics["n_heldout"] >= 3
    assert metrics["judge_stack"]["used"] == stack.used
    assert metrics["judge_stack"]["n"] == metrics["n_train"]
    # the head sees random vectors; the judge carries the signal, out of sample too
    assert stack.used and stack.weights[1] > 0.5
    # the stack was fitted on the head choice's cross-fitted probabilities with the logit scale
    # the saved head carries (the head learned nothing, so the scale shrinks it), not on raw ones
    chosen = metrics["head_choice"]["cv"][metrics["head_choice"]["variant"]]
    assert abs(np.log(metrics["head_choice"]["logit_scale"])) > 0.1
    assert metrics["judge_stack"]["head_log_loss"] == pytest.approx(chosen["cv_log_loss"])
    assert metrics["judge_stack"]["head_log_loss"] != pytest.approx(chosen["cv_raw_log_loss"])
    assert metrics["heldout_accuracy_with_judge"] > metrics["accuracy"]
    shown = reward_model_accuracy(store.model_versions_frame())
    assert shown["heldout_accuracy_with_judge"] == pytest.approx(
        metrics["heldout_accuracy_with_judge"]
    )
    assert shown["n_with_verdict"] == metrics["n_heldout_with_verdict"]
    assert shown["judge_stack_used"] is stack.used

    # scores: open pairs as before; judge-only pairs too, stacked, and never acquisition candidates
    scores = store.pair_scores(model["id"]).set_index("pair_id")
    assert set(scores.index) == open_ids | set(judged_only)
    assert scores.loc[judged_only, "acquisition"].isna().all()
    assert scores.loc[sorted(open_ids), "acquisition"].notna().all()
    head = BTEnsemble.load(folder)
    frame = store.pairs_frame(judged_only)
    keys_a = [
        text_key(response_text(p, t)) for p, t in zip(frame["prompt"], frame["text_a"], strict=True)
    ]
    keys_b = [
        text_key(response_text(p, t)) for p, t in zip(frame["prompt"], frame["text_b"], strict=True)
    ]
    cache = cached_vectors(
        store.cached_embeddings(_train_config().encoder.cache_id, keys_a + keys_b)
    )
    members = head.member_probs(
        np.stack([cache[k] for k in keys_a]), np.stack([cache[k] for k in keys_b])
    )
    evidence = judge_evidence(store.judge_verdicts(), frame["pair_id"].tolist(), ["jj"])
    expected = stack.apply(members, evidence)
    np.testing.assert_allclose(
        scores.loc[frame["pair_id"], "p_a"].to_numpy(), expected.mean(0), atol=1e-5
    )
    np.testing.assert_allclose(
        scores.loc[frame["pair_id"], "uncertainty"].to_numpy(), expected.std(0), atol=1e-5
    )
    # beside it, the head's own: what routing weighs against the judge
    np.testing.assert_allclose(
        scores.loc[frame["pair_id"], "head_p_a"].to_numpy(), members.mean(0), atol=1e-5
    )
    np.testing.assert_allclose(
        scores.loc[frame["pair_id"], "head_uncertainty"].to_numpy(), members.std(0), atol=1e-5
    )
    assert not np.allclose(members.mean(0), expected.mean(0), atol=1e-3)

    # a selection with the same version applies the same saved stack
    runner.wait(start_selection(store, runner, active))
    again = store.pair_scores(model["id"]).set_index("pair_id")
    np.testing.assert_allclose(
        again.loc[judged_only, "p_a"].to_numpy(),
        scores.loc[judged_only, "p_a"].to_numpy(),
        atol=1e-6,
    )


def test_a_stack_beside_a_sampled_choice_cross_fits_on_the_saved_heads_scale(project) -> None:
    """Above ``max_labels`` the choice's folds come from a sample, so the stack cross-fits the
    chosen head itself, on every training label: with the choice's logit scale, as saved."""
    from dataclasses import replace

    from annotate_app.active.select import ActiveConfig
    from annotate_app.jobs import JobRunner
    from annotate_app.reward.head_choice import scaled_members
    from annotate_app.reward.jobs import start_training
    from annotate_app.reward.metrics import log_loss
    from annotate_app.reward.pipeline import fit_head, heldout_mask, label_targets
    from tests.test_reward_head_choice import _vectors

    store, winner_a = project
    labeled = sorted(store.training_labels(["human"])["pair_id"])
    _judge(store, labeled, winner_a)
    config = _train_config()
    # one variant is enough to have a scale, and keeps the test to six head fits
    sampled = replace(config.head_choice, max_labels=12, variants=("default",))
    config = replace(config, head_choice=sampled)
    runner = JobRunner(store)
    runner.wait(start_training(store, runner, config, ActiveConfig("random", batch=3), STACK))
    metrics = store.active_model()["metrics"]
    choice = metrics["head_choice"]
    assert choice["n"] == 12 < metrics["n_train"] and metrics["judge_stack"]["n"] > 12
    scale = choice["logit_scale"]
    assert abs(np.log(scale)) > 0.1

    labels = store.training_labels(["human"])
    target, strength = label_targets(labels)
    train = ~heldout_mask(labels["pair_id"].tolist(), config.heldout_fraction)
    fa, fb = (v[train] for v in _vectors(store, labels["pair_id"].tolist()))
    assert choice["variant"] == "default"  # on random vectors: the configured head
    head = config.head

    def fit_predict(fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        model = fit_head(fa[fit], fb[fit], target[train][fit], strength[train][fit], head)
        return model.member_probs(fa[score], fb[score])

    members = crossfit_probs(fit_predict, int(train.sum()), STACK.folds, STACK.seed)
    y = target[train]
    scaled = log_loss(scaled_members(members, scale).mean(0), y)
    assert metrics["judge_stack"]["head_log_loss"] == pytest.approx(scaled, abs=1e-6)
    assert metrics["judge_stack"]["head_log_loss"] != pytest.approx(log_loss(members.mean(0), y))


def _dashboard() -> None:
    from annotate_app.ui.views.dashboard import render

    render()


def test_dashboard_shows_the_with_judge_figure_of_the_active_version(
    project_paths, monkeypatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from annotate_app.accounts.auth import Account
    from annotate_app.store import Store
    from annotate_app.ui import common

    metrics = {
        "accuracy": 0.6125,
        "heldout_accuracy_with_judge": 0.84,
        "n_heldout_with_verdict": 7,
        "judge_stack": {"used": False},
        "head_choice": {"head": "linear, weight decay 10", "reason": "CV log-loss 0.66 vs 0.67"},
    }
    with Store(project_paths) as store:
        for i, extra in enumerate(({}, metrics)):
            store.save_model_version(
                {
                    "id": f"v{i}",
                    "mode": "head",
                    "encoder": "minilm",
                    "path": f"/nowhere/v{i}",
                    "n_labels": 40 + i,
                    "heldout_accuracy": 0.6,
                    "train_seconds": 1.0,
                    "metrics": extra,
                },
                embeddings=None,
                scores=None,
                priorities=None,
                strategy="random",
                acquisition_policies=["random"],
            )
        store.upsert_annotator("boss", role="admin")
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    common.store().upsert_annotator("boss", role="admin")
    at = AppTest.from_function(_dashboard, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    at.run()
    assert not at.exception, at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Held-out accuracy (active model)"] == "60.0%"
    assert tiles["Held-out accuracy with the judge's verdicts"] == "84.0%"
    shown = next(m for m in at.metric if m.label.startswith("Held-out accuracy with"))
    assert "Not used for scores" in shown.help
    # the head the active version uses, beside its accuracy, from the same function
    assert "Head: linear, weight decay 10" in [c.value for c in at.caption]
    alone = next(m for m in at.metric if m.label == "Held-out accuracy (active model)")
    assert "CV log-loss 0.66 vs 0.67" in alone.help


# ---- routing reads the head's own score ----------------------------------------------------------


def test_a_judge_contradicting_a_confident_head_is_escalated_though_the_stack_agrees(
    store, tmp_path
) -> None:
    """Three pairs a judge says A won (P .9). The app's score, stacked with that verdict, agrees
    (P .93) on all three; the head alone is confidently against it on the first, unsure on the
    second and agrees on the third. Only the first is escalated to a person."""
    from annotate_app.ingest import import_file
    from annotate_app.routing import plan as routing_plan
    from annotate_app.routing.budget import BudgetConfig
    from annotate_app.routing.policies import PolicyConfig

    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"prompt": f"question {i}", "response_a": f"yes {i}", "response_b": f"no {i}"}
            )
            + "\n"
            for i in range(3)
        ),
        encoding="utf-8",
    )
    import_file(store, path)
    ids = store.pairs_frame()["pair_id"].tolist()
    judge_labels(store, "jj", dict.fromkeys(ids, 0.9))
    pd.DataFrame(
        {
            "pair_id": ids,
            "p_a": 0.93,
            "uncertainty": 0.02,
            "acquisition": np.nan,
            "head_p_a": [0.10, 0.55, 0.93],
            "head_uncertainty": 0.02,
        }
    ).to_parquet(tmp_path / "scores.parquet")
    store.save_model_version(
        {
            "id": "v1",
            "mode": "head",
            "encoder": "minilm",
            "path": str(tmp_path / "v1"),
            "n_labels": 50,
            "train_seconds": 1.0,
        },
        embeddings=None,
        scores=tmp_path / "scores.parquet",
        priorities=None,
        strategy="random",
        acquisition_policies=["random"],
    )
    config = routing_plan.RoutingConfig(
        policy=PolicyConfig(name="all-ai"), budget=BudgetConfig(human_budget=0.5)
    )
    plan = routing_plan.preview(store, config)
    assert plan.n_escalated == 1
    routing_plan.apply(store, plan)
    queue = store.route_list(route="human")
    assert queue["pair_id"].tolist() == [ids[0]]
    assert "contradicts confident reward model P(A)=0.10" in queue["reason"].iloc[0]


def test_scores_written_before_the_heads_own_column_still_route(tmp_path) -> None:
    """A project file from before ``head_p_a`` existed opens; its rows read the app's score as the
    head's until the next training writes both."""
    from annotate_app.store import Store
    from annotate_app.store.db import connect, migrate

    path = tmp_path / "old.duckdb"
    con = connect(path)
    migrate(con, upto="0013_prompt_tags")
    con.execute(
        "INSERT INTO model_versions (id, mode, path, active) VALUES ('v0', 'head', '/x', true)"
    )
    con.execute(
        "INSERT INTO pair_scores (pair_id, model_version, p_a, uncertainty) "
        "VALUES ('p1', 'v0', 0.8, 0.05)"
    )
    con.close()
    with Store(path) as store:
        old = store.pair_scores("v0")
        assert old["p_a"].tolist() == [0.8] and old["head_p_a"].isna().all()
        routed = store.active_pair_scores()
        assert routed["head_p_a"].tolist() == [0.8]
        assert routed["head_uncertainty"].tolist() == [0.05]


def test_routing_features_read_the_heads_own_score_and_spread() -> None:
    """The rm_* features (escalation's confident reward model, the value policy's uncertainty rank,
    the learned router) are the head's own; a score frame without those columns reads p_a."""
    from annotate_app.routing.features import pair_features

    pairs = pd.DataFrame(
        {"pair_id": ["p"], "prompt": ["q"], "n_turns": [1], "text_a": ["a"], "text_b": ["b"]}
    )
    scores = pd.DataFrame(
        {
            "pair_id": ["p"],
            "p_a": [0.93],
            "uncertainty": [0.01],
            "acquisition": [0.2],
            "head_p_a": [0.2],
            "head_uncertainty": [0.15],
        }
    )
    own = pair_features(pairs, scores=scores).loc["p"]
    assert own["rm_p_a"] == pytest.approx(0.2) and own["rm_confidence"] == pytest.approx(0.6)
    assert own["rm_uncertainty"] == pytest.approx(0.15) and own["has_rm"] == 1.0
    plain = pair_features(pairs, scores=scores.drop(columns=["head_p_a", "head_uncertainty"]))
    assert plain.loc["p", "rm_p_a"] == pytest.approx(0.93)
    assert plain.loc["p", "rm_uncertainty"] == pytest.approx(0.01)
