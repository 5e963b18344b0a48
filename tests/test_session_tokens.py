"""Session tokens: signed, expiring, idle-limited, revocable; grants are one-time."""

from __future__ import annotations

import time

from annotate_app.accounts.sessions import SessionBook, SessionConfig


def test_a_token_names_its_account_until_revoked() -> None:
    book = SessionBook()
    token = book.issue("alice")
    claim = book.check(token, idle_s=60)
    assert claim is not None and claim.name == "alice"
    book.revoke(token)
    assert book.check(token, idle_s=60) is None


def test_tampered_foreign_expired_and_idle_tokens_are_refused() -> None:
    book = SessionBook()
    token = book.issue("alice")
    payload, _, signature = token.rpartition(".")
    name, expires, token_id = payload.split(".")
    forged = f"{'Ym9zcw'}.{expires}.{token_id}.{signature}"  # "boss" with alice's signature
    assert book.check(forged, idle_s=60) is None
    assert book.check(token[:-2] + "xx", idle_s=60) is None
    assert SessionBook().check(token, idle_s=60) is None, "another server process's key"
    assert book.check("garbage", idle_s=60) is None and book.check(None, idle_s=60) is None
    short = SessionBook(SessionConfig(lifetime_s=-1))
    assert short.check(short.issue("alice"), idle_s=60) is None
    idle = book.issue("bob")
    time.sleep(0.05)
    assert book.check(idle, idle_s=0.01) is None


def test_a_grant_is_redeemed_once() -> None:
    book = SessionBook()
    token = book.issue("alice")
    code = book.grant(token)
    assert book.pending(code)
    assert book.redeem(code) == token
    assert not book.pending(code)
    assert book.redeem(code) is None and book.redeem("other") is None
