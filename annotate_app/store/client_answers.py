"""Answers sent by the label page under the page's own id, so a resent answer is recorded once."""

from __future__ import annotations

from annotate_app.store.base import StoreBase, first_row


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
