"""Signed session tokens, so a browser reload keeps its sign-in.

A token names the account and carries an expiry and a random id, signed with HMAC-SHA256 under a key
that lives only in the server process's memory: a server restart signs everybody out, and nothing
secret is stored in the project. The book also remembers, per token id, when its browser was last
seen, so the project's idle timeout holds across reloads, and which ids were revoked (sign-out).
A disabled account is refused by the caller, which re-reads the account on every page run.

The browser gets its token through a one-time grant: the signed-in page asks the browser to fetch
``/annotate/session?grant=...`` and that response sets the token as an HttpOnly cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass

GRANT_SECONDS = 120.0  # a grant not redeemed by then is dropped


@dataclass(frozen=True)
class SessionConfig:
    lifetime_s: float = 12 * 3600.0  # a token expires this long after sign-in


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SessionClaim:
    name: str
    token_id: str
    expires: float


class SessionBook:
    """Issues, checks and revokes the session tokens of one server process."""

    def __init__(self, config: SessionConfig | None = None, key: bytes | None = None) -> None:
        self.config = config or SessionConfig()
        self._key = key or os.urandom(32)
        self._lock = threading.Lock()
        self._revoked: dict[str, float] = {}  # token id -> its expiry (forgotten after it)
        self._seen: dict[str, float] = {}  # token id -> last page run (monotonic clock)
        self._grants: dict[str, tuple[str, float]] = {}  # grant -> (token, created)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, name: str) -> str:
        token_id = _b64(os.urandom(12))
        expires = time.time() + self.config.lifetime_s
        payload = f"{_b64(name.encode())}.{int(expires)}.{token_id}"
        now = time.monotonic()
        with self._lock:
            # forget tokens unseen for a whole lifetime: they have expired in any case
            for old in [t for t, at in self._seen.items() if now - at > self.config.lifetime_s]:
                del self._seen[old]
            self._seen[token_id] = now
        return f"{payload}.{self._sign(payload)}"

    def check(self, token: str | None, idle_s: float) -> SessionClaim | None:
        """The claim of a valid token: well signed, not expired, not revoked, not idle too long."""
        if not token or token.count(".") != 3:
            return None
        payload, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        name_part, expires_part, token_id = payload.split(".")
        try:
            claim = SessionClaim(_unb64(name_part).decode(), token_id, float(expires_part))
        except ValueError:
            return None
        now = time.monotonic()
        with self._lock:
            last = self._seen.get(token_id)
            if (
                claim.expires < time.time()
                or token_id in self._revoked
                or last is None
                or now - last > idle_s
            ):
                return None
            self._seen[token_id] = now
        return claim

    def revoke(self, token: str | None) -> None:
        if not token or token.count(".") != 3:
            return
        token_id = token.rsplit(".", 2)[1]
        with self._lock:
            self._seen.pop(token_id, None)
            self._revoked[token_id] = time.time() + self.config.lifetime_s
            now = time.time()
            for old in [t for t, until in self._revoked.items() if until < now]:
                del self._revoked[old]

    def grant(self, token: str) -> str:
        """A one-time code the browser trades for its token (see ``redeem``)."""
        code = _b64(os.urandom(18))
        now = time.monotonic()
        with self._lock:
            for old in [g for g, (_, at) in self._grants.items() if now - at > GRANT_SECONDS]:
                del self._grants[old]
            self._grants[code] = (token, now)
        return code

    def redeem(self, code: str | None) -> str | None:
        with self._lock:
            entry = self._grants.pop(code or "", None)
        if entry is None or time.monotonic() - entry[1] > GRANT_SECONDS:
            return None
        return entry[0]

    def pending(self, code: str) -> bool:
        """True while the grant waits for the browser (not redeemed, not expired)."""
        with self._lock:
            entry = self._grants.get(code)
        return entry is not None and time.monotonic() - entry[1] <= GRANT_SECONDS
