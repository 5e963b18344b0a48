"""The server process's in-memory view of the human queue, so a pick never scans DuckDB.

Picking a pair for an annotator and leasing it must be atomic across the app's sessions, or two
annotators get the same pair. Doing that with a query under a lock made every pick wait for the
others' queue scans (p95 about 1 s with 8 annotators). Here the lock guards only dictionaries:

- ``order``: the human queue's pair ids in priority order, and the gold pairs. Routes, imports and
  priorities change outside this module (jobs, the Data page), so the order is reloaded from DuckDB
  when it is older than ``refresh_s`` (in the app by its service thread, off the answer path), and
  at once when a pick finds nothing.
- who answered what (and when each label in force was made, for the progress counts), and who
  holds which lease. Only this process writes human answers and leases (DuckDB lets one process
  hold the file), so after one load from DuckDB these are kept up to date by the same calls that
  write them, and are exact.

Every answer is written to DuckDB before the caller sees it. Leases are too, except in the app,
which calls ``write_behind(store)``: there a lease is written in a batch within a fraction of a
second, either in the same commit as the answers whose buffer top-up handed it out
(``writing_leases``; one commit instead of two) or by the app's service thread (``flush``). A
crash can lose only the leases of that last moment, and the next process cuts the previous
process's leases to a short grace time anyway.

A lease row is not deleted when its pair is answered: a lease on a pair the annotator answered holds
nothing (the loader ignores it), and a delete per answer would cost as much as the answer's own
insert. Rows are deleted once expired (``prune``), and replaced when a pair is leased again to the
same annotator (an undo); the dispatcher knows which rows the file holds, so a new lease is a plain
insert. The next process loads the same state.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from annotate_app.store import Store


class LeaseLost(Exception):
    """The answer came after the lease expired and the pair went to others meanwhile."""


@dataclass
class _Lease:
    side: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class LeaseWrite:
    """Leases to write in one commit: (pair, annotator, left side, expires at) rows, and the keys
    among them whose old rows must be deleted first."""

    rows: list[tuple[str, str, str, dt.datetime]]
    replacing: list[tuple[str, str]]


@dataclass
class _Order:
    queue: list[str] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    loaded_at: float = 0.0
    fingerprint: tuple = ()  # ``Store.queue_fingerprint`` when it was loaded


class Dispatcher:
    """One per Store (so per server process); use ``for_store``."""

    def __init__(self, store: Store, seed: str, refresh_s: float, behind: bool = False) -> None:
        self.store = store
        self.behind = behind
        self.seed = seed
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._labeled: dict[str, set[str]] = {}  # pair -> annotators whose label is in force
        self._done: dict[str, set[str]] = {}  # annotator -> pairs they labeled or skipped
        # annotator -> pair -> when their label in force on it was made
        self._labeled_at: dict[str, dict[str, dt.datetime]] = {}
        self._leases: dict[str, dict[str, _Lease]] = {}  # pair -> annotator -> lease
        # annotator -> the pairs leased to them, in the order their page shows them
        self._holding: dict[str, list[str]] = {}
        self._order = _Order()
        self._floor: dict[int, int] = {}  # overlap -> every queue pair before it is full
        self._full_count: dict[int, int] = {}  # overlap -> queue pairs with that many labels
        self._pending: dict[tuple[str, str], _Lease] = {}  # leases not yet in DuckDB
        # (pair, annotator) -> expiry of the lease row DuckDB holds (changed under _flush_lock)
        self._rows: dict[tuple[str, str], dt.datetime] = {}
        self._pruned_at = time.monotonic()
        self._flush_lock = threading.Lock()
        self._load_answers()
        self._reload_order()

    # -- loading -------------------------------------------------------------------------------

    def _load_answers(self) -> None:
        for pair, annotator, kind, made_at in self.store.human_answers_in_force():
            self._done.setdefault(annotator, set()).add(pair)
            if kind == "label":
                self._labeled.setdefault(pair, set()).add(annotator)
                self._labeled_at.setdefault(annotator, {})[pair] = made_at
        rows = sorted(self.store.lease_rows(), key=lambda row: row[3])
        for pair, annotator, side, expires_at in rows:
            self._rows[(pair, annotator)] = expires_at
            if pair in self._done.get(annotator, ()):
                continue  # the lease of an answered pair; its row waits for ``prune``
            self._leases.setdefault(pair, {})[annotator] = _Lease(side, expires_at)
            self._holding.setdefault(annotator, []).append(pair)

    def _reload_order(self, fingerprint: tuple | None = None) -> None:
        fingerprint = fingerprint or self.store.queue_fingerprint()  # before the order: a change
        queue, gold = self.store.queue_order(self.seed)  # in between shows at the next check
        index = {p: i for i, p in enumerate(queue)}
        order = _Order(queue, gold, index, time.monotonic(), fingerprint)
        with self._lock:
            self._order = order
            self._floor.clear()
            self._full_count.clear()

    def reload_if_stale(self) -> None:
        """Reload the order when it is older than ``refresh_s`` and its inputs changed: the check
        costs a twentieth of a reload at 100k pairs, and the app runs it every ``refresh_s``."""
        if time.monotonic() - self._order.loaded_at > self.refresh_s:
            fingerprint = self.store.queue_fingerprint()
            if fingerprint == self._order.fingerprint:
                self._order.loaded_at = time.monotonic()
            else:
                self._reload_order(fingerprint)

    # -- reads ---------------------------------------------------------------------------------

    def _taken(self, pair: str, annotator: str, now: dt.datetime) -> int:
        """Other annotators' labels and live leases on the pair."""
        labeled = self._labeled.get(pair, set())
        leased = {
            a
            for a, lease in self._leases.get(pair, {}).items()
            if lease.expires_at > now and a not in labeled
        }
        return len(labeled - {annotator}) + len(leased - {annotator})

    def held_all(self, annotator: str, now: dt.datetime) -> list[tuple[str, str]]:
        """Every pair this annotator holds a live lease on and has not answered, in the order
        their page shows them: (pair, left side)."""
        with self._lock:
            return self._held_all(annotator, now)

    def _held_all(self, annotator: str, now: dt.datetime) -> list[tuple[str, str]]:
        done = self._done.get(annotator, ())
        live = []
        for pair in self._holding.get(annotator, []):
            lease = self._leases.get(pair, {}).get(annotator)
            if pair not in done and lease is not None and lease.expires_at > now:
                live.append((pair, lease.side))
        self._holding[annotator] = [pair for pair, _ in live]
        return live

    def left(self, annotator: str, overlap: int, now: dt.datetime) -> int:
        """Queue pairs this annotator could still get: the queue minus pairs that are full or that
        they answered. Pairs full by labels are counted incrementally; only this annotator's
        answers and the leased pairs are visited, never the whole queue."""
        with self._lock:
            index = self._order.index
            done = self._done.get(annotator, set())
            closed = {
                p
                for p in (*done, *self._leases)
                if p in index
                and len(self._labeled.get(p, ())) < overlap
                and (p in done or self._taken(p, annotator, now) >= overlap)
            }
            # Held gold pairs sit outside the queue; they are on the annotator's screen all the same.
            gold = sum(1 for pair, _ in self._held_all(annotator, now) if pair not in index)
            return len(index) - self._full(overlap) - len(closed) + gold

    def upcoming(self, annotator: str, overlap: int, now: dt.datetime, n: int) -> list[str]:
        """The queue pairs this annotator would be handed next (up to ``n``), reserving nothing:
        the label page fetches their texts ahead, together."""
        with self._lock:
            done = self._done.get(annotator, set())
            queue = self._order.queue
            found: list[str] = []
            for i in range(self._floor.get(overlap, 0), len(queue)):
                pair = queue[i]
                if len(found) >= n:
                    break
                if (
                    pair not in done
                    and self._taken(pair, annotator, now) < overlap
                    and not self._holds(annotator, pair, now)
                ):
                    found.append(pair)
            return found

    def label_counts(self, annotator: str, since: dt.datetime) -> tuple[int, int]:
        """(labels made since ``since``, labels in total) of this annotator's still in force."""
        with self._lock:
            made = self._labeled_at.get(annotator, {})
            return sum(1 for at in made.values() if at >= since), len(made)

    def _full(self, overlap: int) -> int:
        """Queue pairs with ``overlap`` labels or more (caller holds the lock)."""
        if overlap not in self._full_count:
            index = self._order.index
            self._full_count[overlap] = sum(
                1 for p, who in self._labeled.items() if p in index and len(who) >= overlap
            )
        return self._full_count[overlap]

    def _labels_changed(self, pair: str, before: int, after: int) -> None:
        if pair in self._order.index:
            for k in self._full_count:
                self._full_count[k] += (after >= k) - (before >= k)

    # -- writes --------------------------------------------------------------------------------

    def lease_next(
        self,
        annotator: str,
        *,
        gold: bool,
        overlap: int,
        now: dt.datetime,
        expires_at: dt.datetime,
        side_of,
    ) -> tuple[str, str] | None:
        """Reserve the first open pair in memory, write the lease, return (pair, left side)."""
        if not self.behind:
            self.reload_if_stale()  # the app's service thread does this off the answer path
        picked = self._reserve(annotator, gold, overlap, now, expires_at, side_of)
        if picked is None and self._order.loaded_at < time.monotonic() - 1.0:
            self._reload_order()  # new imports or routes must not wait for the next refresh
            picked = self._reserve(annotator, gold, overlap, now, expires_at, side_of)
        if picked is not None:
            self._write_behind(picked[0], annotator, picked[1], expires_at)
        return picked

    def _reserve(self, annotator, gold, overlap, now, expires_at, side_of):
        with self._lock:
            done = self._done.get(annotator, set())
            if gold:
                pair = next(
                    (
                        p
                        for p in self._order.gold
                        if p not in done and not self._holds(annotator, p, now)
                    ),
                    None,
                )
            else:
                pair = self._first_open(annotator, done, overlap, now)
            if pair is None:
                return None
            side = side_of(pair)
            self._leases.setdefault(pair, {})[annotator] = _Lease(side, expires_at)
            self._hold(annotator, pair, first=False)
            return pair, side

    def _holds(self, annotator: str, pair: str, now: dt.datetime) -> bool:
        lease = self._leases.get(pair, {}).get(annotator)
        return lease is not None and lease.expires_at > now

    def _hold(self, annotator: str, pair: str, *, first: bool) -> None:
        held = [p for p in self._holding.get(annotator, []) if p != pair]
        self._holding[annotator] = [pair, *held] if first else [*held, pair]

    def _first_open(self, annotator: str, done: set[str], overlap: int, now) -> str | None:
        queue = self._order.queue
        start = self._floor.get(overlap, 0)
        while start < len(queue) and len(self._labeled.get(queue[start], ())) >= overlap:
            start += 1
        self._floor[overlap] = start
        for i in range(start, len(queue)):  # not queue[start:], which copies the whole queue
            pair = queue[i]
            if (
                pair not in done
                and self._taken(pair, annotator, now) < overlap
                and not self._holds(annotator, pair, now)
            ):
                return pair
        return None

    def claim_for_answer(
        self, annotator: str, pair: str, side: str, overlap: int, now: dt.datetime
    ) -> bool:
        """Before an answer is written: the annotator must hold a live lease on the pair, or the
        pair must still have room for them. Then it stays reserved for them until ``answered``.
        Returns True when the reservation is new: a failed write drops it (``unanswered`` with no
        lease to restore)."""
        with self._lock:
            if pair in self._done.get(annotator, ()):
                raise LeaseLost("you already answered this pair (in another tab?); not saved again")
            lease = self._leases.get(pair, {}).get(annotator)
            if lease is None or lease.expires_at <= now:
                if self._taken(pair, annotator, now) >= overlap:
                    raise LeaseLost(
                        "this pair's lease ran out and it went to another annotator meanwhile; "
                        "your answer was not saved"
                    )
                self._leases.setdefault(pair, {})[annotator] = _Lease(
                    side, now + dt.timedelta(minutes=1)
                )
                return True
            return False

    def answered(self, annotator: str, pair: str, kind: str) -> _Lease | None:
        """When the answer (label or skip) is committed, or just before, in the same call as its
        commit (``unanswered`` takes it back if the commit fails). Returns the lease it ends."""
        with self._lock:
            self._done.setdefault(annotator, set()).add(pair)
            if kind == "label":
                who = self._labeled.setdefault(pair, set())
                before = len(who)
                who.add(annotator)
                self._labels_changed(pair, before, len(who))
                self._labeled_at.setdefault(annotator, {})[pair] = dt.datetime.now()
            return self._leases.get(pair, {}).pop(annotator, None)

    def unanswered(self, annotator: str, pair: str, kind: str, lease: _Lease | None) -> None:
        """The commit of an answer marked ``answered`` failed: the pair is as before, back first
        on the annotator's screen while the lease lasts."""
        with self._lock:
            self._reopen(annotator, pair, labeled=kind == "label")
            if lease is not None:
                self._leases.setdefault(pair, {})[annotator] = lease
                self._hold(annotator, pair, first=True)

    def _reopen(self, annotator: str, pair: str, *, labeled: bool) -> None:
        """The pair is open again for this annotator, its answer undone or never committed (and,
        when ``labeled``, its label no longer counted); the caller holds the lock."""
        self._done.get(annotator, set()).discard(pair)
        if labeled:
            who = self._labeled.get(pair, set())
            before = len(who)
            who.discard(annotator)
            self._labels_changed(pair, before, len(who))
            self._labeled_at.get(annotator, {}).pop(pair, None)
        index = self._order.index.get(pair)
        if index is not None:
            for k, floor in self._floor.items():
                self._floor[k] = min(floor, index)

    def undone(
        self,
        annotator: str,
        pair: str,
        *,
        overlap: int,
        side: str,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> bool:
        """After an undo is committed: reopen the pair, and lease it back to the annotator when it
        has room. An undone skip may find its pair taken by others meanwhile; then it stays theirs.
        Returns whether the pair is back with the annotator."""
        with self._lock:
            self._reopen(annotator, pair, labeled=True)
            if self._taken(pair, annotator, now) >= overlap:
                return False
            self._leases.setdefault(pair, {})[annotator] = _Lease(side, expires_at)
            self._hold(annotator, pair, first=True)
        self._write_behind(pair, annotator, side, expires_at)
        return True

    # -- leases to DuckDB ----------------------------------------------------------------------

    def _write_behind(self, pair: str, annotator: str, side: str, expires_at: dt.datetime) -> None:
        with self._lock:
            self._pending[(pair, annotator)] = _Lease(side, expires_at)
        if not self.behind:
            self.flush()

    @contextmanager
    def writing_leases(self) -> Iterator[LeaseWrite]:
        """The pending leases, for a commit made inside the block: they count as in DuckDB when
        the block ends, and are pending again when it raises. Writers of lease rows take turns, so
        the dispatcher's record of which rows exist stays exact."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, {}
            write = LeaseWrite(
                [(p, a, lease.side, lease.expires_at) for (p, a), lease in batch.items()],
                [key for key in batch if key in self._rows],
            )
            try:
                yield write
            except BaseException:
                with self._lock:
                    self._pending = {**batch, **self._pending}
                # A row this dispatcher did not know of (another dispatcher's, after a queue seed
                # change) fails the insert: the next try deletes first, which costs nothing else.
                for key, lease in batch.items():
                    self._rows.setdefault(key, lease.expires_at)
                raise
            self._rows.update({key: lease.expires_at for key, lease in batch.items()})

    def flush(self) -> None:
        """Write pending leases now."""
        with self.writing_leases() as write:
            if write.rows:
                self.store.write_leases(write.rows, write.replacing)

    def prune(self, every_s: float = 60.0, now: dt.datetime | None = None) -> None:
        """Delete expired lease rows (answered pairs' among them), at most every ``every_s``."""
        if time.monotonic() - self._pruned_at < every_s:
            return
        with self._flush_lock:
            self._pruned_at = time.monotonic()
            now = now or dt.datetime.now()
            ended = [key for key, expires_at in self._rows.items() if expires_at <= now]
            if ended:
                self.store.delete_leases(ended)
                for key in ended:
                    del self._rows[key]


_REGISTRY: weakref.WeakKeyDictionary[Store, Dispatcher] = weakref.WeakKeyDictionary()
_BEHIND: weakref.WeakSet[Store] = weakref.WeakSet()
_REGISTRY_LOCK = threading.Lock()


def for_store(store: Store, seed: str, refresh_s: float = 10.0) -> Dispatcher:
    """The store's dispatcher, made on first use; a new queue seed makes a new one."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(store)
        if found is None or found.seed != seed:
            if found is not None:
                found.flush()
            found = Dispatcher(store, seed, refresh_s, behind=store in _BEHIND)
            _REGISTRY[store] = found
        return found


def write_behind(store: Store) -> None:
    """From now on, this store's leases are written by ``flush`` calls (the app's service thread)."""
    with _REGISTRY_LOCK:
        _BEHIND.add(store)
        if store in _REGISTRY:
            _REGISTRY[store].behind = True


def flush(store: Store) -> None:
    """Write the store's pending leases, if it has a dispatcher."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(store)
    if found is not None:
        found.flush()


def maintain(store: Store) -> None:
    """The app's service thread, a few times a second: write pending leases, reload the queue
    order when it is stale, and now and then delete expired lease rows."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(store)
    if found is not None:
        found.flush()
        found.reload_if_stale()
        found.prune()
