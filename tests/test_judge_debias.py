"""Position debiasing arithmetic, the verdict-to-choice mapping, specs and templates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotate_app.judge.debias import choice_from_p_a, combine, consistent, debiased_p_a
from annotate_app.judge.prompt import JudgeTemplate, TemplateError
from annotate_app.judge.protocol import Comparison, RawVerdict
from annotate_app.judge.spec import JudgeSpec, JudgeSpecError

prob = st.floats(0, 1)


def test_debias_formula():
    assert debiased_p_a(0.9, 0.2) == pytest.approx(0.5 * (0.9 + 1 - 0.2))
    # a judge that always says "first" is pure position bias: it carries no preference
    assert debiased_p_a(1.0, 1.0) == 0.5
    assert debiased_p_a(1.0, 0.0) == 1.0 and debiased_p_a(0.0, 1.0) == 0.0


@given(prob, prob)
def test_debias_is_symmetric_under_swapping_a_and_b(p_ab, p_ba):
    # judging (B, A) instead of (A, B) swaps the two readings; P(B better) must come out
    assert debiased_p_a(p_ba, p_ab) == pytest.approx(1 - debiased_p_a(p_ab, p_ba))
    assert 0 <= debiased_p_a(p_ab, p_ba) <= 1


def test_consistency_flag():
    assert consistent(0.8, 0.3)  # A preferred in both orders
    assert consistent(0.2, 0.7)  # B preferred in both orders
    assert not consistent(0.8, 0.7)  # "first" wins both times: position bias
    assert consistent(0.5, 0.5) and not consistent(0.5, 0.2)


def test_combine_counts_a_tie_as_half():
    ab = RawVerdict({"A": 0.6, "B": 0.2, "C": 0.2}, "logits", latency_s=1.0, prompt_tokens=10)
    ba = RawVerdict({"A": 0.1, "B": 0.5, "C": 0.4}, "logits", latency_s=2.0, prompt_tokens=12)
    v = combine("p", ab, ba)
    assert v.p_ab == pytest.approx(0.7) and v.p_ba == pytest.approx(0.3)
    assert v.p_a == pytest.approx(0.7) and v.consistent
    assert v.latency_s == 3.0 and v.tokens == 22


def test_choice_from_p_a():
    assert [choice_from_p_a(p) for p in (0.95, 0.7, 0.5, 0.3, 0.05)] == [2, 1, 0, -1, -2]


def test_specs():
    assert JudgeSpec.parse("local").judge_id == "local:smollm2-135m-instruct-q4_1"
    assert JudgeSpec.parse("hf:/models/qwen").target == "/models/qwen"
    spec = JudgeSpec.parse("openai:http://h:8000/v1", model="llama")
    assert spec.judge_id == "openai:llama@http://h:8000/v1"
    assert JudgeSpec.from_dict(spec.to_dict()) == spec
    for bad, kw in (("openai:http://h", {}), ("gpt4", {}), ("openai:h:1", {"model": "m"})):
        with pytest.raises(JudgeSpecError):
            JudgeSpec.parse(bad, **kw)


def test_template_uses_guidelines_and_validates():
    t = JudgeTemplate.from_setting({"max_answer_chars": 5})
    msgs = t.messages(
        Comparison([{"role": "user", "content": "hi"}], "first answer", "second"), "Be kind."
    )
    assert "Be kind." in msgs[0]["content"]
    assert "first [...]" in msgs[1]["content"] and "User: hi" in msgs[1]["content"]
    with pytest.raises(TemplateError, match="missing placeholders"):
        JudgeTemplate.from_setting("only {answer_a}")
    with pytest.raises(TemplateError, match="unknown placeholders"):
        JudgeTemplate.from_setting({"system": "{nope}"})
    with pytest.raises(TemplateError, match="unknown keys"):
        JudgeTemplate.from_setting({"colour": "red"})
