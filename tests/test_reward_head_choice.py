"""The per-project head choice (``reward.head_choice``): K-fold CV on the training labels keeps the
default head on labels that are noise and moves off it where a planted linear reward makes a
regularised head clearly better; the chosen head's logit scale, fitted on its out-of-fold
probabilities, is folded into the saved weights. The train job's choice and stack are also in
``test_judge_stack.py``; the export of a scaled version in ``test_model_export.py``."""

from __future__ import annotations

import numpy as np
import pytest

from annotate_app.reward.config import (
    HEAD_VARIANTS,
    HeadChoiceConfig,
    HeadConfig,
    TrainConfig,
    as_params,
    head_variant,
    train_config,
)
from annotate_app.reward.head import BTEnsemble
from annotate_app.reward.head_choice import (
    LOGIT_SCALE_BOUNDS,
    choose_head,
    fit_logit_scale,
    scaled_members,
)
from annotate_app.reward.judge_stack import sigmoid
from annotate_app.reward.metrics import pair_log_loss
from annotate_app.reward.pipeline import fit_head

BASE = HeadConfig(members=3, hidden=16, min_steps=50, max_steps=50)
CHOICE = HeadChoiceConfig(folds=3)


def _pairs(kind: str, seed: int, n: int = 300, dim: int = 16):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, dim)).astype(np.float32)
    b = rng.normal(size=(n, dim)).astype(np.float32)
    w = rng.normal(size=dim) / np.sqrt(dim) * 3
    p_a = 0.5 if kind == "noise" else 1 / (1 + np.exp(-(a @ w - b @ w)))
    return a, b, (rng.random(n) < p_a).astype(float)


def _fit_predict(a, b, y):
    """Each member's p(A better) of a head fitted on ``fit``, as the train job's fold fitter."""

    def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        model = fit_head(a[fit], b[fit], y[fit], np.ones(len(fit)), head)
        return model.member_probs(a[score], b[score])

    return fit_predict


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_that_are_noise_keep_the_default_head(seed: int) -> None:
    a, b, y = _pairs("noise", seed)
    choice = choose_head(_fit_predict(a, b, y), y, BASE, CHOICE)
    assert choice.variant == "default" and choice.head == BASE
    assert set(choice.cv) == set(HEAD_VARIANTS)
    # every variant was cross-validated; none beat the default beyond its margin
    assert all(
        c["diff"] >= -CHOICE.margin_se * c["se"] for v, c in choice.cv.items() if v != "default"
    )
    assert choice.crossfit is not None and choice.crossfit.shape == y.shape
    assert choice.as_metrics()["head"] == "MLP, 16 hidden units, weight decay 1"


def test_a_planted_linear_reward_moves_the_choice_to_a_regularised_head() -> None:
    a, b, y = _pairs("linear", 0)
    choice = choose_head(_fit_predict(a, b, y), y, BASE, CHOICE)
    assert choice.variant in ("decay10", "linear_decay10")
    assert choice.head == head_variant(BASE, choice.variant)
    won = choice.cv[choice.variant]
    assert won["diff"] < -CHOICE.margin_se * won["se"]
    assert won["cv_log_loss"] == min(c["cv_log_loss"] for c in choice.cv.values())
    # the chosen head's cross-fitted probabilities, with its scale, are the ones it was judged on
    assert pair_log_loss(choice.crossfit, y).mean() == pytest.approx(won["cv_log_loss"])
    # weight decay 10 makes a timid head: its out-of-fold logits want stretching, and the scale
    # the version records is the chosen variant's
    assert choice.logit_scale == won["logit_scale"] > 1.5
    assert choice.as_metrics()["logit_scale"] == choice.logit_scale
    assert won["cv_log_loss"] < won["cv_raw_log_loss"]


def test_too_few_labels_or_the_choice_off_keep_the_default_without_fitting() -> None:
    def never(*_):
        raise AssertionError("no head should be fitted")

    y = np.ones(40)
    few = choose_head(never, y, BASE, HeadChoiceConfig(min_labels=100))
    assert few.variant == "default" and "only 40 training labels" in few.reason
    assert few.crossfit is None and few.logit_scale == 1.0
    off = choose_head(never, np.ones(500), BASE, HeadChoiceConfig(enabled=False))
    assert off.variant == "default" and off.reason == "choice off" and off.logit_scale == 1.0


