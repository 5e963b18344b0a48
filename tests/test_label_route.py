"""The label route (``POST /annotate/label/sync``) on a real project, called as the server calls it.

The route's own Starlette ``Route`` gets ASGI messages, like uvicorn would send them, in this process
with the server's services started on a real DuckDB file: an outbox recorded once however often it is
resent, the progress the page is sent equal to ``assignment.progress``, and every refusal (no cookie,
a cross-site request, a disabled account, an oversize body).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate_app import service, settings
from annotate_app.accounts import auth
from annotate_app.annotation import assignment as queue
from annotate_app.config import ProjectPaths
from annotate_app.ingest import import_file
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.ui import label_route
from annotate_app.ui.label_exchange import BUFFER_PAIRS
from annotate_app.ui.session_cookie import COOKIE

HEADERS = {"content-type": "application/json", "x-annotate-label": "1"}


def call(body: bytes, headers: dict[str, str], token: str | None = None) -> tuple[int, dict]:
    """One request to the route as the server delivers it: (status, JSON reply)."""
    headers = {"host": "testserver", "origin": "http://testserver", **headers}
    if token is not None:
        headers["cookie"] = f"{COOKIE}={token}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": label_route.ROUTE,
        "raw_path": label_route.ROUTE.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    sent: list[dict] = []
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive() -> dict:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    (route,) = label_route.routes()
    asyncio.run(route.handle(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    reply = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(reply)


def sync(token: str, seq: int, outbox: list, have: list[str]) -> dict:
    status, reply = call(json.dumps({"seq": seq, "outbox": outbox, "have": have}).encode(),
                         HEADERS, token)  # fmt: skip
    assert status == 200, reply
    return reply


@pytest.fixture
def served(tmp_path: Path) -> Iterator[service.Services]:
    rows = [
        {"prompt": f"open {i}", "response_a": f"left **{i}**", "response_b": f"right {i}"}
        for i in range(10)
    ]
    data = tmp_path / "open.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    paths = ProjectPaths(db=tmp_path / "project.duckdb", work_dir=tmp_path / "work")
    with Store(paths) as store:
        import_file(store, data)
        store.upsert_annotator("alice")
        store.upsert_annotator("boss", role="admin")
    services = service.start(paths)
    try:
        yield services
    finally:
        service.stop()


def test_route_records_each_answer_once_and_tops_up_the_buffer(served) -> None:
    store = served.store
    token = served.sessions.issue("alice")
    first = sync(token, 1, [], [])
    assert first["seq"] == 1 and first["acks"] == []
    assert len(first["pairs"]) == BUFFER_PAIRS and all(p["left"] for p in first["pairs"])
    assert "<strong>" in first["pairs"][0]["left"] + first["pairs"][0]["right"]
    pair = first["pairs"][0]
    label = {"cid": "cid-route-1", "kind": "label", "pair": pair["id"], "side": pair["side"],
             "choice": 2, "latency_ms": 900}  # fmt: skip
    have = [p["id"] for p in first["pairs"]]
    second = sync(token, 2, [label], have)
    (ack,) = second["acks"]
    assert ack["status"] == "saved" and ack["event"] is not None
    assert [p["id"] for p in second["pairs"][:4]] == have[1:], "the held pairs, in order"
    assert [p["left"] is None for p in second["pairs"]] == [True] * 4 + [False], "only new text"
    again = sync(token, 3, [label, label], have)
    assert [a["event"] for a in again["acks"]] == [ack["event"]] * 2, "a resend is acknowledged"
    assert len(store.current_labels("human")) == 1, "and recorded once"
    done = queue.progress(store, "alice", ProjectSettings.load(store))
    assert again["progress"] == {"today": 1, "total": 1, "left": done.left}
    assert (done.done_today, done.done_total) == (1, 1)
    assert again["aspects"] == []
    settings.update(store, aspects_enabled=True)  # the Settings page's write
    assert sync(token, 4, [], have)["aspects"], "a settings change shows in the next reply"


def test_route_refuses_strangers_cross_site_requests_and_oversize_bodies(served) -> None:
    token = served.sessions.issue("alice")
    body = json.dumps({"seq": 1, "outbox": [], "have": []}).encode()
    # The page falls back to the Streamlit trigger without a cookie, and reloads to sign in again
    # with one the server does not take (it restarted, or the session ended).
    assert call(body, HEADERS) == (401, {"error": "not signed in", "cookie": False}), "no cookie"
    assert call(body, HEADERS, token + "x") == (401, {"error": "not signed in", "cookie": True})
    assert call(body, {**HEADERS, "x-annotate-label": "0"}, token)[0] == 403
    assert call(body, {**HEADERS, "content-type": "text/plain"}, token)[0] == 403
    assert call(body, {**HEADERS, "sec-fetch-site": "cross-site"}, token)[0] == 403
    assert call(body, {**HEADERS, "origin": "https://evil.example"}, token)[0] == 403
    assert call(b"{not json", HEADERS, token)[0] == 400
    big = b'{"outbox": [], "pad": "' + b"x" * label_route.MAX_BODY + b'"}'
    assert call(big, HEADERS, token)[0] == 413
    assert call(big, {**HEADERS, "content-length": str(len(big))}, token)[0] == 413
    assert call(body, {**HEADERS, "sec-fetch-site": "same-origin"}, token)[0] == 200

    auth.set_active(served.store, auth.Account("boss", "admin"), "alice", False)
    assert call(body, HEADERS, token)[0] == 401, "a disabled account is refused at once"
    auth.set_active(served.store, auth.Account("boss", "admin"), "alice", True)
    assert call(body, HEADERS, token)[0] == 401, "and its session token died with it"
