"""What every page shares: the server's one Store and services, and the signed-in account.

The server process opens the project once and holds it until it stops (``annotate_app.service``;
``annotate serve`` opens it before Streamlit listens). Under AppTest, or a bare ``streamlit run`` of
``app.py``, nothing opened it yet, so the first page run opens it here (``st.cache_resource``).

Every page run re-reads the signed-in account: a disabled account is signed out at once, a role
change applies at once, and a session idle longer than the project's timeout is signed out.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from annotate_app import service
from annotate_app.accounts import auth
from annotate_app.accounts.auth import Account
from annotate_app.config import ProjectPaths
from annotate_app.service import Services
from annotate_app.store import Store
from annotate_app.ui import label_route, session_cookie


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
    return service.running() or _services(_db_argument())


def store() -> Store:
    return services().store


def account() -> Account | None:
    """The signed-in account as the project has it now, or None (and signed out) when the account
    was disabled or the session sat idle past the project's timeout.

    A new browser session (a reload, a deep link in a new tab) is signed in again from its session
    cookie when the token is valid and not revoked (``ui/session_cookie.py``)."""
    who = st.session_state.get("account")
    idle_s = auth.idle_minutes(store()) * 60
    if who is None:
        return _from_cookie()
    now = time.monotonic()
    token = st.session_state.get("session_token")
    # Answers sent through the label route (``ui/label_route.py``) count as activity too.
    last = st.session_state.get("last_seen", now)
    answered = label_route.last_answer(token)
    if answered is not None:
        last = max(last, answered)
    if now - last > idle_s:
        sign_out("You were signed out after a period of inactivity.")
        return None
    current = auth.current_account(store(), who)
    if current is None:
        sign_out("Your account was disabled; ask an admin.")
        return None
    st.session_state["account"] = current
    st.session_state["last_seen"] = now
    services().sessions.check(token, idle_s)  # seen now
    return current


def _from_cookie() -> Account | None:
    token = session_cookie.browser_token()
    current = session_cookie.account_for_token(services(), token)
    if current is None:
        return None
    st.session_state["account"] = current
    st.session_state["last_seen"] = time.monotonic()
    st.session_state["session_token"] = token
    return current


def signed_in(who: Account) -> None:
    """Start a signed-in session; the browser gets its session cookie on the next page run."""
    st.session_state["account"] = who
    st.session_state["last_seen"] = time.monotonic()
    book = services().sessions
    token = book.issue(who.name)
    st.session_state["session_token"] = token
    st.session_state["session_grant"] = book.grant(token)


def hand_over_session_cookie() -> None:
    """Until the browser has fetched its cookie, keep the invisible image that fetches it."""
    code = st.session_state.get("session_grant")
    if code is None:
        return
    if services().sessions.pending(code):
        session_cookie.hand_over(code)
    else:
        st.session_state.pop("session_grant", None)


def sign_out(reason: str | None = None) -> None:
    """End the session here and revoke its token, so a reload does not sign back in."""
    services().sessions.revoke(st.session_state.get("session_token"))
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
