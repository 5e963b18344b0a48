"""Answers sent by the label page under the page's own id, so a resent answer is recorded once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from annotate_app.store.assignment import LeaseRow, insert_leases, values
from annotate_app.store.base import StoreBase, first_row


@dataclass(frozen=True)
class PageAnswer:
    """One human label or skip from the label page, as stored (choice about the pair's own A/B)."""

    annotator: str
    client_id: str
    pair_id: str
    kind: Literal["label", "skip"]
    left_side: str
    choice: int | None = None
    both_bad: bool = False
    rationale: str | None = None
    aspects: dict | None = None
    latency_ms: int | None = None


class ClientAnswerStore(StoreBase):
    def events_for_client_ids(self, client_ids: list[str]) -> dict[str, int]:
        """The event recorded for each of these page ids that was seen before."""
        if not client_ids:
            return {}
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT client_id, event_id FROM label_client_ids "
                "WHERE client_id IN (SELECT unnest(?::VARCHAR[]))",
                [client_ids],
            ).fetchall()
        return {str(cid): int(event) for cid, event in rows}

    def record_answers(
        self,
        answers: list[PageAnswer],
        leases: list[LeaseRow] | None = None,
        replacing: list[tuple[str, str]] | None = None,
    ) -> list[int]:
        """One commit for whole outboxes (of one annotator or several): every answer's event and
        its page id (a page id seen before fails the whole commit), and the leases handed out
        meanwhile (``insert_leases``). Returns the event ids in the answers' order. An annotator's
        answers must name distinct pairs."""
        if not answers:
            return []
        keys = [(a.annotator, a.pair_id) for a in answers]
        if len(set(keys)) != len(keys):
            raise ValueError("one commit takes one answer per pair and annotator")
        with self.transaction() as cur:
            rows = cur.execute(
                "INSERT INTO label_events (pair_id, annotator, source, kind, choice, both_bad, "
                f"left_side, rationale, aspects, latency_ms) VALUES {values(len(answers), 10)} "
                "RETURNING id, annotator, pair_id",
                [
                    field
                    for a in answers
                    for field in (
                        a.pair_id,
                        a.annotator,
                        "human",
                        a.kind,
                        a.choice,
                        a.both_bad,
                        a.left_side,
                        a.rationale or None,
                        json.dumps(a.aspects) if a.aspects else None,
                        a.latency_ms,
                    )
                ],
            ).fetchall()
            event_of = {(str(who), str(pair)): int(event) for event, who, pair in rows}
            events = [event_of[key] for key in keys]
            cur.execute(
                "INSERT INTO label_client_ids (client_id, event_id, annotator) "
                f"VALUES {values(len(answers), 3)}",
                [
                    f
                    for a, e in zip(answers, events, strict=True)
                    for f in (a.client_id, e, a.annotator)
                ],
            )
            insert_leases(cur, leases or [], replacing)
        return events

    def client_ids_of(self, annotator: str) -> dict[str, int]:
        """Every page id this annotator's answers were recorded under, with its event."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT client_id, event_id FROM label_client_ids WHERE annotator = ?", [annotator]
            ).fetchall()
        return {str(cid): int(event) for cid, event in rows}

    def undo_event(self, annotator: str, event_id: int, client_id: str | None = None) -> str | None:
        """Take back one of the annotator's human labels or skips while it is in force; returns its
        pair id, or None when it is not theirs or was taken back already."""
        with self.transaction() as cur:
            row = first_row(
                cur.execute(
                    "SELECT pair_id FROM label_events e WHERE id = ? AND annotator = ? "
                    "AND source = 'human' AND kind IN ('label', 'skip') AND NOT EXISTS "
                    "(SELECT 1 FROM label_events u WHERE u.kind = 'undo' AND u.undoes = e.id)",
                    [event_id, annotator],
                )
            )
            if row is None:
                return None
            undo = first_row(
                cur.execute(
                    "INSERT INTO label_events (pair_id, annotator, source, kind, undoes) "
                    "VALUES (?, ?, 'human', 'undo', ?) RETURNING id",
                    [row[0], annotator, event_id],
                )
            )
            if client_id:
                remember_client_id(cur, client_id, int(undo[0]), annotator)
        return str(row[0])


def remember_client_id(cur, client_id: str, event_id: int, annotator: str) -> None:
    """Inside the event's own transaction: a second event under the same page id fails it."""
    cur.execute(
        "INSERT INTO label_client_ids (client_id, event_id, annotator) VALUES (?, ?, ?)",
        [client_id, event_id, annotator],
    )
