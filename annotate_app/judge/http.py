"""An OpenAI-compatible ``/v1/chat/completions`` judge: vLLM, TGI, Ollama, llama.cpp server, hosted APIs.

Standard library only (urllib + a thread pool), so the remote judge adds no dependency. The verdict is
read from the logprobs of the token after ``[[`` when the server returns them, else parsed from the
text. A server that is down or keeps failing raises ``JudgeUnavailable`` after its retries, which
fails the job (whole chunks already judged are kept); a reply without a verdict is one unusable
reading, not a failure of the run.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from annotate_app.judge.prompt import JudgeTemplate
from annotate_app.judge.protocol import VERDICT_TOKENS, Comparison, JudgeUnavailable, RawVerdict
from annotate_app.judge.spec import http_judge_id

API_KEY_ENV = ("ANNOTATE_JUDGE_API_KEY", "OPENAI_API_KEY")
_VERDICT_RE = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_OPEN_RE = re.compile(r"\[\[\s*([ABC])")
_ALT_RE = re.compile(r"^[\s\[]*([ABC])(?:\]|\s|$)")


@dataclass
class HttpJudgeConfig:
    url: str  # server root, .../v1, or the full .../v1/chat/completions
    model: str
    timeout_s: float = 60.0
    max_retries: int = 3  # extra attempts after a timeout, a connection error, 429 or 5xx
    backoff_s: float = 1.0  # first wait; doubles on every retry
    concurrency: int = 4
    max_tokens: int = 64
    logprobs: bool = True  # ask for them; a server that refuses gets plain requests from then on
    top_logprobs: int = 5

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        if url.endswith("/chat/completions"):
            return url
        return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


class _Retryable(Exception):
    pass


class HttpJudge:
    def __init__(
        self,
        config: HttpJudgeConfig,
        template: JudgeTemplate | None = None,
        guidelines: str | None = None,
    ) -> None:
        self.config = config
        self.template = template or JudgeTemplate()
        self.guidelines = guidelines
        self.model = config.model
        self.judge_id = http_judge_id(config.url, config.model)
        self._logprobs = config.logprobs
        self._api_key = next((os.environ[k] for k in API_KEY_ENV if os.environ.get(k)), None)

    def score(self, comparisons: list[Comparison]) -> list[RawVerdict | None]:
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            return list(pool.map(self._score_one, comparisons))

    def _score_one(self, comparison: Comparison) -> RawVerdict | None:
        messages = self.template.messages(comparison, self.guidelines)
        t0 = time.perf_counter()
        reply = self.post_with_retries(messages)
        verdict = parse_reply(reply)
        if verdict is not None:
            verdict.latency_s = time.perf_counter() - t0
        return verdict

    def request_body(self, messages: list[dict]) -> dict:
        """The chat-completions request for one comparison: what is posted, and what a Batch API
        request line carries."""
        body = {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": self.config.max_tokens,
            "temperature": 0,
        }
        if self._logprobs:
            body |= {"logprobs": True, "top_logprobs": self.config.top_logprobs}
        return body

    def _body(self, messages: list[dict]) -> bytes:
        return json.dumps(self.request_body(messages)).encode("utf-8")

    def post_with_retries(self, messages: list[dict]) -> dict | None:
        last = ""
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                time.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            try:
                return self._post(messages)
            except _Retryable as exc:
                last = str(exc)
        raise JudgeUnavailable(
            f"judge endpoint {self.config.endpoint} failed {self.config.max_retries + 1} times; "
            f"last error: {last}"
        )

    def _post(self, messages: list[dict]) -> dict | None:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            self.config.endpoint, data=self._body(messages), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code == 429 or exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}: {detail}") from None
            if exc.code == 400 and self._logprobs:  # some servers reject logprobs: ask plainly
                self._logprobs = False
                return self._post(messages)
            raise JudgeUnavailable(
                f"judge endpoint {self.config.endpoint} refused the request: HTTP {exc.code}: "
                f"{detail}"
            ) from None
        except TimeoutError as exc:
            raise _Retryable(f"timed out after {self.config.timeout_s}s") from exc
        except urllib.error.URLError as exc:
            raise _Retryable(f"cannot reach the server: {exc.reason}") from exc
        except ConnectionError as exc:
            raise _Retryable(f"connection failed: {exc}") from exc
        try:
            return json.loads(raw)
        except ValueError:
            return None  # a garbled body is one unusable reading


def parse_reply(reply: dict | None) -> RawVerdict | None:
    """Verdict probabilities from logprobs when present, else from the ``[[X]]`` tag in the text."""
    try:
        choice = reply["choices"][0]  # type: ignore[index]
        text = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        return None
    usage = reply.get("usage") or {}
    tokens = {
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
    }
    rationale = _VERDICT_RE.sub("", text).strip()[:500] or None
    probs = _logprob_verdict((choice.get("logprobs") or {}).get("content"))
    if probs is not None:
        return RawVerdict(probs=probs, method="logprobs", rationale=rationale, **tokens)
    match = _VERDICT_RE.search(text)
    if match is None:
        return None
    probs = {t: float(t == match.group(1)) for t in VERDICT_TOKENS}
    return RawVerdict(probs=probs, method="text", rationale=rationale, **tokens)


def _logprob_verdict(content: list | None) -> dict[str, float] | None:
    """Renormalised P(A), P(B), P(C) at the token that completes the first ``[[X``."""
    if not isinstance(content, list):
        return None
    before = ""
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        token = item["token"]
        match = _OPEN_RE.search(before + token)
        if match is not None and match.start(1) >= len(before):
            mass = dict.fromkeys(VERDICT_TOKENS, 0.0)
            for alt in item.get("top_logprobs") or [item]:
                found = _ALT_RE.match(str(alt.get("token", "")))
                if found and isinstance(alt.get("logprob"), int | float):
                    mass[found.group(1)] += math.exp(float(alt["logprob"]))
            total = sum(mass.values())
            return {k: v / total for k, v in mass.items()} if total > 0 else None
        before += token
    return None
