"""Who labels what next: the human queue, leases, overlap, gold checks and progress.

The label page asks ``held_pairs`` for the annotator's next few pairs (each leased to them, with
the side shown on the left); its answers are recorded through ``record_outbox`` and taken back
through ``undo_answer``. Nothing here knows about Streamlit. The left/right order an annotator sees
is fixed per (pair, annotator), so a reload shows the same screen, and it is stored with every
answer so the recorded choice always refers to the pair's own A/B (``labels.scale.stored_choice``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from annotate_app.annotation import dispatcher, group_commit
from annotate_app.annotation.dispatcher import Dispatcher, LeaseLost
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.store.client_answers import PageAnswer

ASPECTS = ("helpfulness", "harmlessness", "honesty")


@dataclass(frozen=True)
class Progress:
    done_today: int
    done_total: int
    left: int


def left_side_for(pair_id: str, annotator: str) -> str:
    """A fair coin per (pair, annotator) that every reload of the page agrees on."""
    digest = hashlib.blake2b(f"{pair_id}\x1f{annotator}".encode(), digest_size=1).digest()
    return "a" if digest[0] % 2 == 0 else "b"


def _now() -> dt.datetime:
    return dt.datetime.now()


def _gold_turn(annotator: str, settings: ProjectSettings, done_total: int) -> bool:
    """Whether this draw is a gold check: a coin weighted by gold_fraction, seeded by the
    annotator's progress so tests can replay it and annotators cannot predict it."""
    if settings.gold_fraction <= 0:
        return False
    rng = random.Random(f"{settings.queue_seed}\x1f{annotator}\x1f{done_total}")
    return rng.random() < settings.gold_fraction


def _dispatcher(store: Store, settings: ProjectSettings) -> Dispatcher:
    return dispatcher.for_store(store, str(settings.queue_seed))


def write_leases_behind(store: Store) -> None:
    """Leases on this store are written in batches by ``maintain_queue`` calls from now on, off the
    path from an answer to the next pair; the app's service thread makes those calls."""
    dispatcher.write_behind(store)


def flush_leases(store: Store) -> None:
    """Write the leases handed out so far to DuckDB now."""
    dispatcher.flush(store)


def maintain_queue(store: Store) -> None:
    """Write pending leases and reload a stale queue order: the app's service thread calls this."""
    dispatcher.maintain(store)


