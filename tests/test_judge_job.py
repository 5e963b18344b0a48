"""The judge job in the real worker subprocess, judging through a loopback OpenAI-protocol server."""

from __future__ import annotations

import os
import signal
import time

import pytest

from annotate_app.analytics.calibration import judge_report
from annotate_app.cli import main
from annotate_app.ingest import ImportOptions, import_file
from annotate_app.jobs import JobRunner
from annotate_app.judge.jobs import JudgeBusy, JudgeJobConfig, submit_judge_job
from annotate_app.judge.spec import JudgeSpec
from tests.judge_server import JudgeServer, ServerState


@pytest.fixture
def gold_store(store, demo_dir):
    """The demo gold file: 10 pairs, each with a known (imported) label."""
    import_file(store, demo_dir / "gold.jsonl", ImportOptions())
    return store


def spec_for(server: JudgeServer) -> JudgeSpec:
    options = {"max_retries": 1, "backoff_s": 0.01, "concurrency": 1, "timeout_s": 5.0}
    return JudgeSpec.parse(f"openai:{server.url}", model="tiny", **options)


def ai_rows(store, judge_id: str):
    return store.label_events().query("source == 'ai' and annotator == @judge_id")


def test_killed_job_leaves_whole_chunks_and_the_next_run_resumes(gold_store):
    store = gold_store
    runner = JobRunner(store)
    with JudgeServer(ServerState(mode="text", delay_s=0.1)) as server:
        spec = spec_for(server)
        job_id, n = submit_judge_job(store, runner, spec, JudgeJobConfig(chunk_size=2))
        assert n == 10
        with pytest.raises(JudgeBusy):
            submit_judge_job(store, runner, spec)
        outputs = runner.job_dir(job_id) / "outputs"
        deadline = time.time() + 60
        while not list(outputs.glob("chunk-*.parquet")) and time.time() < deadline:
            runner.poll(job_id)
            time.sleep(0.05)
        os.killpg(store.get_job(job_id)["pid"], signal.SIGKILL)
        job = runner.wait(job_id, raise_on_failure=False)
        assert job["status"] == "failed" and "SIGKILL" in job["error"]
        chunks = len(list(outputs.glob("chunk-*.parquet")))
        first = ai_rows(store, spec.judge_id)
        assert 1 <= chunks < 5
        assert len(first) == 2 * chunks and first["pair_id"].is_unique

        job_id, n = submit_judge_job(store, runner, spec, JudgeJobConfig(chunk_size=4))
        assert n == 10 - len(first)
        job = runner.wait(job_id)
        assert job["result"]["judged"] == n
    rows = ai_rows(store, spec.judge_id)
    assert len(rows) == 10 and rows["pair_id"].is_unique
    # the server prefers nothing (no GOOD marker): text verdicts are all ties -> p_a in {0, .5, 1}
    assert set(rows["p_a"]) <= {0.0, 0.5, 1.0} and rows["judge_id"].eq(spec.judge_id).all()
    assert submit_judge_job(store, runner, spec) == (None, 0)
    report = judge_report(store)[spec.judge_id]
    assert report["n"] == 10 and report["n_verdicts"] == 10


def test_unreachable_endpoint_fails_the_job_and_keeps_pairs_queued(gold_store, capsys):
    store = gold_store
    with JudgeServer() as server:
        url = server.url
    db = str(store.paths.db)
    store.close()  # the CLI opens the project itself
    judge = ["--judge", f"openai:{url}", "--model", "m", "--limit", "3", "--retries", "1"]
    code = main(["--db", db, "judge", *judge])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot reach the server" in err and "0 verdicts" in err and "resumes" in err


def test_cli_judges_and_reports(gold_store, capsys):
    store = gold_store
    db = str(store.paths.db)
    store.close()
    with JudgeServer(ServerState(mode="logprobs")) as server:
        args = ["--db", db, "judge", "--judge", f"openai:{server.url}/v1", "--model", "m"]
        assert main(args) == 0
        assert "judged 10 pairs" in capsys.readouterr().out
        assert main(args) == 0
        assert "nothing to judge" in capsys.readouterr().out
    # the judge job stored v1 itself (its verdicts met the gold labels); --fit adds v2
    assert main(["--db", db, "judge-report", "--fit", "platt"]) == 0
    out = capsys.readouterr().out
    assert "stored platt calibration v2" in out and "openai:m@" in out