def test_head_choice_settings_are_checked_and_old_job_params_still_load() -> None:
    with pytest.raises(ValueError, match="unknown head variant 'wide'"):
        HeadChoiceConfig(variants=("default", "wide"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 folds"):
        HeadChoiceConfig(folds=1)
    params = as_params(TrainConfig())
    assert train_config(params) == TrainConfig()  # the variants survive JSON as a list
    del params["head_choice"]  # a version trained before the choice existed
    assert train_config(params).head_choice == HeadChoiceConfig()


def test_more_labels_than_max_labels_cut_the_folds_from_a_fixed_sample() -> None:
    seen: set[int] = set()

    def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        seen.update(fit.tolist(), score.tolist())
        return np.full(len(score), 0.5)

    y = (np.arange(300) % 2).astype(float)
    config = HeadChoiceConfig(folds=3, min_labels=100, max_labels=120)
    choice = choose_head(fit_predict, y, BASE, config)
    assert len(seen) == 120 and seen <= set(range(300))
    # no head is better than another here, and the stack gets no partial cross-fit
    assert choice.n == 120 and choice.variant == "default" and choice.crossfit is None
    with pytest.raises(ValueError, match="max_labels"):
        HeadChoiceConfig(min_labels=100, max_labels=50)


def test_the_logit_scale_is_the_one_that_calibrates_the_member_mean() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=4000)
    # three members whose logits are a third of the truth's, each with a little noise of its own
    members = sigmoid(z / 3 + rng.normal(scale=0.05, size=(3, len(z))))
    y = (rng.random(len(z)) < sigmoid(z)).astype(float)
    scale = fit_logit_scale(members, y)
    assert scale == pytest.approx(3.0, rel=0.1)
    loss = [pair_log_loss(scaled_members(members, s).mean(0), y).mean() for s in (scale, 1.0)]
    assert loss[0] < loss[1]
    for nearby in (scale * 0.9, scale * 1.1):  # a minimum, not just better than 1
        assert pair_log_loss(scaled_members(members, nearby).mean(0), y).mean() > loss[0]
    # a few pairs all on the right side cannot send it to infinity
    assert fit_logit_scale(np.array([0.6, 0.7, 0.4]), np.array([1.0, 1.0, 0.0])) == (
        pytest.approx(LOGIT_SCALE_BOUNDS[1], rel=1e-3)
    )


@pytest.mark.parametrize("hidden", [16, 0])
def test_folding_the_scale_multiplies_every_members_logit_and_survives_save(hidden, tmp_path):
    a, b, y = _pairs("linear", 2, n=120)
    model = fit_head(a, b, y, np.ones(len(y)), HeadConfig(members=3, hidden=hidden, max_steps=30))
    before = model.rewards(a) - model.rewards(b)  # each member's logit, [K, N]
    model.fold_logit_scale(2.5)
    np.testing.assert_allclose(model.rewards(a) - model.rewards(b), 2.5 * before, atol=1e-4)
    after = model.member_probs(a, b)
    model.save(tmp_path)
    np.testing.assert_allclose(BTEnsemble.load(tmp_path).member_probs(a, b), after, atol=1e-7)
    with pytest.raises(ValueError, match="must be positive"):
        model.fold_logit_scale(0.0)


def test_a_version_saved_before_the_scale_existed_loads_and_scores_as_it_did(tmp_path) -> None:
    """The folder of an older version: head.pt and head_config.json as train jobs wrote them,
    with no scale anywhere. It scores exactly by its stored weights, as it did then."""
    import json

    import torch

    from annotate_app.reward.ensemble_math import member_rewards

    gen = torch.Generator().manual_seed(3)
    state = {
        "w1": torch.randn(2, 6, 4, generator=gen),
        "b1": torch.randn(2, 1, 4, generator=gen),
        "w2": torch.randn(2, 4, generator=gen),
        "mean": torch.randn(6, generator=gen),
        "std": torch.rand(6, generator=gen) + 0.5,
    }
    torch.save(state, tmp_path / "head.pt")
    old_head = {
        "members": 2, "hidden": 4, "lr": 1e-3, "weight_decay": 1.0, "epochs": 40,
        "batch_size": 256, "min_steps": 150, "max_steps": 800, "bootstrap": True,
        "margin": 0.0, "ties": "half", "seed": 0,
    }  # fmt: skip
    (tmp_path / "head_config.json").write_text(json.dumps({"dim": 6, "head": old_head}))
    x = torch.randn(5, 6, generator=gen)
    expected = member_rewards(x, state["mean"], state["std"], state["w1"], state["b1"], state["w2"])
    loaded = BTEnsemble.load(tmp_path)
    np.testing.assert_allclose(loaded.rewards(x.numpy()), expected.numpy(), atol=1e-6)


# ---- the train job on a real project ------------------------------------------------------------

QUALITY = {"atlas-70b": 4, "breeze-13b": 3, "comet-7b": 2, "drift-1b": 1}


def _train_config(**choice) -> TrainConfig:
    return TrainConfig(
        head=HeadConfig(members=3, hidden=8, min_steps=40, max_steps=40),
        head_choice=HeadChoiceConfig(folds=3, min_labels=10, **choice),
        min_heldout=3,
    )


def _vectors(store, pair_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The cached vectors of each pair's two sides, as the train job reads them."""
    from annotate_app.reward.encoder import cached_vectors, response_text, text_key

    frame = store.pairs_frame(pair_ids)
    sides = [
        [text_key(response_text(p, t)) for p, t in zip(frame["prompt"], frame[c], strict=True)]
        for c in ("text_a", "text_b")
    ]
    cache = cached_vectors(
        store.cached_embeddings(_train_config().encoder.cache_id, sides[0] + sides[1])
    )
    return tuple(np.stack([cache[k] for k in keys]) for keys in sides)  # type: ignore[return-value]


@pytest.fixture
def planted(store, demo_dir, tmp_path):
    """The demo pairs, two thirds labeled by model quality, and 8-d vectors cached for every text
    that carry that quality along one direction: a head has something to learn, no encoder runs."""
    import pandas as pd

    from annotate_app.ingest import ImportOptions, PairConfig, import_file
    from annotate_app.reward.encoder import response_text, text_key
    from tests.seed import human_answer, human_labels

    import_file(
        store, demo_dir / "responses.jsonl", ImportOptions(pairs=PairConfig(pairs_per_prompt=2))
    )
    pairs = store.pairs_frame()
    quality = {}
    for row in pairs.itertuples():
        quality[text_key(response_text(row.prompt, row.text_a))] = QUALITY[row.model_a]
        quality[text_key(response_text(row.prompt, row.text_b))] = QUALITY[row.model_b]
    rng = np.random.default_rng(0)
    direction = np.eye(8)[0]
    vectors = pd.DataFrame(
        {
            "text_hash": sorted(quality),
            "vector": [
                (rng.normal(size=8) + q * direction).tolist() for _, q in sorted(quality.items())
            ],
        }
    )
    vectors.to_parquet(tmp_path / "vectors.parquet")
    store.insert_embeddings(_train_config().encoder.cache_id, tmp_path / "vectors.parquet")
    human_labels(
        store,
        [
            human_answer(
                row.pair_id, "alice", 1 if QUALITY[row.model_a] > QUALITY[row.model_b] else -1
            )
            for i, row in enumerate(pairs.itertuples())
            if i % 3 != 2
        ],
    )
    return store


def test_a_regularised_head_from_the_train_job_ships_its_out_of_fold_scale(planted) -> None:
    from pathlib import Path

    from annotate_app.active.select import ActiveConfig
    from annotate_app.jobs import JobRunner
    from annotate_app.reward.config import read_version_config
    from annotate_app.reward.jobs import start_training
    from annotate_app.reward.metrics import evaluate
    from annotate_app.reward.pipeline import heldout_mask, label_targets

    store = planted
    runner = JobRunner(store)
    config = _train_config(variants=("linear_decay10",))  # the one head to use: decay 10, linear
    runner.wait(start_training(store, runner, config, ActiveConfig("random", batch=3)))
    model = store.active_model()
    choice = model["metrics"]["head_choice"]
    scale = choice["logit_scale"]
    # a timid head: the scale fitted on its out-of-fold probabilities stretches its logits
    assert choice["variant"] == "linear_decay10" and choice["n"] == model["metrics"]["n_train"]
    assert scale == choice["cv"]["linear_decay10"]["logit_scale"] > 1.5

    # the same head refitted here on the same training labels, without the scale
    folder = Path(model["path"])
    labels = store.training_labels(["human"])
    target, strength = label_targets(labels)
    held = heldout_mask(labels["pair_id"].tolist(), config.heldout_fraction)
    assert held.sum() >= config.min_heldout and held.sum() == model["metrics"]["n_heldout"]
    fa, fb = _vectors(store, labels["pair_id"].tolist())
    head = read_version_config(folder).head
    assert head == head_variant(config.head, "linear_decay10")
    raw = fit_head(fa[~held], fb[~held], target[~held], strength[~held], head)
    saved = BTEnsemble.load(folder)
    open_ids = store.open_pair_ids()
    oa, ob = _vectors(store, open_ids)
    np.testing.assert_allclose(
        saved.rewards(oa) - saved.rewards(ob),
        scale * (raw.rewards(oa) - raw.rewards(ob)),
        atol=1e-4,
    )
    # the app's scores and held-out figures are the scaled model's, surer than the raw head's
    scores = store.pair_scores(model["id"]).set_index("pair_id").loc[open_ids]
    np.testing.assert_allclose(scores["head_p_a"], saved.member_probs(oa, ob).mean(0), atol=1e-5)
    raw_p = raw.member_probs(oa, ob).mean(0)
    assert np.abs(scores["head_p_a"] - 0.5).mean() > np.abs(raw_p - 0.5).mean() + 0.05
    shown = evaluate(saved.member_probs(fa[held], fb[held]).mean(0), target[held])
    assert model["log_loss"] == pytest.approx(shown["log_loss"], abs=1e-6)
    assert model["ece"] == pytest.approx(shown["ece"], abs=1e-6)