def held_pairs(
    store: Store,
    annotator: str,
    settings: ProjectSettings | None = None,
    k: int = 1,
    now: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """The next ``k`` pairs this annotator should see, each leased to them: (pair, left side).

    Pairs they already hold (unexpired leases) come first, in the order they were handed out, so a
    reload or an undo shows the same pair. The rest is topped up with a gold pair at the project's
    gold fraction, or else the human queue's next pair in priority order. Fewer than ``k`` (or
    none) when the queue runs dry.
    """
    settings = settings or ProjectSettings.load(store)
    now = now or _now()
    d = _dispatcher(store, settings)
    held = d.held_all(annotator, now)
    while len(held) < k:
        new = _lease_new(store, d, annotator, settings, now, ahead=len(held))
        if new is None:
            break
        held.append(new)
    return held


def upcoming_pairs(
    store: Store, annotator: str, settings: ProjectSettings, n: int, now: dt.datetime | None = None
) -> list[str]:
    """The queue pairs this annotator would get next after the ones they hold (gold draws aside),
    leasing nothing."""
    return _dispatcher(store, settings).upcoming(annotator, settings.overlap_k, now or _now(), n)


def _lease_new(
    store: Store,
    d: Dispatcher,
    annotator: str,
    settings: ProjectSettings,
    now: dt.datetime,
    ahead: int = 0,
) -> tuple[str, str] | None:
    """Lease a gold pair (at the gold fraction) or the queue's next pair: (pair, side). ``ahead``
    pairs are already on the annotator's buffer, so the gold coin is drawn for their position."""
    kwargs: dict[str, Any] = dict(
        now=now,
        expires_at=now + dt.timedelta(minutes=settings.lease_minutes),
        overlap=settings.overlap_k,
        side_of=lambda pair: left_side_for(pair, annotator),
    )
    if settings.gold_fraction > 0:
        _, done_total = d.label_counts(annotator, now)
        if _gold_turn(annotator, settings, done_total + ahead):
            gold = d.lease_next(annotator, gold=True, **kwargs)
            if gold is not None:
                return gold
    return d.lease_next(annotator, gold=False, **kwargs)


def record_outbox(
    store: Store,
    annotator: str,
    answers: list[PageAnswer],
    settings: ProjectSettings,
    top_up: Callable[[], object] | None = None,
) -> list[int | LeaseLost]:
    """Record labels and skips from the label page in one commit: per answer its event id, or the
    ``LeaseLost`` that refused it (nothing written for it).

    Each pair is claimed and marked answered in memory first, then ``top_up`` refills the
    annotator's buffer (so the leases it hands out are known), and the answers, their page ids and
    every pending lease are committed together: one commit per outbox (shared with the outboxes of
    other annotators that arrive meanwhile, ``group_commit``) instead of one per answer and another
    per lease batch. A failed commit puts every claimed pair back as it was, and raises; nothing is
    acknowledged before its commit.
    """
    d = _dispatcher(store, settings)
    now = _now()
    results: list[int | LeaseLost | None] = []
    taken: list[tuple[PageAnswer, Any]] = []  # the answer and the lease it ended (None: a claim)
    for answer in answers:
        try:
            temporary = d.claim_for_answer(
                annotator, answer.pair_id, answer.left_side, settings.overlap_k, now
            )
        except LeaseLost as exc:
            results.append(exc)
            continue
        lease = d.answered(annotator, answer.pair_id, answer.kind)
        taken.append((answer, None if temporary else lease))
        results.append(None)
    if not taken:
        return [r for r in results if r is not None]
    try:
        if top_up is not None:
            top_up()
        events = group_commit.for_store(store).commit([a for a, _ in taken], d)
    except BaseException:
        for answer, lease in reversed(taken):
            d.unanswered(annotator, answer.pair_id, answer.kind, lease)
        raise
    recorded = iter(events)
    return [next(recorded) if r is None else r for r in results]


@dataclass(frozen=True)
class Undone:
    pair_id: str
    back: bool  # False when an undone skip's pair went to other annotators meanwhile


def undo_answer(
    store: Store,
    annotator: str,
    event_id: int,
    settings: ProjectSettings | None = None,
    client_id: str | None = None,
) -> Undone | None:
    """Take back one particular label or skip of the annotator's (the label page names the answer
    it takes back, as answers may still be on their way) and put its pair back on their screen.

    A taken-back label always comes back (its place was theirs). A taken-back skip comes back only
    when the pair still has room: with overlap 1, a pair another annotator took after the skip stays
    theirs. None when the answer is not theirs or not in force.
    """
    settings = settings or ProjectSettings.load(store)
    pair_id = store.undo_event(annotator, event_id, client_id)
    if pair_id is None:
        return None
    side = store.last_left_side(pair_id, annotator) or left_side_for(pair_id, annotator)
    now = _now()
    back = _dispatcher(store, settings).undone(
        annotator,
        pair_id,
        overlap=settings.overlap_k,
        side=side,
        now=now,
        expires_at=now + dt.timedelta(minutes=settings.lease_minutes),
    )
    return Undone(pair_id, back)


def progress(
    store: Store,
    annotator: str,
    settings: ProjectSettings | None = None,
    now: dt.datetime | None = None,
) -> Progress:
    settings = settings or ProjectSettings.load(store)
    now = now or _now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    d = _dispatcher(store, settings)
    today, total = d.label_counts(annotator, midnight)  # from memory: the page asks every answer
    left = d.left(annotator, settings.overlap_k, now)
    return Progress(done_today=today, done_total=total, left=left)
