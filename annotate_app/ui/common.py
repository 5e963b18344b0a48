"""What every page shares: the server's one Store and service thread, and the signed-in account.

DuckDB lets one process hold the project file, so the server opens it once (``st.cache_resource``)
and every session takes short cursors on that one connection. The same place starts one background
thread that follows running jobs (so their progress reaches the ``jobs`` table with nobody watching),
writes the leases the label page handed out (in batches, off the answer path), and answers
``annotate backup`` requests (the CLI cannot open the file while the app holds it).

On start, leases left by a previous server process (killed, or stopped) are cut to a short grace
time: their sessions are gone, so their pairs must not stay blocked for the whole lease time.

Every page run re-reads the signed-in account: a disabled account is signed out at once, a role
change applies at once, and a session idle longer than the project's timeout is signed out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from annotate_app.accounts import auth
from annotate_app.accounts.auth import Account
from annotate_app.active.select import ActiveConfig
from annotate_app.annotation import assignment
from annotate_app.annotation.assignment import LabelingSettings
from annotate_app.config import ProjectPaths
from annotate_app.jobs import JobRunner
from annotate_app.reward.jobs import maybe_start_training
from annotate_app.store import Store
from annotate_app.store import backup_files as backup

POLL_SECONDS = 1.0  # jobs and backup requests
RETRAIN_CHECK_SECONDS = 5.0  # how often the service thread looks for enough new labels
LEASE_WRITE_SECONDS = 0.2  # leases handed out are in DuckDB this long after at most
# Seconds a lease from a previous server process may still hold its pair (ANNOTATE_LEASE_GRACE_S).
LEASE_GRACE_S = float(os.environ.get("ANNOTATE_LEASE_GRACE_S", "120"))
log = logging.getLogger(__name__)


class Services:
    """The project file, the job runner and the sign-in guard of one server process."""

    def __init__(self, paths: ProjectPaths) -> None:
        self.store = Store(paths)
        cut = self.store.expire_leases_after(
            dt.datetime.now() + dt.timedelta(seconds=LEASE_GRACE_S)
        )
        if cut:
            log.info("cut %d leases of a previous server process to %.0f s", cut, LEASE_GRACE_S)
        assignment.write_leases_behind(self.store)
        self.runner = JobRunner(self.store)
        self.guard = auth.SignInGuard()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="app-services", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        rounds = 0
        while not self._stop.wait(LEASE_WRITE_SECONDS):
            rounds += 1
            steps = [("writing leases", lambda: assignment.maintain_queue(self.store))]
            if rounds % round(POLL_SECONDS / LEASE_WRITE_SECONDS) == 0:
                steps += [
                    ("polling jobs", self.runner.poll_all),
                    ("serving backup requests", lambda: backup.serve_requests(self.store)),
                ]
            if rounds % round(RETRAIN_CHECK_SECONDS / LEASE_WRITE_SECONDS) == 0:
                steps.append(("starting a retrain", self._maybe_retrain))
            for name, step in steps:
                try:
                    step()
                except Exception:  # noqa: BLE001 - one bad round must not end the thread
                    log.exception("%s failed", name)

    def _maybe_retrain(self) -> None:
        """Close the loop: enough new labels start one training job (debounced by the job itself)."""
        every = LabelingSettings.load(self.store).retrain_every
        if every > 0:
            maybe_start_training(self.store, self.runner, ActiveConfig(retrain_every=every))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        assignment.flush_leases(self.store)
        self.store.close()


def _db_argument() -> str:
    """The project file this server serves. Pages ask for it several times per rerun, and parsing
    argv and resolving the path cost about a millisecond each time, so it is worked out once per
    (argv, ANNOTATE_DB)."""
    return _resolved_db(tuple(sys.argv[1:]), os.environ.get("ANNOTATE_DB"))


@functools.lru_cache(maxsize=8)
def _resolved_db(argv: tuple[str, ...], env_db: str | None) -> str:
    return str(project_paths().db)


def project_paths() -> ProjectPaths:
    """``--db`` after ``--`` on the streamlit command line, else ``ANNOTATE_DB``, else the default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return ProjectPaths.resolve(args.db)


@st.cache_resource(show_spinner=False, on_release=Services.close)
def _services(db: str) -> Services:
    return Services(ProjectPaths.resolve(db))


def services() -> Services:
    return _services(_db_argument())


def store() -> Store:
    return services().store


def account() -> Account | None:
    """The signed-in account as the project has it now, or None (and signed out) when the account
    was disabled or the session sat idle past the project's timeout."""
    who = st.session_state.get("account")
    if who is None:
        return None
    now = time.monotonic()
    last = st.session_state.get("last_seen", now)
    if now - last > auth.idle_minutes(store()) * 60:
        sign_out("You were signed out after a period of inactivity.")
        return None
    current = auth.current_account(store(), who)
    if current is None:
        sign_out("Your account was disabled; ask an admin.")
        return None
    st.session_state["account"] = current
    st.session_state["last_seen"] = now
    return current


def signed_in(who: Account) -> None:
    st.session_state["account"] = who
    st.session_state["last_seen"] = time.monotonic()


def sign_out(reason: str | None = None) -> None:
    st.session_state.clear()
    if reason:
        st.session_state["signed_out_because"] = reason


def session_key() -> str:
    """A random id for this browser session, for counting its failed sign-ins."""
    return st.session_state.setdefault("session_key", os.urandom(12).hex())


def require_account() -> Account:
    """The signed-in account; a page that somehow runs without one stops here."""
    who = account()
    if who is None:
        st.warning("Please sign in.")
        st.stop()
    return who


def require_admin() -> Account:
    who = require_account()
    if not who.is_admin:
        st.error("This page is for admins.")
        st.stop()
    return who


@dataclass(frozen=True)
class PageSpec:
    """``page`` is a script relative to this file (``views/label.py``), or ``module:function``
    for a module whose function draws the page (imported only when the page is opened)."""

    page: str
    title: str
    icon: str
    section: str
    admin: bool = False

    def target(self) -> str | Callable[[], None]:
        if self.page.endswith(".py"):
            return self.page
        module, function = self.page.split(":")

        def draw() -> None:
            getattr(importlib.import_module(module), function)()

        return draw

    @property
    def url_path(self) -> str | None:
        """Scripts keep their file name as URL; functions get one from the title."""
        return None if self.page.endswith(".py") else re.sub(r"\W+", "-", self.title.lower())

    def build(self, default: bool = False) -> st.Page:
        return st.Page(
            self.target(),
            title=self.title,
            icon=self.icon,
            url_path=self.url_path,
            default=default,
        )
