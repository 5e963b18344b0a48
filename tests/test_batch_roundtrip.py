"""Batch runs: the request file (both orders, our template) answered by the loopback judge server in
the Batch API's results shape, read back as the judge's verdicts; failed or missing lines leave
their pairs queued."""

from __future__ import annotations

import json

from annotate_app.cli import main
from annotate_app.judge.spec import http_judge_id
from annotate_app.store import Store
from tests.judge_server import JudgeServer, ServerState, run_batch


def _project(tmp_path, n: int = 6):
    data, db = tmp_path / "pairs.jsonl", tmp_path / "p.duckdb"
    rows = [
        {"prompt": f"Question {i}?", "response_a": f"GOOD answer {i}.", "response_b": f"Meh {i}."}
        for i in range(n)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["--db", str(db), "import", str(data)]) == 0
    return db


def test_batch_request_file_results_and_queued_failures(tmp_path, capsys):
    db = _project(tmp_path)
    requests, results = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    with JudgeServer(ServerState(mode="logprobs")) as server:
        judge = ["--judge", f"openai:{server.url}", "--model", "m1"]
        assert main(["--db", str(db), "judge", *judge, "--batch-out", str(requests)]) == 0
        lines = [json.loads(x) for x in requests.read_text().splitlines()]
        assert len(lines) == 12 and server.state.requests == 0  # nothing was sent yet
        ids = [x["custom_id"] for x in lines]
        pairs = sorted({c.rsplit(":", 1)[0] for c in ids})
        assert sorted(ids) == sorted(f"{p}:{o}" for p in pairs for o in ("ab", "ba"))
        first = lines[0]
        assert first["url"] == "/v1/chat/completions" and first["body"]["model"] == "m1"
        assert "[The Start of Assistant A's Answer]" in first["body"]["messages"][-1]["content"]
        broken = {
            f"{pairs[0]}:ab": "error",
            f"{pairs[1]}:ba": "missing",
            f"{pairs[2]}:ab": "status",
        }
        run_batch(server, str(requests), str(results), broken)
        with results.open("a") as fh:
            fh.write("{not json\n")
        capsys.readouterr()
        assert main(["--db", str(db), "import-batch", str(results), *judge]) == 0
        out = capsys.readouterr().out
        assert "stored 3 verdicts" in out and "3 pairs left queued" in out
        assert "results.jsonl:12: not JSON" in out
        assert f"{pairs[0]}:ab: the API reported" in out
        judge_id = http_judge_id(server.url, "m1")
        with Store(db) as store:
            verdicts = store.judge_verdicts(judge_id)
            texts = store.judge_candidates(judge_id, "all", None)
            assert sorted(texts["pair_id"]) == pairs[:3]  # the failed ones stay queued
        assert len(verdicts) == 3 and verdicts["consistent"].all()
        # A holds GOOD in every pair unless the stored orientation put it second
        assert ((verdicts["p_a"] - 0.5).abs() > 0.3).all()
        # the next request file asks about exactly the queued pairs
        again = tmp_path / "again.jsonl"
        assert main(["--db", str(db), "judge", *judge, "--batch-out", str(again)]) == 0
        ids = {json.loads(x)["custom_id"].rsplit(":", 1)[0] for x in again.read_text().splitlines()}
        assert ids == set(pairs[:3])


def test_batch_needs_an_openai_judge(tmp_path):
    db = _project(tmp_path, 1)
    assert main(["--db", str(db), "judge", "--batch-out", str(tmp_path / "r.jsonl")]) == 1
