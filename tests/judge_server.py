"""A small OpenAI-protocol judge server on loopback, for the HTTP judge and judge job tests.

It really judges: the answer containing ``GOOD`` wins. Its failure modes (slow replies, 500s,
missing logprobs, malformed text, garbled JSON) are switched per test.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ANSWER_RE = re.compile(
    r"\[The Start of Assistant A's Answer\]\n(.*?)\n\[The End of Assistant A's Answer\].*?"
    r"\[The Start of Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B's Answer\]",
    re.S,
)


@dataclass
class ServerState:
    mode: str = "logprobs"  # logprobs | text | malformed | garbled
    delay_s: float = 0.0
    fail_first: int = 0  # answer 500 to this many requests first
    reject_logprobs: bool = False  # answer 400 when the request asks for logprobs
    requests: int = 0
    failures_served: int = 0
    auth: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def verdict_for(body: dict) -> str:
    text = body["messages"][-1]["content"]
    a, b = _ANSWER_RE.search(text).groups()
    return "A" if "GOOD" in a else "B" if "GOOD" in b else "C"


def tags_for(body: dict) -> dict | None:
    """A tagging request (judge/tagging.py) gets tags read off the prompt: ``EXPERT`` in it means
    expert expertise, ``def `` means coding; None for a verdict request."""
    if "prompt metadata tagging" not in body["messages"][0]["content"]:
        return None
    prompt = body["messages"][-1]["content"].split("[The Start of the Prompt]")[-1]
    return {
        "subject": "coding" if "def " in prompt else "general",
        "expertise": "expert" if "EXPERT" in prompt else "general",
        "open_endedness": "low",
        "safety_concern": "no",
        "complexity": "simple",
        "format_constraints": "no",
    }


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            # the client may have given up waiting (the timeout tests)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests += 1
                state.auth.append(self.headers.get("Authorization"))
                fail = state.failures_served < state.fail_first
                if fail:
                    state.failures_served += 1
            if state.delay_s:
                time.sleep(state.delay_s)
            if self.path != "/v1/chat/completions":
                return self._send(404, b'{"error": "not found"}')
            if fail:
                return self._send(500, b'{"error": "overloaded"}')
            if state.reject_logprobs and body.get("logprobs"):
                return self._send(400, b'{"error": "logprobs not supported"}')
            if state.mode == "garbled":
                return self._send(200, b"{not json")
            tags = tags_for(body)
            if tags is not None:
                text = "I cannot decide." if state.mode == "malformed" else json.dumps(tags)
                choice = {"index": 0, "message": {"role": "assistant", "content": text}}
                return self._send(200, json.dumps({"choices": [choice]}).encode())
            verdict = verdict_for(body)
            content = (
                "I cannot decide."
                if state.mode == "malformed"
                else f"[[{verdict}]] The answer marked GOOD is better."
            )
            choice: dict = {"index": 0, "message": {"role": "assistant", "content": content}}
            if state.mode == "logprobs" and body.get("logprobs"):
                others = [t for t in "ABC" if t != verdict]
                top = [
                    {"token": verdict, "logprob": math.log(0.8)},
                    {"token": others[0], "logprob": math.log(0.15)},
                    {"token": others[1], "logprob": math.log(0.05)},
                ]
                tokens = ["[[", verdict, "]]", " The"]
                choice["logprobs"] = {
                    "content": [
                        {"token": t, "logprob": -0.1, "top_logprobs": top if t == verdict else []}
                        for t in tokens
                    ]
                }
            reply = {
                "choices": [choice],
                "usage": {"prompt_tokens": 100, "completion_tokens": 8},
            }
            return self._send(200, json.dumps(reply).encode())

    return Handler


class JudgeServer:
    def __init__(self, state: ServerState | None = None) -> None:
        self.state = state or ServerState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.state))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> JudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_batch(server: JudgeServer, requests: str, results: str, broken: dict | None = None) -> None:
    """Answer an OpenAI Batch API request file through this server, as the Batch API would, into a
    results file. ``broken``: custom_id -> "error" (the API failed it), "status" (HTTP 500 body)
    or "missing" (no line at all)."""
    import urllib.request
    from pathlib import Path

    broken = broken or {}
    lines = []
    for n, raw in enumerate(Path(requests).read_text(encoding="utf-8").splitlines()):
        req = json.loads(raw)
        cid = req["custom_id"]
        what = broken.get(cid)
        if what == "missing":
            continue
        if what == "error":
            lines.append({"id": f"r{n}", "custom_id": cid, "response": None,
                          "error": {"code": "server_error", "message": "failed"}})  # fmt: skip
            continue
        http = urllib.request.Request(
            server.url + req["url"],
            data=json.dumps(req["body"]).encode(),
            headers={"Content-Type": "application/json"},
            method=req["method"],
        )
        with urllib.request.urlopen(http, timeout=10) as resp:
            body = json.loads(resp.read())
        status = 500 if what == "status" else 200
        lines.append({"id": f"r{n}", "custom_id": cid,
                      "response": {"status_code": status, "body": body}, "error": None})  # fmt: skip
    Path(results).write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
