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


LeaseRow = tuple[str, str, str, dt.datetime]  # pair, annotator, left side, expires at


def values(rows: int, width: int) -> str:
    """``(?, ...), (?, ...)``: placeholders for a multi-row ``VALUES``. For the few rows of an
    outbox this costs less than ``SELECT unnest(?::T[]), ...`` (one answer, its page id and a lease
    in one commit: 9.5 against 11.9 ms of CPU, measured here)."""
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * rows)


def _delete_keys(cur, pairs: list[str], annotators: list[str]) -> None:
    cur.execute(
        "DELETE FROM leases USING (SELECT unnest(?::VARCHAR[]) AS p, unnest(?::VARCHAR[]) AS a) k "
        "WHERE leases.pair_id = k.p AND leases.annotator = k.a",
        [pairs, annotators],
    )


def insert_leases(cur, rows: list[LeaseRow], replacing: list[tuple[str, str]] | None) -> None:
    """Inside the caller's transaction: insert lease rows in one statement. The key is (pair,
    annotator); ``replacing`` names the keys whose rows exist already (the dispatcher knows them;
    None: any may), which are deleted first. A plain insert costs a third of ``INSERT ... ON
    CONFLICT`` (2.4 against 7 ms of CPU for one row, measured here), and only a lease given back by
    an undo replaces a row."""
    if not rows:
        return
    if replacing is None:
        _delete_keys(cur, [row[0] for row in rows], [row[1] for row in rows])
    elif replacing:
        _delete_keys(cur, [p for p, _ in replacing], [a for _, a in replacing])
    cur.execute(
        "INSERT INTO leases (pair_id, annotator, left_side, expires_at) "
        f"VALUES {values(len(rows), 4)}",
        [field for row in rows for field in row],
    )


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

    def queue_fingerprint(self) -> tuple:
        """What the queue order depends on, summed: the pairs, the gold labels, and every route with
        its priority. The same fingerprint means the same order for a seed; at 100k pairs it costs
        8-12 ms of CPU where ``queue_order`` costs 170-250 ms."""
        with self.cursor() as cur:
            row = first_row(
                cur.execute(
                    "SELECT (SELECT count(*) FROM pairs), (SELECT count(*) FROM label_events "
                    "WHERE source = 'import' AND kind = 'label'), (SELECT count(*) FROM routes), "
                    "(SELECT sum(hash(pair_id, route, priority)) FROM routes)"
                )
            )
        return tuple(row or ())

    def expire_leases_after(self, until: dt.datetime) -> int:
        """Cut every lease short to ``until`` at the latest: leases a killed server held must not
        block their pairs for the whole lease time. Returns how many were cut."""
        with self.transaction() as cur:
            row = first_row(
                cur.execute("SELECT count(*) FROM leases WHERE expires_at > ?", [until])
            )
            cur.execute("UPDATE leases SET expires_at = ? WHERE expires_at > ?", [until, until])
        return int(row[0])

    def write_leases(
        self, rows: list[LeaseRow], replacing: list[tuple[str, str]] | None = None
    ) -> None:
        """(pair, annotator, left side, expires at) rows in one commit; see ``insert_leases``."""
        if not rows:
            return
        with self.transaction() as cur:
            insert_leases(cur, rows, replacing)

    def delete_leases(self, keys: list[tuple[str, str]]) -> None:
        """Delete the lease rows of these (pair, annotator) keys, set-wise in one commit."""
        if not keys:
            return
        pairs, annotators = (list(column) for column in zip(*keys, strict=True))
        with self.transaction() as cur:
            _delete_keys(cur, pairs, annotators)

    def shown_pair(self, pair_id: str) -> tuple[list[dict], str, str]:
        """(turns, text A, text B) of one pair; KeyError when there is none."""
        found = self.shown_pairs([pair_id])
        if pair_id not in found:
            raise KeyError(f"no pair {pair_id}")
        return found[pair_id]

    def shown_pairs(self, pair_ids: list[str]) -> dict[str, tuple[list[dict], str, str]]:
        """(turns, text A, text B) per pair id, in one query. The ids go in as an IN list of
        parameters: DuckDB filters that in the pairs scan, while a joined list of ids (``unnest``)
        or the ``pair_texts`` view joins whole tables. One pair costs about as much as 16 (5 against
        9 ms of CPU at 2k pairs), so the label page fetches its next pairs together."""
        if not pair_ids:
            return {}
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT p.id, pr.turns, ra.text, rb.text FROM pairs p "
                "JOIN prompts pr ON pr.id = p.prompt_id JOIN responses ra ON ra.id = p.response_a "
                f"JOIN responses rb ON rb.id = p.response_b WHERE p.id IN "
                f"({', '.join('?' * len(pair_ids))})",
                list(pair_ids),
            ).fetchall()
        return {str(pid): (json.loads(turns), str(a), str(b)) for pid, turns, a, b in rows}

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
