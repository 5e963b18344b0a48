"""Answers from the label page's outbox, each recorded exactly once under the page's own id.

The page paints the next pair without waiting for the server, keeps every answer in an outbox, and
resends the whole outbox until each id is acknowledged: after a lost message, a coalesced rerun, a
reconnect or a server restart. ``record`` therefore meets the same answer many times. An id seen
before is acknowledged with the event recorded for it, and nothing is written again.

An acknowledgement is final: ``saved`` (the event id), or ``refused`` (the answer can never be
recorded, with the reason: the lease ran out and the pair went to another annotator, or the item is
malformed). A ``failed`` write (the database refused it for now) is not final: the page keeps the
answer and sends it again.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from annotate_app.annotation import assignment as queue
from annotate_app.annotation.assignment import ASPECTS
from annotate_app.annotation.dispatcher import LeaseLost
from annotate_app.labels.scale import Side, stored_choice
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.store.client_answers import PageAnswer
from annotate_app.store.flags import FLAG_REASONS

AnswerKind = Literal["label", "skip", "undo", "flag"]
AckStatus = Literal["saved", "refused", "failed"]
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_RATIONALE = 2000
MAX_BATCH = 500
MAX_LATENCY_MS = 24 * 3600 * 1000
# One annotator's outboxes (two tabs, or a resend racing the first send) are recorded one at a time,
# so the second sees the first's ids; different annotators never wait for each other.
_ANNOTATOR_LOCKS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
# Per store, per annotator: the page ids recorded so far and their events (None for an undo recorded
# here). Loaded from DuckDB on an annotator's first outbox, then kept by ``record`` itself: only this
# process writes answers, so a resend is recognised without a query. A write that fails on an id
# recorded elsewhere (another Store on the file) is still acknowledged from DuckDB.
_RECORDED: weakref.WeakKeyDictionary[Store, dict[str, dict[str, int | None]]] = (
    weakref.WeakKeyDictionary()
)
_RECORDED_LOCK = threading.Lock()


class BadAnswer(ValueError):
    """An outbox item that can never be recorded as sent."""


@dataclass(frozen=True)
class Answer:
    client_id: str
    kind: AnswerKind
    pair_id: str = ""
    left_side: Side = "a"  # the pair's response shown on the left
    shown_choice: int | None = None  # about the shown left (A) vs right (B)
    both_bad: bool = False
    rationale: str | None = None
    aspects: dict[str, int] | None = None  # aspect -> shown choice in -1..1
    latency_ms: int | None = None
    undoes: str | None = None  # for kind 'undo': the client id of the answer taken back
    reason: str | None = None  # for kind 'flag'
    note: str | None = None


@dataclass(frozen=True)
class Ack:
    client_id: str
    status: AckStatus
    event: int | None = None
    message: str | None = None
    pair_back: str | None = None  # an undo that put its pair back on the annotator's screen

    def as_dict(self) -> dict[str, Any]:
        return {
            "cid": self.client_id,
            "status": self.status,
            "event": self.event,
            "message": self.message,
            "pair_back": self.pair_back,
        }


def _int(item: dict, key: str, low: int, high: int) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadAnswer(f"{key} must be a number from {low} to {high}, got {value!r}")
    return int(value)


def _text(item: dict, key: str, limit: int) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadAnswer(f"{key} must be text")
    return value.strip()[:limit] or None


def parse(item: Any) -> Answer:
    """One outbox item as sent by the page; ``BadAnswer`` names the field that is wrong."""
    if not isinstance(item, dict):
        raise BadAnswer("an answer must be an object")
    kind = item.get("kind")
    if kind not in get_args(AnswerKind):
        raise BadAnswer(f"kind must be one of {get_args(AnswerKind)}, got {kind!r}")
    if kind == "undo":
        undoes = item.get("undoes")
        if not isinstance(undoes, str) or not CLIENT_ID.match(undoes):
            raise BadAnswer("an undo must name the id of the answer it takes back")
        return Answer(item["cid"], "undo", undoes=undoes)
    pair_id = item.get("pair")
    if not isinstance(pair_id, str) or not pair_id:
        raise BadAnswer("pair is missing")
    side = item.get("side")
    if side not in ("a", "b"):
        raise BadAnswer(f"side must be 'a' or 'b', got {side!r}")
    aspects = item.get("aspects") or {}
    if not isinstance(aspects, dict) or set(aspects) - set(ASPECTS):
        raise BadAnswer(f"aspects must be a map over {ASPECTS}")
    if any(v not in (-1, 0, 1) or isinstance(v, bool) for v in aspects.values()):
        raise BadAnswer("each aspect must be -1, 0 or 1")
    if kind == "flag" and item.get("reason") not in FLAG_REASONS:
        raise BadAnswer(
            f"a flag's reason must be one of {FLAG_REASONS}, got {item.get('reason')!r}"
        )
    choice = _int(item, "choice", -2, 2)
    both_bad = item.get("both_bad") is True
    if kind == "label" and choice is None and not both_bad:
        raise BadAnswer("a label needs a choice or both_bad")
    return Answer(
        client_id=item["cid"],
        kind=kind,
        pair_id=pair_id,
        left_side=side,
        shown_choice=None if both_bad else choice,
        both_bad=both_bad,
        rationale=_text(item, "rationale", MAX_RATIONALE),
        aspects={k: int(v) for k, v in aspects.items()} or None,
        latency_ms=_int(item, "latency_ms", 0, MAX_LATENCY_MS),
        reason=_text(item, "reason", 40),
        note=_text(item, "note", MAX_RATIONALE),
    )


def record(
    store: Store,
    annotator: str,
    items: list[Any],
    settings: ProjectSettings | None = None,
    top_up: Callable[[], object] | None = None,
) -> list[Ack]:
    """Record every new answer in the outbox, in order; one acknowledgement per item. Labels and
    skips go in one commit (``assignment.record_outbox``), together with the leases ``top_up``
    hands out; an undo commits the answers before it first, then itself."""
    settings = settings or ProjectSettings.load(store)
    with _ANNOTATOR_LOCKS[annotator]:
        return _record_all(store, annotator, items, settings, top_up)


def _recorded(store: Store, annotator: str) -> dict[str, int | None]:
    """This annotator's recorded page ids (the caller holds the annotator's lock)."""
    with _RECORDED_LOCK:
        by_annotator = _RECORDED.setdefault(store, {})
    found = by_annotator.get(annotator)
    if found is None:
        found = by_annotator[annotator] = dict(store.client_ids_of(annotator))
    return found


def _record_all(
    store: Store,
    annotator: str,
    items: list[Any],
    settings: ProjectSettings,
    top_up: Callable[[], object] | None,
) -> list[Ack]:
    recorded = _recorded(store, annotator)
    acks: dict[str, Ack] = {}
    order: list[str] = []
    seen: set[str] = set()
    batch: list[PageAnswer] = []
    for item in items[:MAX_BATCH]:
        cid = item.get("cid") if isinstance(item, dict) else None
        if not isinstance(cid, str) or not CLIENT_ID.match(cid):
            continue  # nothing to acknowledge it by; the page only sends ids it made
        order.append(cid)  # an id sent twice is acknowledged twice, recorded once
        if cid in seen:
            continue
        seen.add(cid)
        if cid in recorded:
            acks[cid] = Ack(cid, "saved", recorded[cid])
            continue
        try:
            answer = parse(item)
            if answer.kind == "undo":
                acks.update(_commit(store, annotator, batch, settings, recorded, None))
                batch = []
                acks[cid] = _undo(store, annotator, answer, settings, recorded)
                continue
            if answer.kind == "flag":
                store.flag_pair(answer.pair_id, annotator, answer.reason or "", answer.note)
            batch.append(_stored(annotator, answer))
        except (BadAnswer, LeaseLost) as exc:
            acks[cid] = _unless_recorded(store, Ack(cid, "refused", message=str(exc)))
        except Exception as exc:  # noqa: BLE001 - the page keeps the answer and sends it again
            acks[cid] = _unless_recorded(store, Ack(cid, "failed", message=f"not saved yet: {exc}"))
    acks.update(_commit(store, annotator, batch, settings, recorded, top_up))
    return [acks[cid] for cid in order]


def _unless_recorded(store: Store, refusal: Ack) -> Ack:
    """Another tab of the same annotator, or another Store on the file, may have recorded it."""
    again = store.events_for_client_ids([refusal.client_id])
    cid = refusal.client_id
    return Ack(cid, "saved", again[cid]) if cid in again else refusal


def _stored(annotator: str, answer: Answer) -> PageAnswer:
    """A label, skip or flag's skip as stored: choices about the pair's own A/B."""
    side = answer.left_side
    if answer.kind != "label":
        return PageAnswer(annotator, answer.client_id, answer.pair_id, "skip", side)
    aspects = {k: stored_choice(v, side) for k, v in (answer.aspects or {}).items()}
    return PageAnswer(
        annotator,
        answer.client_id,
        answer.pair_id,
        "label",
        side,
        choice=None if answer.shown_choice is None else stored_choice(answer.shown_choice, side),
        both_bad=answer.both_bad,
        rationale=answer.rationale,
        aspects=aspects or None,
        latency_ms=max(0, answer.latency_ms) if answer.latency_ms is not None else 0,
    )


def _commit(
    store: Store,
    annotator: str,
    batch: list[PageAnswer],
    settings: ProjectSettings,
    recorded: dict[str, int | None],
    top_up: Callable[[], object] | None,
) -> dict[str, Ack]:
    """One commit for the batch; the acknowledgement of each of its answers."""
    if not batch:
        return {}
    try:
        results = queue.record_outbox(store, annotator, batch, settings, top_up)
    except Exception as exc:  # noqa: BLE001 - the page keeps the answers and sends them again
        again = store.events_for_client_ids([a.client_id for a in batch])
        return {
            a.client_id: Ack(a.client_id, "saved", again[a.client_id])
            if a.client_id in again
            else Ack(a.client_id, "failed", message=f"not saved yet: {exc}")
            for a in batch
        }
    acks = {}
    for answer, result in zip(batch, results, strict=True):
        cid = answer.client_id
        if isinstance(result, LeaseLost):
            acks[cid] = _unless_recorded(store, Ack(cid, "refused", message=str(result)))
        else:
            recorded[cid] = result
            acks[cid] = Ack(cid, "saved", result)
    return acks


def _undo(
    store: Store,
    annotator: str,
    answer: Answer,
    settings: ProjectSettings,
    recorded: dict[str, int | None],
) -> Ack:
    cid = answer.client_id
    target = recorded.get(answer.undoes or "")
    if target is None:
        raise BadAnswer("the answer to take back was never recorded")
    undone = queue.undo_answer(store, annotator, target, settings, client_id=cid)
    if undone is None:
        raise BadAnswer("that answer was taken back already")
    recorded[cid] = None
    return Ack(cid, "saved", pair_back=undone.pair_id if undone.back else None)
