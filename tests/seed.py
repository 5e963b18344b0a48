"""Tests seed a project's label history through the app's own write paths, one function per source,
so every seeded event has the shape the app writes:

- human labels as the label page's answers (``Store.record_answers``: a fresh page id each, the side
  shown on the left, the time on task), many in one commit;
- AI verdicts as the judge job stores them (both orders combined by ``judge.debias.combine``, rows
  built by the job's ``verdict_frame``, stored by ``Store.add_judge_verdicts``);
- imported gold labels as the importer stores them (``Store.ingest_frames``, annotator
  ``import:<file>``, choice +1 or -1);
- adjudicated labels as the Review page saves them (``Store.adjudicate``).

Seeded human labels do not pass through the dispatcher (nothing is leased or claimed): they stand
for a project's history. A test about the label page or the queue answers through
``tests/answering.py`` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import pandas as pd

from annotate_app.judge.debias import combine
from annotate_app.judge.jobs import verdict_frame
from annotate_app.judge.protocol import RawVerdict
from annotate_app.labels.scale import Side
from annotate_app.store import Store
from annotate_app.store.client_answers import PageAnswer
from tests.answering import LATENCY_MS

JUDGE_MODEL = "seeded-judge"  # the model name a seeded verdict's metadata gives


def human_answer(
    pair_id: str,
    annotator: str,
    choice: int | None,
    *,
    both_bad: bool = False,
    left_side: Side = "a",
    rationale: str | None = None,
    aspects: dict[str, int] | None = None,
    latency_ms: int = LATENCY_MS,
) -> PageAnswer:
    """One label as the label page's answer is stored: ``choice`` (and each aspect) about the
    pair's own A/B, whichever side was shown on the left; a both-bad label carries no choice."""
    if choice is None and not both_bad:
        raise ValueError("a label needs a choice or both_bad")
    return PageAnswer(
        annotator,
        str(uuid.uuid4()),  # the page's own id for the answer
        pair_id,
        "label",
        left_side,
        choice=None if both_bad else choice,
        both_bad=both_bad,
        rationale=rationale,
        aspects=aspects,
        latency_ms=latency_ms,
    )


def human_labels(store: Store, answers: Iterable[PageAnswer]) -> list[int]:
    """Record the answers in order, in as few commits as the store allows (one answer per pair and
    annotator per commit: a changed mind starts the next commit); their event ids, in order."""
    events: list[int] = []
    batch: list[PageAnswer] = []
    keys: set[tuple[str, str]] = set()
    for answer in answers:
        key = (answer.annotator, answer.pair_id)
        if key in keys:
            events += store.record_answers(batch)
            batch, keys = [], set()
        batch.append(answer)
        keys.add(key)
    return events + store.record_answers(batch)


def human_label(
    store: Store,
    pair_id: str,
    annotator: str,
    choice: int | None,
    *,
    both_bad: bool = False,
    left_side: Side = "a",
    rationale: str | None = None,
    aspects: dict[str, int] | None = None,
    latency_ms: int = LATENCY_MS,
) -> int:
    """One human label in its own commit; its event id."""
    answer = human_answer(
        pair_id,
        annotator,
        choice,
        both_bad=both_bad,
        left_side=left_side,
        rationale=rationale,
        aspects=aspects,
        latency_ms=latency_ms,
    )
    (event,) = store.record_answers([answer])
    return event


def judge_labels(
    store: Store,
    judge_id: str,
    p_a: Mapping[str, float],
    *,
    rationale: str | None = None,
    latency_s: float = 0.5,
    position_bias: float = 0.0,
) -> dict[str, int]:
    """A judge's verdicts (pair -> debiased P(A better)) stored as the judge job stores a chunk:
    each read in both orders (P(A) with A first, P(B) with B first), its choice from p_a
    (``choice_from_p_a``: +-2 from 0.9 / 0.1 on). ``position_bias`` is added to P(first better) in
    both orders: debiasing cancels it, so p_a stays as given, but a bias past the verdict's margin
    from 0.5 makes both orders pick the first response, a position-inconsistent verdict. Returns
    pair -> event id; a pair this judge has a verdict on already keeps that one."""
    verdicts = []
    for pair_id, p in p_a.items():
        first_ab, first_ba = p + position_bias, 1.0 - p + position_bias
        if not (0.0 <= first_ab <= 1.0 and 0.0 <= first_ba <= 1.0):
            raise ValueError(f"position bias {position_bias} takes P(first) of p_a {p} off [0, 1]")
        reading = {"latency_s": latency_s / 2, "prompt_tokens": 100, "completion_tokens": 1}
        ab = RawVerdict(
            {"A": first_ab, "B": 1.0 - first_ab, "C": 0.0}, "logits", rationale, **reading
        )
        ba = RawVerdict({"A": first_ba, "B": 1.0 - first_ba, "C": 0.0}, "logits", None, **reading)
        verdicts.append(combine(pair_id, ab, ba))
    info = {"judge_id": judge_id, "model": JUDGE_MODEL, "template_sha": "seeded", "job_id": "seed"}
    store.add_judge_verdicts(verdict_frame(verdicts, info))
    stored = store.judge_verdicts(judge_id).set_index("pair_id")["id"]
    return {pair_id: int(stored[pair_id]) for pair_id in p_a}


def judge_label(
    store: Store,
    pair_id: str,
    judge_id: str,
    p_a: float,
    *,
    rationale: str | None = None,
) -> int:
    """One verdict; its event id."""
    return judge_labels(store, judge_id, {pair_id: p_a}, rationale=rationale)[pair_id]


def imported_labels(store: Store, a_wins: Mapping[str, bool], file: str = "gold.jsonl") -> int:
    """Gold labels as importing a chosen/rejected file stores them for pairs the project holds
    (pair -> whether its A response was the chosen one); how many were new."""
    labels = pd.DataFrame(
        [
            {
                "pair_id": pair_id,
                "annotator": f"import:{file}",
                "choice": 1 if wins else -1,
                "metadata": None,
            }
            for pair_id, wins in a_wins.items()
        ],
        columns=["pair_id", "annotator", "choice", "metadata"],
    )
    empty = pd.DataFrame()
    return store.ingest_frames(empty, empty, empty, labels).labels


def adjudicated_label(
    store: Store,
    pair_id: str,
    admin: str,
    choice: int | None,
    *,
    both_bad: bool = False,
    rationale: str | None = None,
) -> int:
    """An admin's final label as the Review page saves it (it resolves the pair's open flags)."""
    return store.adjudicate(pair_id, admin, choice=choice, both_bad=both_bad, rationale=rationale)
