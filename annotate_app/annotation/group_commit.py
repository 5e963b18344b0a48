"""Answers arriving together from several annotators share one DuckDB commit.

A commit costs 4-5 ms of CPU here whatever it holds (one answer or a dozen), and each annotator's
outbox waits for its own commit before it is acknowledged. So the first outbox to arrive leads: it
commits everything queued by then, its own included, while outboxes that arrive meanwhile queue up;
when it is done, the first of those leads the next commit with all of them. Nobody waits for a
timer: a lone annotator's commit starts at once, and a group forms only while a commit is running.
Every answer is still committed before its outbox is acknowledged.

A group whose commit fails is committed again outbox by outbox, so one bad outbox (a page id that
another process recorded) fails only itself.

``install_for_store(store, grouped=False)`` gives a store the baseline without grouping: every
outbox makes the same commit on its own as it arrives. The benchmarks compare the two.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field

from annotate_app.annotation.dispatcher import Dispatcher
from annotate_app.store import Store
from annotate_app.store.client_answers import PageAnswer


@dataclass
class _Outbox:
    answers: list[PageAnswer]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # set when this outbox's thread is to commit the queue
    events: list[int] | None = None
    error: Exception | None = None


class GroupCommit:
    """One per Store; use ``for_store``. ``grouped=False``: each outbox commits alone."""

    def __init__(self, store: Store, grouped: bool = True) -> None:
        self.store = store
        self.grouped = grouped
        self._lock = threading.Lock()
        self._queue: list[_Outbox] = []
        self._busy = False  # a thread is committing
        # for the benchmarks' figures: commits made, outboxes they held, and the CPU seconds the
        # committing threads spent in them
        self.commits = 0
        self.outboxes = 0
        self.commit_cpu_s = 0.0

    def commit(self, answers: list[PageAnswer], dispatcher: Dispatcher) -> list[int]:
        """Commit these answers, with the dispatcher's pending leases, alone or with the outboxes
        of others that arrive meanwhile; their event ids in order, once committed."""
        if not self.grouped:
            return self._alone(answers, dispatcher)
        mine = _Outbox(answers)
        with self._lock:
            self._queue.append(mine)
            mine.lead = not self._busy
            self._busy = True
        if not mine.lead:
            mine.done.wait()
        if mine.lead:
            self._lead(dispatcher)
        if mine.error is not None:
            raise mine.error
        assert mine.events is not None
        return mine.events

    def _lead(self, dispatcher: Dispatcher) -> None:
        with self._lock:
            group, self._queue = self._queue, []
        cpu = time.thread_time()
        try:
            self._write(group, dispatcher)
        finally:
            with self._lock:
                self.commits += 1
                self.outboxes += len(group)
                self.commit_cpu_s += time.thread_time() - cpu
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].done.set()
                else:
                    self._busy = False
            for outbox in group:
                outbox.lead = False
                outbox.done.set()

    def _alone(self, answers: list[PageAnswer], dispatcher: Dispatcher) -> list[int]:
        cpu = time.thread_time()
        try:
            return self._record(dispatcher, answers)
        finally:
            with self._lock:
                self.commits += 1
                self.outboxes += 1
                self.commit_cpu_s += time.thread_time() - cpu

    def _write(self, group: list[_Outbox], dispatcher: Dispatcher) -> None:
        try:
            events = self._record(dispatcher, [a for outbox in group for a in outbox.answers])
        except Exception as exc:  # noqa: BLE001 - each outbox gets its own answer below
            if len(group) == 1:
                group[0].error = exc
                return
            for outbox in group:
                try:
                    outbox.events = self._record(dispatcher, outbox.answers)
                except Exception as alone:  # noqa: BLE001 - its thread raises it
                    outbox.error = alone
            return
        start = 0
        for outbox in group:
            outbox.events = events[start : start + len(outbox.answers)]
            start += len(outbox.answers)

    def _record(self, dispatcher: Dispatcher, answers: list[PageAnswer]) -> list[int]:
        with dispatcher.writing_leases() as leases:
            return self.store.record_answers(answers, leases.rows, leases.replacing)


_REGISTRY: weakref.WeakKeyDictionary[Store, GroupCommit] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def for_store(store: Store) -> GroupCommit:
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(store)
        if found is None:
            found = _REGISTRY[store] = GroupCommit(store)
        return found


def install_for_store(store: Store, *, grouped: bool) -> GroupCommit:
    """Give the store a new committer, grouping or not, in place of the one it had (install it
    before answers arrive: outboxes inside the old one's commit finish there)."""
    with _REGISTRY_LOCK:
        found = _REGISTRY[store] = GroupCommit(store, grouped)
        return found
