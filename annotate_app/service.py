"""The app's background service: the one project Store of a server process and its service thread.

DuckDB lets one process hold the project file, so the server opens it once, at start, and holds it
until it stops (``annotate serve`` opens it before Streamlit listens; see ``cli/serve.py``). Every
browser session takes short cursors on that one connection. One thread, started here:

- writes the leases the label page handed out that no answer commit carried (in batches, off the
  answer path), and deletes expired lease rows;
- follows running jobs, so their progress reaches the ``jobs`` table with nobody watching, and
  adopts jobs that a stopped process left behind;
- answers ``annotate backup`` requests (the CLI cannot open the file while the app holds it);
- starts a retrain once the project's ``retrain_every`` new labels have arrived;
- checkpoints the WAL into the ``.duckdb`` file every ``checkpoint_s`` seconds, and once more on
  close, so the file alone holds every label up to the last checkpoint;
- keeps a mark of the newest label event (``store/durability.py``), so a start after an unclean
  stop notices when acknowledged labels are missing because the WAL was deleted.

On start, leases left by a previous server process (killed, or stopped) are cut to a short grace
time: their sessions are gone, so their pairs must not stay blocked for the whole lease time.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass

from annotate_app.accounts import auth
from annotate_app.accounts.sessions import SessionBook
from annotate_app.active.select import ActiveConfig
from annotate_app.annotation import assignment
from annotate_app.config import ProjectPaths
from annotate_app.jobs import JobRunner
from annotate_app.reward.jobs import maybe_start_training
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.store import backup_files as backup
from annotate_app.store.durability import WalMarker, lost_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceConfig:
    """How often the service thread does each of its tasks, in seconds."""

    lease_write_s: float = 0.2  # leases handed out are in DuckDB this long after at most
    poll_s: float = 1.0  # jobs and backup requests
    retrain_check_s: float = 5.0  # how often to look for enough new labels
    # how often to refit a judge's calibration once enough new human labels overlap its verdicts
    calibration_check_s: float = 30.0
    checkpoint_s: float = float(os.environ.get("ANNOTATE_CHECKPOINT_S", "60"))
    # how long a lease of a previous server process may still hold its pair
    lease_grace_s: float = float(os.environ.get("ANNOTATE_LEASE_GRACE_S", "120"))


class Services:
    """The project file, the job runner, the sign-in guard and the session tokens of one server
    process."""

    def __init__(self, paths: ProjectPaths, config: ServiceConfig | None = None) -> None:
        self.config = config or ServiceConfig()
        self.store = Store(paths)
        # acknowledged labels of the previous run that the file lacks (its WAL was deleted)
        self.lost_labels = lost_labels(self.store)
        if self.lost_labels:
            log.error("%s", self.lost_labels)
        self._marker = WalMarker(self.store)
        self._marker.update()
        cut = self.store.expire_leases_after(
            dt.datetime.now() + dt.timedelta(seconds=self.config.lease_grace_s)
        )
        if cut:
            log.info(
                "cut %d leases of a previous server process to %.0f s",
                cut,
                self.config.lease_grace_s,
            )
        assignment.write_leases_behind(self.store)
        self.runner = JobRunner(self.store)
        for job_id, what in self.runner.adopted:
            log.info("job %s of a stopped process: %s", job_id, what)
        self.guard = auth.SignInGuard()
        self.sessions = SessionBook()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="app-services", daemon=True)
        self._thread.start()
        # A daemon thread still inside DuckDB when the interpreter finalizes aborts the process
        # ("terminate called ... exception not rethrown"): stop it first, whoever opened us.
        atexit.register(self.close)

    def _every(self, seconds: float) -> int:
        return max(1, round(seconds / self.config.lease_write_s))

    def _serve(self) -> None:
        rounds = 0
        while not self._stop.wait(self.config.lease_write_s):
            rounds += 1
            steps = [("writing leases", lambda: assignment.maintain_queue(self.store))]
            if rounds % self._every(self.config.poll_s) == 0:
                steps += [
                    ("marking the newest label", self._marker.update),
                    ("polling jobs", self.runner.poll_all),
                    ("serving backup requests", lambda: backup.serve_requests(self.store)),
                ]
            if rounds % self._every(self.config.retrain_check_s) == 0:
                steps.append(("starting a retrain", self._maybe_retrain))
            if rounds % self._every(self.config.calibration_check_s) == 0:
                steps.append(("refitting judge calibrations", self._refresh_calibrations))
            if self.config.checkpoint_s > 0 and rounds % self._every(self.config.checkpoint_s) == 0:
                steps.append(("checkpointing", self.store.checkpoint))
            for name, step in steps:
                try:
                    step()
                except Exception:  # noqa: BLE001 - one bad round must not end the thread
                    log.exception("%s failed", name)

    def _maybe_retrain(self) -> None:
        """Close the loop: enough new labels start one training job (debounced by the job itself)."""
        every = ProjectSettings.load(self.store).retrain_every
        if every > 0:
            maybe_start_training(self.store, self.runner, ActiveConfig(retrain_every=every))

    def _refresh_calibrations(self) -> None:
        """New human labels on judged pairs refit the judge's stored map (every ``refit_every``
        decided pairs), so routing reads a current one without fitting its own."""
        from annotate_app.analytics.calibration import refresh_calibrations

        for judge_id, version in refresh_calibrations(self.store).items():
            log.info("judge %s: calibration version %d", judge_id, version)

    def close(self) -> None:
        """Stop the thread, write the pending leases and close the file (which checkpoints it)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._stop.set()
        self._thread.join(timeout=5)
        assignment.flush_leases(self.store)
        self.store.checkpoint()
        self._marker.closed_cleanly()
        self.store.close()


_running: Services | None = None
_running_lock = threading.Lock()


def start(paths: ProjectPaths, config: ServiceConfig | None = None) -> Services:
    """Open the project for this server process and start its service thread; once per process."""
    global _running
    with _running_lock:
        if _running is not None:
            raise RuntimeError(f"this process already serves {_running.store.paths.db}")
        _running = Services(paths, config)
        return _running


def running() -> Services | None:
    """The services ``start`` opened in this process, if any."""
    return _running


def stop() -> None:
    """Close what ``start`` opened (the server's shutdown hook); safe to call twice."""
    global _running
    with _running_lock:
        services, _running = _running, None
    if services is not None:
        services.close()
        log.info("closed %s after a checkpoint", services.store.paths.db)
