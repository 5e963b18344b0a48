"""The parent side of a job: snapshot inputs, start the worker, follow it, ingest its output.

The process that owns the DuckDB file (the app, or a CLI command) runs this. Job state is written to
the ``jobs`` table as it changes, so the UI and ``annotate`` show the same thing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from annotate_app.jobs.context import (
    CANCEL,
    ERROR,
    INPUTS,
    PARAMS,
    PROGRESS,
    RESULT,
    write_json_atomic,
)
from annotate_app.jobs.kinds import get_kind, resolve
from annotate_app.jobs.worker import EXIT_CANCELLED
from annotate_app.store import Store

FINISHED = ("done", "failed", "cancelled")
LOG = "worker.log"
OWNER = "owner.json"  # the process that started (or adopted) the job and ingests its output
# A worker of a dead starter that reported no progress for this long is killed (ANNOTATE_JOB_STALE_S)
STALE_S = float(os.environ.get("ANNOTATE_JOB_STALE_S", "900"))


class JobFailed(RuntimeError):
    """A job ended failed or cancelled; the message is the job's own error."""


def _now() -> dt.datetime:
    return dt.datetime.now()


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except OSError:
        return False
    try:  # a zombie is dead for our purposes
        state = Path(f"/proc/{int(pid)}/stat").read_text().split(") ", 1)[1][:1]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class JobRunner:
    """Starts and follows jobs for the process that holds the project file.

    A new runner first adopts the unfinished jobs of processes that are gone (see ``adopt_orphans``):
    only one process can hold the file, so a job whose starter is another process has lost it.
    """

    def __init__(self, store: Store, stale_s: float = STALE_S) -> None:
        self.store = store
        self.stale_s = stale_s
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self.adopted = self.adopt_orphans()

    def job_dir(self, job_id: str) -> Path:
        return self.store.paths.jobs_dir / job_id

    def submit(
        self,
        kind: str,
        params: dict[str, Any] | None = None,
        inputs: dict[str, pd.DataFrame] | None = None,
    ) -> str:
        """Write the inputs, record the job and start its worker; returns at once with the job id."""
        get_kind(kind)  # fail early on a typo, before anything is written
        params = params or {}
        job_id = f"{kind}-{_now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        job_dir = self.job_dir(job_id)
        (job_dir / INPUTS).mkdir(parents=True)
        for name, frame in (inputs or {}).items():
            frame.to_parquet(job_dir / INPUTS / f"{name}.parquet", index=False)
        write_json_atomic(job_dir / PARAMS, {"job_id": job_id, "kind": kind, "params": params})
        self.store.create_job(job_id, kind, params)
        self._start(job_id, job_dir)
        return job_id

    def _start(self, job_id: str, job_dir: Path) -> None:
        env = {**os.environ, "ANNOTATE_WORK_DIR": str(self.store.paths.work_dir)}
        with (job_dir / LOG).open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "annotate_app.jobs.worker", str(job_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        with self._lock:
            self._procs[job_id] = proc
        self._own(job_dir)
        self.store.update_job(job_id, status="running", pid=proc.pid, started_at=_now())

    @staticmethod
    def _own(job_dir: Path) -> None:
        write_json_atomic(job_dir / OWNER, {"pid": os.getpid(), "at": time.time()})

    @staticmethod
    def _owner(job_dir: Path) -> int | None:
        try:
            return int(json.loads((job_dir / OWNER).read_text(encoding="utf-8"))["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _last_activity(self, job_dir: Path) -> float:
        """When the worker last reported progress (or the job was written, before its first report)."""
        times = [p.stat().st_mtime for p in (job_dir / PROGRESS, job_dir / PARAMS) if p.exists()]
        return max(times, default=0.0)

    def adopt_orphans(self) -> list[tuple[str, str]]:
        """Take over the unfinished jobs whose starting process is gone. Returns (job id, outcome).

        A worker that ended is collected now (done if it wrote its result, else failed). A live one
        is followed from here on, unless it reported no progress for ``stale_s``: then nobody is
        waiting for it, so it is killed and the job marked failed.
        """
        outcomes: list[tuple[str, str]] = []
        jobs = self.store.list_jobs(limit=1000, status=("queued", "running"))
        for job_id, pid in zip(jobs["id"], jobs["pid"], strict=True):
            job_dir = self.job_dir(job_id)
            owner = self._owner(job_dir)
            if owner == os.getpid():
                continue
            pid = None if pd.isna(pid) else int(pid)
            if job_dir.exists():
                self._own(job_dir)
            idle = time.time() - self._last_activity(job_dir)
            if _alive(pid) and idle > self.stale_s:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                deadline = time.time() + 5
                while _alive(pid) and time.time() < deadline:
                    time.sleep(0.05)
                self._end(
                    job_id,
                    "failed",
                    error=f"orphaned: the process that started it (PID {owner or 'unknown'}) is "
                    f"gone and its worker (PID {pid}) reported nothing for {idle:.0f} s; "
                    "it was stopped",
                )
                outcomes.append((job_id, "killed: orphaned and stale"))
                continue
            try:
                status = self.poll(job_id)["status"]
            except Exception as exc:  # noqa: BLE001 - one bad job must not stop the process opening
                outcomes.append((job_id, f"left as it is: {type(exc).__name__}: {exc}"))
                continue
            outcomes.append(
                (job_id, "followed: its worker still runs" if status == "running" else status)
            )
        return outcomes

    def _exit_code(self, job_id: str, pid: int | None) -> int | None:
        """The worker's exit code, or None while it runs (or when it is gone and was not ours)."""
        with self._lock:
            proc = self._procs.get(job_id)
        if proc is not None:
            code = proc.poll()
            if code is not None:
                with self._lock:
                    self._procs.pop(job_id, None)
            return code
        return None if _alive(pid) else -999

    def poll(self, job_id: str) -> dict:
        """Bring the job row up to date with its worker; collect output when it ends."""
        job = self.store.get_job(job_id)
        if job is None:
            raise ValueError(f"no job {job_id}")
        if job["status"] in FINISHED:
            return job
        job_dir = self.job_dir(job_id)
        kind = get_kind(job["kind"])
        code = self._exit_code(job_id, job["pid"])
        progress_file = job_dir / PROGRESS
        if code is None:
            changed = False
            if progress_file.exists():
                state = json.loads(progress_file.read_text(encoding="utf-8"))
                # A follower polls several times a second: write only what the worker changed.
                if (state["progress"], state.get("message")) != (job["progress"], job["message"]):
                    self.store.update_job(
                        job_id, progress=state["progress"], message=state.get("message")
                    )
                    changed = True
            if kind.incremental and kind.collect:
                self._collect(kind.collect, job_dir, final=False)
                changed = True
            return self.store.get_job(job_id) if changed else job
        self._finish(job_id, job_dir, kind, code)
        return self.store.get_job(job_id)

    def _collect(self, target: str, job_dir: Path, final: bool) -> None:
        collect: Callable = resolve(target)
        collect(self.store, job_dir, final)

    def _finish(self, job_id: str, job_dir: Path, kind, code: int) -> None:
        # The worker writes result.json as its last act, so with it on disk a worker we did not
        # start (the app restarted meanwhile; code -999) still finished its work.
        if code in (0, -999) and (job_dir / RESULT).exists():
            result = json.loads((job_dir / RESULT).read_text(encoding="utf-8"))
            try:
                if kind.collect:
                    self._collect(kind.collect, job_dir, final=True)
            except Exception as exc:  # noqa: BLE001 - recorded on the job, the app carries on
                self._end(job_id, "failed", error=f"collecting results failed: {exc}")
                return
            self._end(job_id, "done", progress=1.0, result=result, message="done")
            return
        if kind.incremental and kind.collect:  # keep whole chunks so the next run resumes
            self._collect(kind.collect, job_dir, final=False)
        if code == EXIT_CANCELLED or (job_dir / CANCEL).exists():
            self._end(job_id, "cancelled", message="cancelled")
            return
        error = self._error_text(job_dir, code)
        self._end(job_id, "failed", error=error)

    @staticmethod
    def _error_text(job_dir: Path, code: int) -> str:
        if (job_dir / ERROR).exists():
            return (job_dir / ERROR).read_text(encoding="utf-8").strip()
        if code == -999:
            why = "the worker is gone (the app may have restarted while it ran)"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            why = f"the worker was killed by {name}" + (
                " (out of memory?)" if name == "SIGKILL" else ""
            )
        else:
            why = f"the worker exited with code {code}"
        tail = _tail(job_dir / LOG)
        return why + (f"\n\nlast output:\n{tail}" if tail else "")

    def _end(self, job_id: str, status: str, **fields: Any) -> None:
        self.store.update_job(job_id, status=status, finished_at=_now(), **fields)

    def wait(
        self,
        job_id: str,
        on_progress: Callable[[dict], None] | None = None,
        interval: float = 0.2,
        raise_on_failure: bool = True,
    ) -> dict:
        """Follow a job to its end (the CLI's way); Ctrl-C cancels it."""
        try:
            while True:
                job = self.poll(job_id)
                if on_progress:
                    on_progress(job)
                if job["status"] in FINISHED:
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            self.cancel(job_id)
            job = self.wait(job_id, raise_on_failure=False)
        if raise_on_failure and job["status"] != "done":
            first = (job.get("error") or job["status"]).splitlines()[0]
            raise JobFailed(f"job {job_id} {job['status']}: {first}")
        return job

    def cancel(self, job_id: str, grace: float = 10.0) -> None:
        """Ask the worker to stop at its next progress report; kill it if it does not."""
        job = self.store.get_job(job_id)
        if job is None or job["status"] in FINISHED:
            return
        (self.job_dir(job_id) / CANCEL).touch()
        deadline = time.time() + grace
        while self._exit_code(job_id, job["pid"]) is None and time.time() < deadline:
            time.sleep(0.1)
        if _alive(job["pid"]):
            with contextlib.suppress(OSError):
                os.killpg(int(job["pid"]), signal.SIGKILL)
            deadline = time.time() + 5  # a killed process still needs a moment to be reaped
            while _alive(job["pid"]) and time.time() < deadline:
                with self._lock:
                    proc = self._procs.get(job_id)
                if proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=0.1)
                else:
                    time.sleep(0.1)
        self.poll(job_id)

    def poll_all(self) -> None:
        """Follow every unfinished job; the app calls this from one background thread."""
        jobs = self.store.list_jobs(limit=100, status=("queued", "running"))
        for job_id in jobs["id"]:
            self.poll(job_id)
