"""``POST /annotate/label/sync``: the label page's answers, off Streamlit's rerun path.

The page posts its outbox here with ``fetch`` and gets the same data the label fragment would send
(``ui/label_exchange.py``), without a script rerun. The request is signed in by the HttpOnly session
cookie, through the same check as a page run (``session_cookie.account_for_token``: signature,
expiry, idle time, revocation, a disabled account). A cross-site request cannot pass: the cookie is
SameSite=Strict, the body must be JSON (a form cannot send that without a CORS preflight, which this
server never grants), the custom ``X-Annotate-Label`` header is required, and ``Origin`` and
``Sec-Fetch-Site`` must say same-origin (``Origin``: the same host name) when the browser sends
them.

A 401 says whether the browser sent a session cookie. A cookie the server does not take (it
restarted, or the session ended) makes the page reload, and the reload's page run asks the annotator
to sign in again. No cookie (not yet set, or refused by the browser), 403 (refused) and 404 (no
such route, e.g. under ``streamlit run``) tell the page to send through the Streamlit trigger
instead, which signs in as the page does.
"""

from __future__ import annotations

import json
import os
import threading
import time
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from annotate_app import service
from annotate_app.annotation import group_commit
from annotate_app.service import Services
from annotate_app.settings import ProjectSettings
from annotate_app.ui import label_exchange, session_cookie

ROUTE = "/annotate/label/sync"
HEADER = "x-annotate-label"
MAX_BODY = 2 * 1024 * 1024  # a full outbox (500 answers with long rationales) fits
TIMING_LOG = os.environ.get("ANNOTATE_TIMING_LOG")


_answered_at: dict[str, float] = {}  # session token -> when it last sent answers here (monotonic)
_answered_lock = threading.Lock()


def last_answer(token: str | None) -> float | None:
    """When this session token last synced through the route (``time.monotonic``), or None: a page
    run counts that as activity, as the route answers without one."""
    with _answered_lock:
        return _answered_at.get(token or "")


def _answered(token: str) -> None:
    now = time.monotonic()
    with _answered_lock:
        if len(_answered_at) > 10_000:  # forget sessions quiet for a day
            for old in [t for t, at in _answered_at.items() if now - at > 86_400]:
                del _answered_at[old]
        _answered_at[token] = now


def _refusal(status: int, why: str, **more: object) -> Response:
    return JSONResponse(
        {"error": why, **more}, status_code=status, headers={"Cache-Control": "no-store"}
    )


def _cross_site(request: Request) -> str | None:
    """Why this request may come from another site, or None."""
    if request.headers.get(HEADER) != "1":
        return f"the {HEADER} header is missing"
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return "the body must be application/json"
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"a {site} request"
    origin = request.headers.get("origin")
    # Host names only: a proxy may pass the Host without the port the browser used.
    host = urlsplit(f"//{request.headers.get('host', '')}").hostname
    if origin is not None and urlsplit(origin).hostname != host:
        return "the Origin is another site"
    return None


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it passes ``MAX_BODY``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def sync(request: Request) -> Response:
    started = time.perf_counter()
    services = service.running()
    if services is None:
        return _refusal(404, "no project is being served")
    why = _cross_site(request)
    if why is not None:
        return _refusal(403, why)
    body = await _body(request)
    if body is None:
        return _refusal(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        sent = label_exchange.SyncRequest.parse(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return _refusal(400, "the body is not JSON")
    token = request.cookies.get(session_cookie.COOKIE)
    reply = await run_in_threadpool(_answer, services, token, sent)
    if reply is None:
        return _refusal(401, "not signed in", cookie=token is not None)
    if TIMING_LOG:
        _log_time(started, services)
    return JSONResponse(reply, headers={"Cache-Control": "no-store"})


def _answer(services: Services, token: str | None, sent: label_exchange.SyncRequest) -> dict | None:
    """The database work, in a worker thread: None when the token signs nobody in."""
    who = session_cookie.account_for_token(services, token)
    if who is None:
        return None
    _answered(token or "")
    settings = ProjectSettings.load(services.store)
    return label_exchange.exchange(services.store, who, settings, sent)


def _log_time(started: float, services: Services) -> None:
    """Request received to reply ready (ms), and the answer commits, the outboxes they held and
    the CPU seconds spent in them so far, appended to ``ANNOTATE_TIMING_LOG``: the benchmarks'
    probe."""
    grouped = group_commit.for_store(services.store)
    with open(TIMING_LOG or os.devnull, "a", encoding="utf-8") as f:
        f.write(
            f"{(time.perf_counter() - started) * 1000:.2f} {grouped.commits} {grouped.outboxes} "
            f"{grouped.commit_cpu_s:.6f}\n"
        )


def routes() -> list[Route]:
    """The route ``annotate serve`` adds to the Streamlit server."""
    return [Route(ROUTE, sync, methods=["POST"])]
