"""Tests get pairs and answer them the way the label page does: pairs from the annotator's buffer
of leased pairs (``assignment.held_pairs``), answers as one outbox item through ``answers.record``.

The item has the fields the page's ``answer()`` gives it (``ui/components/label_buffer``): a fresh
page id, the pair and the side it was shown on, the time on task, and per kind its own fields (a
label's choice or both-bad flag, rationale and aspects only when given). What comes back is the
acknowledgement the page gets: saved with its event id, or refused / failed with the reason. An
undo is an outbox item too, naming the page id of the answer it takes back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from annotate_app.annotation import answers
from annotate_app.annotation import assignment as queue
from annotate_app.annotation.answers import Ack
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store

LATENCY_MS = 1500  # time on task a test's answers report unless they say otherwise


def next_pair(
    store: Store,
    annotator: str,
    settings: ProjectSettings | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, str] | None:
    """The first pair of the annotator's buffer, leased to them: (pair, the pair's response shown
    on the left); None when their queue is empty."""
    held = queue.held_pairs(store, annotator, settings, 1, now)
    return held[0] if held else None


def page_item(
    pair_id: str,
    side: str,
    kind: str = "label",
    *,
    choice: int | None = 1,
    both_bad: bool = False,
    rationale: str | None = None,
    aspects: dict[str, int] | None = None,
    reason: str | None = None,
    note: str | None = None,
    latency_ms: int = LATENCY_MS,
    cid: str | None = None,
) -> dict[str, Any]:
    """One outbox item as the page builds it; ``choice`` counts for a label only, and a both-bad
    label carries no choice; ``reason`` and ``note`` count for a flag only."""
    item: dict[str, Any] = {
        "cid": cid or str(uuid.uuid4()),  # the page's crypto.randomUUID()
        "pair": pair_id,
        "side": side,
        "latency_ms": latency_ms,
        "kind": kind,
    }
    if kind == "label":
        if both_bad:
            item["both_bad"] = True
        else:
            item["choice"] = choice
        if rationale and rationale.strip():
            item["rationale"] = rationale.strip()
        if aspects:
            item["aspects"] = aspects
    if kind == "flag":
        item["reason"] = reason
        if note and note.strip():
            item["note"] = note.strip()
    return item


def undo_item(taken_back_cid: str, pair_id: str, *, cid: str | None = None) -> dict[str, Any]:
    """The outbox item of the page's undo: it names the page id of the answer it takes back."""
    return {
        "cid": cid or str(uuid.uuid4()),
        "kind": "undo",
        "undoes": taken_back_cid,
        "pair": pair_id,
    }


def answer(
    store: Store,
    annotator: str,
    pair_id: str,
    side: str,
    kind: str = "label",
    *,
    settings: ProjectSettings | None = None,
    **fields: Any,
) -> Ack:
    """Send one answer about the pair as shown (``side``: the pair's response on the left) and
    return the page's acknowledgement."""
    item = page_item(pair_id, side, kind, **fields)
    (ack,) = answers.record(store, annotator, [item], settings)
    return ack


def saved(
    store: Store,
    annotator: str,
    pair_id: str,
    side: str,
    kind: str = "label",
    *,
    settings: ProjectSettings | None = None,
    **fields: Any,
) -> Ack:
    """``answer``, for a test whose answer must be saved (its acknowledgement has the event id)."""
    ack = answer(store, annotator, pair_id, side, kind, settings=settings, **fields)
    assert ack.status == "saved" and ack.event is not None, f"not saved: {ack}"
    return ack


def undo(
    store: Store,
    annotator: str,
    taken_back: Ack,
    pair_id: str,
    *,
    settings: ProjectSettings | None = None,
) -> Ack:
    """Take back an answer as the page's undo does: an outbox item naming that answer's page id.
    A saved undo's ``pair_back`` is the pair when it is back on the annotator's screen."""
    item = undo_item(taken_back.client_id, pair_id)
    (ack,) = answers.record(store, annotator, [item], settings)
    return ack
