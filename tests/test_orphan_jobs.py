"""Jobs survive their starter: the next process that opens the project adopts them.

The starter is a real process that is killed with SIGKILL while its worker (in its own session)
runs on. The next process collects a worker that finished, follows one that still reports progress,
and stops one that is stale, marking it failed. `annotate train` after a killed `annotate train`
follows the left-over job, then trains.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from annotate_app.config import ProjectPaths
from annotate_app.ingest import ImportOptions, PairConfig, import_file
from annotate_app.jobs import JobRunner
from annotate_app.jobs.runner import _alive
from annotate_app.reward.jobs import TRAIN, TrainingBusy, start_training
from annotate_app.store import Store
from tests.seed import human_answer, human_label, human_labels

STARTER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from annotate_app.config import ProjectPaths
    from annotate_app.jobs import JobRunner
    from annotate_app.store import Store
    store = Store(ProjectPaths(db=sys.argv[1], work_dir=sys.argv[2]))
    job = JobRunner(store).submit(
        "test-squares", {"chunk": 1, "delay": float(sys.argv[3])},
        {"numbers": pd.DataFrame({"n": list(range(int(sys.argv[4])))})},
    )
    print(job, flush=True)
    time.sleep(600)
    """
)


def _start_and_kill_starter(paths: ProjectPaths, delay: float, count: int) -> tuple[str, int]:
    """A process starts a job, then dies by SIGKILL; returns (job id, worker pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(paths.db), str(paths.work_dir), str(delay), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        job_id = proc.stdout.readline().strip()
        assert job_id.startswith("test-squares-"), job_id
        job_dir = paths.jobs_dir / job_id
        deadline = time.monotonic() + 60
        while not (job_dir / "progress.json").exists():
            assert time.monotonic() < deadline, "the worker never reported"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with Store(paths) as store:  # JobRunner is not made here: only the row is read
        pid = int(store.get_job(job_id)["pid"])
    return job_id, pid


def _squares(store: Store) -> int:
    return sum(1 for k in store.all_settings() if k.startswith("square:"))


@pytest.fixture
def paths(project_paths: ProjectPaths) -> ProjectPaths:
    Store(project_paths).close()
    return project_paths


def test_a_stale_orphan_is_killed_and_failed(paths: ProjectPaths) -> None:
    job_id, worker = _start_and_kill_starter(paths, delay=30, count=5)
    assert _alive(worker), "the worker outlives its starter"
    time.sleep(1.0)
    with Store(paths) as store:
        runner = JobRunner(store, stale_s=0.5)
        assert runner.adopted == [(job_id, "killed: orphaned and stale")]
        job = store.get_job(job_id)
        assert job["status"] == "failed"
        assert job["error"].startswith("orphaned: the process that started it")
        assert store.active_job("test-squares") is None
    assert not _alive(worker)


def test_a_live_orphan_is_followed_and_collected(paths: ProjectPaths) -> None:
    job_id, worker = _start_and_kill_starter(paths, delay=0.3, count=6)
    with Store(paths) as store:
        runner = JobRunner(store, stale_s=60)
        assert runner.adopted == [(job_id, "followed: its worker still runs")]
        job = runner.wait(job_id, interval=0.05)
        assert job["status"] == "done" and job["result"] == {"count": 6}
        assert _squares(store) == 6
    owner = json.loads((paths.jobs_dir / job_id / "owner.json").read_text())
    assert owner["pid"] == os.getpid()


def test_a_finished_orphan_is_collected_on_open(paths: ProjectPaths) -> None:
    job_id, worker = _start_and_kill_starter(paths, delay=0, count=4)
    deadline = time.monotonic() + 60
    while _alive(worker):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with Store(paths) as store:
        runner = JobRunner(store)
        assert runner.adopted == [(job_id, "done")]
        assert _squares(store) == 4


def test_busy_names_the_job_and_how_to_cancel(paths: ProjectPaths, demo_dir: Path) -> None:
    with Store(paths) as store:
        import_file(store, demo_dir / "responses.jsonl")
        human_label(store, store.pairs_frame()["pair_id"].iloc[0], "alice", 1)
        store.create_job("train-left-over", TRAIN, {})
        store.update_job("train-left-over", status="running", pid=os.getpid())
        job_dir = paths.jobs_dir / "train-left-over"
        job_dir.mkdir(parents=True)
        (job_dir / "owner.json").write_text(json.dumps({"pid": os.getpid()}))  # ours: not adopted
        runner = JobRunner(store)
        assert runner.adopted == []
        with pytest.raises(TrainingBusy, match=r"annotate jobs cancel train-left-over"):
            start_training(store, runner)


def _annotate(paths: ProjectPaths, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "annotate_app.cli", "--db", str(paths.db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ANNOTATE_WORK_DIR": str(paths.work_dir)},
        **kw,
    )


def test_killed_train_cli_is_adopted_by_the_next_train(paths: ProjectPaths, demo_dir) -> None:
    with Store(paths) as store:
        import_file(
            store, demo_dir / "responses.jsonl", ImportOptions(pairs=PairConfig(pairs_per_prompt=1))
        )
        pairs = store.pairs_frame()["pair_id"].tolist()
        human_labels(
            store, [human_answer(p, "alice", 1 if i % 2 else -1) for i, p in enumerate(pairs[:24])]
        )
    first = _annotate(paths, "train", "--device", "cpu")
    try:
        deadline = time.monotonic() + 120
        while not list(paths.jobs_dir.glob("train-*/owner.json")):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)  # the CLI only; its worker runs on in its own session
        first.wait(timeout=10)
    (left,) = [p.name for p in paths.jobs_dir.glob("train-*")]

    second = _annotate(paths, "train", "--device", "cpu")
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert "TrainingBusy" not in out + err and "Traceback" not in err
    with Store(paths) as store:
        jobs = store.list_jobs(status=None)
        statuses = dict(zip(jobs["id"], jobs["status"], strict=True))
        assert statuses[left] in ("done", "failed"), statuses
        assert len(statuses) == 2 and list(statuses.values()).count("done") >= 1
        assert store.active_model() is not None
        assert store.active_job(TRAIN) is None


def test_jobs_list_and_cancel_from_the_cli(paths: ProjectPaths) -> None:
    job_id, worker = _start_and_kill_starter(paths, delay=0.5, count=200)
    listed = _annotate(paths, "jobs", "list", "--json")
    out, err = listed.communicate(timeout=120)
    assert listed.returncode == 0, err
    assert f"adopted {job_id} from a process that is gone: followed" in out
    rows = json.loads(out[out.index("[") :])
    assert [(r["id"], r["status"]) for r in rows] == [(job_id, "running")]
    cancel = _annotate(paths, "jobs", "cancel", job_id, "--grace", "5")
    out, err = cancel.communicate(timeout=120)
    assert cancel.returncode == 0, err
    assert out.strip() == f"job {job_id} cancelled"
    assert not _alive(worker)
    missing = _annotate(paths, "jobs", "cancel", "no-such-job")
    _, err = missing.communicate(timeout=120)
    assert missing.returncode == 1 and err.count("\n") == 1 and "no job no-such-job" in err


def test_a_job_of_an_unknown_kind_does_not_stop_the_next_process(paths: ProjectPaths) -> None:
    with Store(paths) as store:
        store.create_job("plugin-1", "gone-plugin", {})
        store.update_job("plugin-1", status="running")
        runner = JobRunner(store)
        ((job_id, what),) = runner.adopted
        assert job_id == "plugin-1" and what.startswith("left as it is: ValueError: unknown job")
