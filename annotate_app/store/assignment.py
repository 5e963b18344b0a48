"""The human queue's rows: answers in force, leases, the queue order, progress and gold checks.

The pick itself happens in memory (``annotate_app.annotation.dispatcher``); these reads load its state and
these writes make every lease durable.
"""

from __future__ import annotations

import datetime as dt
import json

from annotate_app.store.base import StoreBase, first_row

# Events of one annotator's that are still in force (labels and skips not taken back).
_IN_FORCE = (
    "SELECT e.pair_id, e.annotator, e.kind, e.created_at FROM label_events e "
    "WHERE e.source = 'human' AND e.kind IN ('label', 'skip') "
    "AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.kind = 'undo' AND u.undoes = e.id)"
)

# The human queue in priority order: routed pairs by their priority, unrouted ones in a seeded random
# order; pairs routed away and gold pairs (imported with a label) are not in it. Gold pairs follow.
_QUEUE_ORDER = """
WITH gold AS (SELECT DISTINCT pair_id FROM label_events WHERE source = 'import' AND kind = 'label')
SELECT p.id, g.pair_id IS NOT NULL AS is_gold
FROM pairs p
LEFT JOIN routes r ON r.pair_id = p.id
LEFT JOIN gold g ON g.pair_id = p.id
WHERE g.pair_id IS NOT NULL OR coalesce(r.route, 'human') = 'human'
ORDER BY r.priority DESC NULLS LAST, hash(p.id || $seed)
"""


class AssignmentStore(StoreBase):
    def human_answers_in_force(self) -> list[tuple[str, str, str, dt.datetime]]:
        """(pair, annotator, 'label' | 'skip', made at) for every human answer no undo took back."""
        with self.cursor() as cur:
            return [tuple(r) for r in cur.execute(_IN_FORCE).fetchall()]

    def lease_rows(self) -> list[tuple[str, str, str, dt.datetime]]:
        """(pair, annotator, left side, expires at) for every lease, live or not."""
        with self.cursor() as cur:
            return [
                tuple(r)
                for r in cur.execute(
                    "SELECT pair_id, annotator, left_side, expires_at FROM leases"
                ).fetchall()
            ]

    def queue_order(self, seed: str) -> tuple[list[str], list[str]]:
        """(human queue pair ids in priority order, gold pair ids)."""
        with self.cursor() as cur:
            rows = cur.execute(_QUEUE_ORDER, {"seed": seed}).fetchall()
        return [p for p, gold in rows if not gold], [p for p, gold in rows if gold]

    def expire_leases_after(self, until: dt.datetime) -> int:
        """Cut every lease short to ``until`` at the latest: leases a killed server held must not
        block their pairs for the whole lease time. Returns how many were cut."""
        with self.transaction() as cur:
            row = first_row(
                cur.execute("SELECT count(*) FROM leases WHERE expires_at > ?", [until])
            )
            cur.execute("UPDATE leases SET expires_at = ? WHERE expires_at > ?", [until, until])
        return int(row[0])

    def put_leases(self, rows: list[tuple[str, str, str, dt.datetime]]) -> None:
        """(pair, annotator, left side, expires at) rows in one commit. The key is (pair,
        annotator), and the last write wins, which is what a re-lease means. Two set-wise
        statements: a delete and an insert cost a quarter of ``INSERT OR REPLACE`` row by row
        (measured 9 vs 45 ms of CPU for 6 rows), and the service thread writes a batch per answer."""
        if not rows:
            return
        pairs, annotators, sides, expiries = (list(column) for column in zip(*rows, strict=True))
        with self.transaction() as cur:
            cur.execute(
                "DELETE FROM leases USING (SELECT unnest(?::VARCHAR[]) AS p, "
                "unnest(?::VARCHAR[]) AS a) k WHERE leases.pair_id = k.p AND leases.annotator = k.a",
                [pairs, annotators],
            )
            cur.execute(
                "INSERT INTO leases (pair_id, annotator, left_side, expires_at) "
                "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                "unnest(?::TIMESTAMP[])",
                [pairs, annotators, sides, expiries],
            )

    def delete_leases(self, keys: list[tuple[str, str]]) -> None:
        with self.transaction() as cur:
            cur.executemany("DELETE FROM leases WHERE pair_id = ? AND annotator = ?", keys)

    def shown_pair(self, pair_id: str) -> tuple[list[dict], str, str]:
        """(turns, text A, text B) by point lookups: the pair_texts view joins whole tables, which
        costs milliseconds per call at 100k pairs, and the label page calls this on every answer."""
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT pr.turns, ra.text, rb.text "
                    "FROM (SELECT * FROM pairs WHERE id = ?) p, prompts pr, responses ra, "
                    "responses rb WHERE pr.id = p.prompt_id AND ra.id = p.response_a "
                    "AND rb.id = p.response_b",
                    [pair_id],
                )
            )
        if row is None:
            raise KeyError(f"no pair {pair_id}")
        return json.loads(row[0]), str(row[1]), str(row[2])

    def last_left_side(self, pair_id: str, annotator: str) -> str | None:
        """The side this annotator last saw the pair on, so an undone pair comes back unchanged."""
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT left_side FROM label_events WHERE pair_id = ? AND annotator = ? "
                    "AND source = 'human' AND left_side IS NOT NULL ORDER BY id DESC LIMIT 1",
                    [pair_id, annotator],
                )
            )
        return None if row is None else str(row[0])
