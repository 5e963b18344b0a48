"""The OpenAI-compatible judge against a real HTTP server on loopback."""

from __future__ import annotations

import socket

import pytest

from annotate_app.judge.debias import judge_pairs
from annotate_app.judge.http import HttpJudge, HttpJudgeConfig, parse_reply
from annotate_app.judge.protocol import JudgeUnavailable, PairText
from tests.judge_server import JudgeServer, ServerState

PAIRS = [
    PairText("p1", [{"role": "user", "content": "Say hi."}], "GOOD: hello there!", "meh"),
    PairText("p2", [{"role": "user", "content": "Count to 3."}], "4 5 6", "GOOD: 1 2 3"),
]


def make_judge(server: JudgeServer, **kw: object) -> HttpJudge:
    options = {"timeout_s": 5.0, "max_retries": 2, "backoff_s": 0.01, "concurrency": 2} | kw
    return HttpJudge(HttpJudgeConfig(url=server.url + "/v1", model="tiny", **options))


def test_logprobs_give_probabilities_and_debias():
    with JudgeServer(ServerState(mode="logprobs")) as server:
        v1, v2 = judge_pairs(make_judge(server), PAIRS)
    # A first: P(first)=0.8+0.05/2; B first: the server picks B (the GOOD one) -> P(first)=.15+.025
    assert v1.p_ab == pytest.approx(0.825)
    assert v1.p_ba == pytest.approx(0.175)
    assert v1.p_a == pytest.approx(0.5 * (0.825 + 1 - 0.175))
    assert v1.consistent and v1.details["method"] == "logprobs"
    assert v2.p_a == pytest.approx(1 - 0.825) and v2.consistent
    assert v1.tokens == 2 * 108
    assert "GOOD" in v1.rationale and "[[" not in v1.rationale


def test_text_parsing_without_logprobs():
    with JudgeServer(ServerState(mode="text")) as server:
        v1, v2 = judge_pairs(make_judge(server), PAIRS)
    assert (v1.p_ab, v1.p_ba, v1.p_a) == (1.0, 0.0, 1.0)
    assert v2.p_a == 0.0 and v2.details["method"] == "text"


def test_server_rejecting_logprobs_is_asked_plainly():
    with JudgeServer(ServerState(mode="logprobs", reject_logprobs=True)) as server:
        (v1,) = judge_pairs(make_judge(server, concurrency=1), PAIRS[:1])
    assert v1.p_a == 1.0 and v1.details["method"] == "text"


def test_500_is_retried_with_backoff():
    with JudgeServer(ServerState(mode="text", fail_first=2)) as server:
        (v1,) = judge_pairs(make_judge(server, concurrency=1, max_retries=3), PAIRS[:1])
        assert server.state.failures_served == 2
        assert server.state.requests == 4
    assert v1.p_a == 1.0


def test_persistent_500_fails_clearly():
    with (
        JudgeServer(ServerState(fail_first=100)) as server,
        pytest.raises(JudgeUnavailable, match="failed 3 times.*HTTP 500"),
    ):
        judge_pairs(make_judge(server, concurrency=1), PAIRS[:1])


def test_timeout_is_retried_then_fails():
    with JudgeServer(ServerState(delay_s=0.6)) as server:
        judge = make_judge(server, timeout_s=0.15, max_retries=1, concurrency=1)
        with pytest.raises(JudgeUnavailable, match="timed out"):
            judge_pairs(judge, PAIRS[:1])
        assert server.state.requests == 4  # both orders, each tried twice


def test_malformed_output_gives_no_verdict():
    with JudgeServer(ServerState(mode="malformed")) as server:
        assert judge_pairs(make_judge(server), PAIRS) == [None, None]
    with JudgeServer(ServerState(mode="garbled")) as server:
        assert judge_pairs(make_judge(server), PAIRS) == [None, None]
    assert parse_reply({"choices": []}) is None
    assert (
        parse_reply({"choices": [{"message": {"content": "[[A]] or maybe [[B]]"}}]}).probs["A"]
        == 1.0
    )


def test_unreachable_endpoint_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    judge = HttpJudge(
        HttpJudgeConfig(url=f"http://127.0.0.1:{port}", model="x", max_retries=1, backoff_s=0.01)
    )
    with pytest.raises(JudgeUnavailable, match=f"127.0.0.1:{port}/v1/chat/completions"):
        judge_pairs(judge, PAIRS[:1])


def test_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANNOTATE_JUDGE_API_KEY", "sk-test")
    with JudgeServer(ServerState(mode="text")) as server:
        judge_pairs(make_judge(server), PAIRS[:1])
        assert server.state.auth == ["Bearer sk-test", "Bearer sk-test"]
