"""JobRunner with a real worker subprocess: done, crash, SIGKILL, cancel, incremental collect."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import pytest

from annotate_app.jobs import JobFailed, JobRunner
from annotate_app.store import Store

NUMBERS = pd.DataFrame({"n": list(range(10))})


def squares(store: Store) -> dict[int, int]:
    return {
        int(k.split(":")[1]): v for k, v in store.all_settings().items() if k.startswith("square:")
    }


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_done_collects_everything(store: Store) -> None:
    runner = JobRunner(store)
    job_id = runner.submit("test-squares", {"chunk": 3}, {"numbers": NUMBERS})
    seen: list[float] = []
    job = runner.wait(job_id, on_progress=lambda j: seen.append(j["progress"]), interval=0.05)
    assert job["status"] == "done"
    assert job["progress"] == 1.0
    assert job["result"] == {"count": 10}
    assert job["finished_at"] is not None and job["pid"] > 0
    assert squares(store) == {n: n * n for n in range(10)}
    assert seen == sorted(seen)  # progress only moves forward
    assert store.active_job("test-squares") is None


def test_crash_is_failed_with_the_error(store: Store) -> None:
    runner = JobRunner(store)
    job_id = runner.submit("test-squares", {"chunk": 2, "crash_at": 4}, {"numbers": NUMBERS})
    with pytest.raises(JobFailed, match="RuntimeError: planned crash at 4"):
        runner.wait(job_id, interval=0.05)
    job = store.get_job(job_id)
    assert job["status"] == "failed"
    assert "Traceback" in job["error"] and "tests/jobkinds.py" in job["error"]
    # Whole chunks written before the crash are kept, so a rerun can resume.
    assert squares(store) == {n: n * n for n in range(4)}


def test_sigkill_is_failed(store: Store) -> None:
    runner = JobRunner(store)
    job_id = runner.submit("test-squares", {"chunk": 2, "die_at": 6}, {"numbers": NUMBERS})
    job = runner.wait(job_id, interval=0.05, raise_on_failure=False)
    assert job["status"] == "failed"
    assert job["error"].startswith("the worker was killed by SIGKILL")
    assert squares(store) == {n: n * n for n in range(6)}


def test_external_kill_of_a_running_worker(store: Store) -> None:
    runner = JobRunner(store)
    job_id = runner.submit("test-squares", {"chunk": 1, "delay": 0.5}, {"numbers": NUMBERS})
    wait_for(lambda: runner.poll(job_id)["progress"] > 0)
    os.killpg(store.get_job(job_id)["pid"], signal.SIGKILL)
    job = runner.wait(job_id, interval=0.05, raise_on_failure=False)
    assert job["status"] == "failed" and "SIGKILL" in job["error"]
    assert 0 < len(squares(store)) < 10


def test_cancel(store: Store) -> None:
    runner = JobRunner(store)
    job_id = runner.submit("test-squares", {"chunk": 1, "delay": 0.3}, {"numbers": NUMBERS})
    wait_for(lambda: runner.poll(job_id)["progress"] > 0)
    runner.cancel(job_id)
    job = store.get_job(job_id)
    assert job["status"] == "cancelled"
    assert job["finished_at"] is not None
    with pytest.raises(JobFailed, match="cancelled"):
        runner.wait(job_id)
    assert len(squares(store)) < 10


def test_incremental_collect_keeps_whole_chunks(store: Store) -> None:
    """While the job runs, polling ingests finished chunk files; a half-written file is never read."""
    runner = JobRunner(store)
    job_id = runner.submit("test-squares", {"chunk": 2, "delay": 0.4}, {"numbers": NUMBERS})
    out = runner.job_dir(job_id) / "outputs"
    # A stray temp file (as write_output leaves while writing) must not break or feed the collector.
    wait_for(lambda: out.exists())
    (out / ".chunk-999999.parquet.tmp").write_bytes(b"PAR1 half a file")
    wait_for(lambda: len(squares(store)) >= 2 or runner.poll(job_id)["status"] != "running")
    job = store.get_job(job_id)
    assert job["status"] == "running", "the job finished before an incremental collect was seen"
    got = squares(store)
    assert len(got) % 2 == 0 and got == {n: n * n for n in sorted(got)}  # only whole chunks
    job = runner.wait(job_id, interval=0.05)
    assert job["status"] == "done"
    assert squares(store) == {n: n * n for n in range(10)}


def test_unknown_kind_writes_nothing(store: Store) -> None:
    runner = JobRunner(store)
    with pytest.raises(ValueError, match="unknown job kind 'nope'"):
        runner.submit("nope")
    assert store.list_jobs().empty
    assert not store.paths.jobs_dir.exists() or not any(store.paths.jobs_dir.iterdir())


def test_a_new_runner_finishes_a_job_it_did_not_start(store: Store) -> None:
    """After an app restart a fresh runner knows the job only by its row and pid; a worker that
    wrote its result before the restart counts as done, and its output is collected."""
    first = JobRunner(store)
    job_id = first.submit("test-squares", {"chunk": 5}, {"numbers": NUMBERS})
    first._procs.pop(job_id).wait(timeout=60)  # the worker ends while nobody polls it
    job = JobRunner(store).wait(job_id, interval=0.05)
    assert job["status"] == "done" and job["result"] == {"count": 10}
    assert squares(store) == {n: n * n for n in range(10)}


def test_a_worker_gone_without_result_is_failed(store: Store) -> None:
    first = JobRunner(store)
    job_id = first.submit("test-squares", {"chunk": 2, "die_at": 0}, {"numbers": NUMBERS})
    first._procs.pop(job_id).wait(timeout=60)
    job = JobRunner(store).wait(job_id, interval=0.05, raise_on_failure=False)
    assert job["status"] == "failed" and job["error"].startswith("the worker is gone")
