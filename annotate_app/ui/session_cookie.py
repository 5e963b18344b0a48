"""The session cookie: how a browser keeps its sign-in across reloads.

After a sign-in the page shows a 1-pixel image whose URL carries a one-time grant; the server's
``/annotate/session`` route trades the grant for the signed token (``accounts.sessions``) and sets
it as an HttpOnly, SameSite=Strict cookie (Secure when the browser came over HTTPS, directly or
through a proxy that says so in ``X-Forwarded-Proto``). Page scripts never see the token: a reload
sends the cookie with the websocket handshake, and ``st.context.cookies`` reads it there.
"""

from __future__ import annotations

import base64

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from annotate_app import service
from annotate_app.accounts import auth
from annotate_app.accounts.auth import Account
from annotate_app.service import Services

COOKIE = "annotate_session"
ROUTE = "/annotate/session"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


async def _session(request: Request) -> Response:
    services = service.running()
    token = services.sessions.redeem(request.query_params.get("grant")) if services else None
    response = Response(
        PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"}, status_code=200
    )
    if token is None:
        response.status_code = 403
        return response
    https = request.url.scheme == "https" or (
        request.headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https"
    )
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(services.sessions.config.lifetime_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=https,
    )
    return response


def routes() -> list[Route]:
    """The routes ``annotate serve`` adds to the Streamlit server."""
    return [Route(ROUTE, _session, methods=["GET"])]


def account_for_token(services: Services, token: str | None) -> Account | None:
    """The account a session token signs in, as the project has it now; None when the token is
    not valid (badly signed, expired, revoked, idle past the project's timeout) or its account was
    disabled since, and then the token dies with the account. The pages and the label route ask
    this one function."""
    claim = services.sessions.check(token, auth.idle_minutes(services.store) * 60)
    if claim is None:
        return None
    current = auth.current_account(services.store, Account(claim.name, "annotator"))
    if current is None:
        services.sessions.revoke(token)
    return current


def browser_token() -> str | None:
    """The session token this browser sent with its connection, if any."""
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser connection (AppTest): no cookie
        return None


def hand_over(code: str) -> None:
    """Make the browser fetch its cookie (an invisible image; no script runs)."""
    st.html(f'<img src="{ROUTE.lstrip("/")}?grant={code}" width="1" height="1" alt="">')
