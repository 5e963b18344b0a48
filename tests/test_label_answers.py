"""The label page's server side without a browser: a buffer of K leased pairs, and answers from the
page's outbox recorded exactly once however often they are resent."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from annotate_app.annotation import answers
from annotate_app.annotation import assignment as queue
from annotate_app.ingest import import_file
from annotate_app.labels.scale import stored_choice
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from tests.answering import page_item, undo_item

N_PAIRS = 12


@pytest.fixture
def project(store: Store, tmp_path: Path) -> Store:
    rows = [
        {"prompt": f"open {i}", "response_a": f"left {i}", "response_b": f"right {i}"}
        for i in range(N_PAIRS)
    ]
    data = tmp_path / "open.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, data)
    for name in ("alice", "bob"):
        store.upsert_annotator(name)
    return store


def _human_labels(store: Store) -> int:
    return len(store.current_labels("human"))


def test_buffer_holds_k_distinct_leased_pairs_and_tops_up(project: Store) -> None:
    s = ProjectSettings()
    mine = queue.held_pairs(project, "alice", s, k=4)
    assert len({p for p, _ in mine}) == 4
    assert queue.held_pairs(project, "alice", s, k=4) == mine, "the same buffer on every call"
    theirs = queue.held_pairs(project, "bob", s, k=4)
    assert not {p for p, _ in mine} & {p for p, _ in theirs}, "overlap 1: leases are exclusive"
    pair, side = mine[0]
    acks = answers.record(project, "alice", [page_item(pair, side)], s)
    assert acks[0].status == "saved"
    after = queue.held_pairs(project, "alice", s, k=4)
    assert [p for p, _ in after[:3]] == [p for p, _ in mine[1:]], "order kept, answered one gone"
    assert len(after) == 4 and after[3][0] not in {p for p, _ in mine}
    left = queue.progress(project, "alice", s).left
    assert left == N_PAIRS - 1 - 4, "everything not answered and not leased to bob"


def test_resent_outbox_records_each_answer_once(project: Store) -> None:
    s = ProjectSettings()
    (p1, s1), (p2, s2) = queue.held_pairs(project, "alice", s, k=2)
    outbox = [
        page_item(p1, s1, choice=2, rationale="clear", latency_ms=1234),
        page_item(p2, s2, "skip"),
    ]
    first = answers.record(project, "alice", outbox, s)
    assert [a.status for a in first] == ["saved", "saved"]
    for _ in range(3):  # coalesced reruns, reconnects, a restarted server: the same outbox again
        again = answers.record(project, "alice", outbox, s)
        assert [(a.status, a.event) for a in again] == [(a.status, a.event) for a in first]
    events = project.label_events("alice")
    assert list(events["kind"]) == ["label", "skip"]
    row = events.iloc[0]
    assert row["choice"] == stored_choice(2, s1) and row["left_side"] == s1
    assert row["rationale"] == "clear" and row["latency_ms"] == 1234


def test_the_same_answer_from_two_threads_is_recorded_once(project: Store) -> None:
    s = ProjectSettings()
    (pair, side), *_ = queue.held_pairs(project, "alice", s, k=1)
    item = [page_item(pair, side)]
    acks: list = []
    threads = [
        threading.Thread(target=lambda: acks.extend(answers.record(project, "alice", item, s)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status for a in acks] == ["saved"] * 4
    assert len({a.event for a in acks}) == 1 and _human_labels(project) == 1


def test_undo_by_client_id_reopens_the_pair_first(project: Store) -> None:
    s = ProjectSettings()
    buffer = queue.held_pairs(project, "alice", s, k=3)
    (p1, s1), (p2, s2) = buffer[:2]
    first = page_item(p1, s1)
    answers.record(project, "alice", [first, page_item(p2, s2)], s)
    undo = undo_item(first["cid"], p1)
    ack = answers.record(project, "alice", [undo], s)[0]
    assert ack.status == "saved" and ack.pair_back == p1
    assert answers.record(project, "alice", [undo], s)[0].status == "saved", "resent undo: no-op"
    assert queue.held_pairs(project, "alice", s, k=3)[0] == (p1, s1), "the undone pair is next"
    kinds = list(project.label_events("alice")["kind"])
    assert kinds == ["label", "label", "undo"]
    assert _human_labels(project) == 1


def test_flag_records_the_flag_and_moves_on(project: Store) -> None:
    s = ProjectSettings()
    (pair, side), *_ = queue.held_pairs(project, "alice", s, k=2)
    item = page_item(pair, side, "flag", reason="unsafe")
    item["note"] = "  contains a slur "  # the page trims it; the server does too
    assert answers.record(project, "alice", [item, item], s)[0].status == "saved"
    flags = project.open_flags()
    assert list(flags["reason"]) == ["unsafe"] and flags["note"][0] == "contains a slur"
    assert list(project.label_events("alice")["kind"]) == ["skip"]
    assert pair not in {p for p, _ in queue.held_pairs(project, "alice", s, k=2)}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"kind": "label", "pair": "p", "side": "a", "choice": 3}, "choice"),
        ({"kind": "label", "pair": "p", "side": "left", "choice": 1}, "side"),
        ({"kind": "label", "pair": "p", "side": "a"}, "choice or both_bad"),
        ({"kind": "vote", "pair": "p", "side": "a"}, "kind"),
        ({"kind": "flag", "pair": "p", "side": "a", "reason": "boring"}, "reason"),
        ({"kind": "label", "pair": "p", "side": "a", "choice": 1, "aspects": {"x": 1}}, "aspects"),
        ({"kind": "undo", "undoes": "cid-never-sent"}, "never recorded"),
    ],
)
def test_malformed_answers_are_refused_with_the_field(
    project: Store, item: dict, field: str
) -> None:
    ack = answers.record(project, "alice", [{"cid": "cid-bad-0001", **item}])[0]
    assert ack.status == "refused" and field in ack.message
    assert project.label_events("alice").empty


def test_expired_lease_taken_by_another_is_refused_not_retried(project: Store) -> None:
    import datetime as dt

    s = ProjectSettings(lease_minutes=1)
    long_ago = dt.datetime.now() - dt.timedelta(minutes=5)
    (pair, side), *_ = queue.held_pairs(project, "alice", s, k=1, now=long_ago)
    assert queue.held_pairs(project, "bob", s, k=1)[0][0] == pair, "the lapsed lease is free again"
    ack = answers.record(project, "alice", [page_item(pair, side)], s)[0]
    assert ack.status == "refused" and "another annotator" in ack.message
    assert _human_labels(project) == 0


def test_progress_from_memory_equals_the_recorded_labels(project: Store) -> None:
    s = ProjectSettings()
    buffer = queue.held_pairs(project, "alice", s, k=3)
    outbox = [page_item(p, side) for p, side in buffer]
    outbox.append(undo_item(outbox[1]["cid"], buffer[1][0]))
    answers.record(project, "alice", outbox, s)
    in_force = project.current_labels("human")
    recorded = int((in_force["annotator"] == "alice").sum())
    done = queue.progress(project, "alice", s)
    assert (done.done_today, done.done_total) == (recorded, recorded) == (2, 2)
    # another seed: a new in-memory view, loaded from DuckDB
    again = queue.progress(project, "alice", ProjectSettings(queue_seed="other"))
    assert (again.done_today, again.done_total) == (2, 2), "loaded from DuckDB the same"


def test_a_whole_outbox_and_its_new_leases_are_one_commit(project: Store) -> None:
    """Labels, a skip and the leases the top-up hands out share one transaction (DuckDB stamps
    ``created_at`` with the transaction's start), and a resend writes nothing."""
    from annotate_app.ui.label_exchange import BUFFER_PAIRS

    s = ProjectSettings()
    queue.write_leases_behind(project)  # as in the app: leases are not written one by one
    buffer = queue.held_pairs(project, "alice", s, k=BUFFER_PAIRS)
    queue.flush_leases(project)
    outbox = [page_item(p, side) for p, side in buffer[:2]]
    outbox.append(page_item(*buffer[2], "skip"))

    def top_up() -> None:
        queue.held_pairs(project, "alice", s, k=BUFFER_PAIRS)

    acks = answers.record(project, "alice", outbox, s, top_up)
    assert [a.status for a in acks] == ["saved"] * 3
    events = project.label_events("alice")
    assert list(events["kind"]) == ["label", "label", "skip"]
    assert events["created_at"].nunique() == 1, "one transaction for the whole outbox"
    assert sorted(events["id"]) == sorted(a.event for a in acks)
    held = queue.held_pairs(project, "alice", s, k=BUFFER_PAIRS)
    new = {p for p, _ in held} - {p for p, _ in buffer}
    assert len(new) == 3
    rows = {p for p, who, _, _ in project.lease_rows() if who == "alice"}
    assert new <= rows, "the top-up's leases were committed with the answers, before any flush"
    again = answers.record(project, "alice", outbox, s, top_up)
    assert [(a.status, a.event) for a in again] == [(a.status, a.event) for a in acks]
    assert len(project.label_events("alice")) == 3, "a resent outbox writes nothing"


def test_record_answers_is_all_or_nothing_on_a_seen_page_id(project: Store) -> None:
    from annotate_app.store.client_answers import PageAnswer

    (p1, s1), (p2, s2) = queue.held_pairs(project, "alice", ProjectSettings(), k=2)
    first = project.record_answers([PageAnswer("alice", "cid-store-1", p1, "label", s1, 1)])
    assert project.events_for_client_ids(["cid-store-1"]) == {"cid-store-1": first[0]}
    twice = [
        PageAnswer("alice", "cid-store-2", p2, "label", s2, -1),
        PageAnswer("alice", "cid-store-1", p1, "skip", s1),
    ]
    with pytest.raises(Exception, match="(?i)constraint|duplicate"):
        project.record_answers(twice)
    assert list(project.label_events("alice")["kind"]) == ["label"]
    assert project.events_for_client_ids(["cid-store-2"]) == {}, "nothing of the failed commit"


def test_a_failed_commit_puts_the_pairs_back_and_a_resend_saves(
    project: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = ProjectSettings()
    buffer = queue.held_pairs(project, "alice", s, k=3)
    outbox = [page_item(p, side) for p, side in buffer[:2]]
    real = project.record_answers

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(project, "record_answers", disk_full)
    acks = answers.record(project, "alice", outbox, s)
    assert [a.status for a in acks] == ["failed"] * 2 and "No space" in acks[0].message
    assert queue.held_pairs(project, "alice", s, k=3) == buffer, "the same pairs, in order"
    assert queue.progress(project, "alice", s).done_total == 0
    monkeypatch.setattr(project, "record_answers", real)
    assert [a.status for a in answers.record(project, "alice", outbox, s)] == ["saved"] * 2
    assert queue.progress(project, "alice", s).done_total == 2


def test_an_answered_pairs_lease_row_holds_nothing_after_a_restart(
    project: Store, project_paths
) -> None:
    """Answers leave their lease rows (a delete per answer costs as much as the insert); a new
    process ignores them, and expired rows are pruned."""
    import datetime as dt

    from annotate_app.annotation import dispatcher

    s = ProjectSettings(lease_minutes=1)
    (pair, side), *_ = queue.held_pairs(project, "alice", s, k=1)
    queue.flush_leases(project)
    answers.record(project, "alice", [page_item(pair, side, "skip")], s)
    assert (pair, "alice") in {(p, a) for p, a, _, _ in project.lease_rows()}
    project.close()
    with Store(project_paths) as again:
        assert queue.held_pairs(again, "bob", s, k=1)[0][0] == pair, "the skipped pair is free"
        assert pair not in {p for p, _ in queue.held_pairs(again, "alice", s, k=3)}
        d = dispatcher.for_store(again, str(s.queue_seed))
        d.prune(every_s=0, now=dt.datetime.now() + dt.timedelta(minutes=2))
        assert (pair, "alice") not in {(p, a) for p, a, _, _ in again.lease_rows()}


def _queued(gc, n: int) -> None:
    """Wait until a commit is running and ``n`` outboxes wait behind it."""
    import time

    deadline = time.monotonic() + 10
    while not gc._busy or len(gc._queue) < n:
        assert time.monotonic() < deadline, "the outboxes never queued"
        time.sleep(0.002)


def test_outboxes_arriving_during_a_commit_share_the_next_one(project: Store) -> None:
    """While one annotator's commit runs, the others' outboxes queue up and are committed together
    in one transaction; each gets exactly its own events."""
    from annotate_app.annotation import dispatcher, group_commit

    s = ProjectSettings(overlap_k=3)
    names = ["alice", "bob", "carol", "dan"]
    for name in names:
        project.upsert_annotator(name)
    held = {name: queue.held_pairs(project, name, s, k=1)[0] for name in names}
    gc = group_commit.for_store(project)
    d = dispatcher.for_store(project, str(s.queue_seed))
    acks: dict[str, list] = {}

    def answer(name: str) -> None:
        pair, side = held[name]
        acks[name] = answers.record(project, name, [page_item(pair, side)], s)

    first = threading.Thread(target=answer, args=("alice",))
    with d._flush_lock:  # alice's commit waits here, as behind a slow commit
        first.start()
        _queued(gc, 0)
        rest = [threading.Thread(target=answer, args=(n,)) for n in names[1:]]
        for t in rest:
            t.start()
        _queued(gc, 3)
    for t in [first, *rest]:
        t.join()
    assert all(a[0].status == "saved" for a in acks.values())
    events = project.label_events()
    events = events[events["source"] == "human"].set_index("annotator")
    assert {n: int(events.loc[n, "id"]) for n in names} == {n: acks[n][0].event for n in names}
    assert events.loc[names[1:], "created_at"].nunique() == 1, "bob, carol, dan: one transaction"
    assert (gc.commits, gc.outboxes) == (2, 4)


def test_without_grouping_each_outbox_commits_alone(project: Store) -> None:
    """The benchmarks' baseline: outboxes that arrive during a commit are not grouped; each makes
    its own commit, and each still gets exactly its own events."""
    from annotate_app.annotation import dispatcher, group_commit

    s = ProjectSettings(overlap_k=3)
    names = ["alice", "bob", "carol"]
    held = {name: queue.held_pairs(project, name, s, k=1)[0] for name in names}
    gc = group_commit.install_for_store(project, grouped=False)
    assert group_commit.for_store(project) is gc
    d = dispatcher.for_store(project, str(s.queue_seed))
    acks: dict[str, list] = {}

    def answer(name: str) -> None:
        acks[name] = answers.record(project, name, [page_item(*held[name])], s)

    threads = [threading.Thread(target=answer, args=(n,)) for n in names]
    with d._flush_lock:  # every commit waits here, as behind a slow one
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=0.2)
        assert all(t.is_alive() for t in threads), "no outbox committed past the held lock"
    for t in threads:
        t.join()
    assert all(a[0].status == "saved" for a in acks.values())
    events = project.label_events()
    events = events[events["source"] == "human"].set_index("annotator")
    assert {n: int(events.loc[n, "id"]) for n in names} == {n: acks[n][0].event for n in names}
    assert (gc.commits, gc.outboxes) == (3, 3), "one commit per outbox"
    assert gc.commit_cpu_s > 0


def test_a_bad_outbox_in_a_group_fails_alone(project: Store) -> None:
    from annotate_app.annotation import dispatcher, group_commit
    from annotate_app.store.client_answers import PageAnswer

    s = ProjectSettings(overlap_k=3)
    d = dispatcher.for_store(project, str(s.queue_seed))
    gc = group_commit.for_store(project)
    pairs = [p for p, _ in queue.held_pairs(project, "alice", s, k=4)]
    project.record_answers([PageAnswer("bob", "cid-taken-01", pairs[3], "skip", "a")])
    outboxes = {
        "first": [PageAnswer("alice", "cid-g-first", pairs[0], "label", "a", 1)],
        "good": [PageAnswer("alice", "cid-g-good", pairs[1], "label", "b", -1)],
        "bad": [PageAnswer("bob", "cid-taken-01", pairs[2], "skip", "a")],
    }
    results: dict[str, object] = {}

    def commit(key: str) -> None:
        try:
            results[key] = gc.commit(outboxes[key], d)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[key] = exc

    threads = {k: threading.Thread(target=commit, args=(k,)) for k in outboxes}
    with d._flush_lock:
        threads["first"].start()
        _queued(gc, 0)
        threads["good"].start()
        threads["bad"].start()
        _queued(gc, 2)
    for t in threads.values():
        t.join()
    assert isinstance(results["bad"], Exception)
    assert all(isinstance(results[k], list) for k in ("first", "good"))
    recorded = project.events_for_client_ids(["cid-g-first", "cid-g-good"])
    assert recorded == {"cid-g-first": results["first"][0], "cid-g-good": results["good"][0]}


def test_a_lease_row_the_dispatcher_did_not_know_is_replaced_on_the_next_write(
    project: Store,
) -> None:
    import datetime as dt

    s = ProjectSettings()
    queue.write_leases_behind(project)
    first = queue.upcoming_pairs(project, "alice", s, 1)[0]
    stranger = dt.datetime.now() + dt.timedelta(minutes=1)
    project.write_leases([(first, "alice", "a", stranger)], [])  # e.g. an older dispatcher's
    (pair, side), *_ = queue.held_pairs(project, "alice", s, k=1)
    assert pair == first
    with pytest.raises(Exception, match="(?i)constraint|duplicate"):
        queue.flush_leases(project)
    queue.flush_leases(project)  # deletes the unknown row first this time
    rows = {(p, a): (sd, exp) for p, a, sd, exp in project.lease_rows()}
    assert rows[(pair, "alice")][0] == side and rows[(pair, "alice")][1] > stranger


def test_a_stale_queue_order_reloads_only_when_its_inputs_changed(project: Store) -> None:
    import pandas as pd

    from annotate_app.annotation import dispatcher

    s = ProjectSettings()
    d = dispatcher.for_store(project, str(s.queue_seed))
    d.refresh_s = 0.0
    before = d._order
    d.reload_if_stale()
    assert d._order is before, "nothing changed: the order is kept, only its age is reset"
    last = before.queue[-1]
    routes = pd.DataFrame(
        {"pair_id": [last], "route": ["human"], "priority": [9.0], "reason": ["test"],
         "propensity": [1.0], "explore": [False]}
    )  # fmt: skip
    project.save_routes(routes, "test", 1.0, {})
    d.reload_if_stale()
    assert d._order is not before and d._order.queue[0] == last, "a new priority reorders"
    again = d._order
    project.save_routes(routes.assign(priority=2.0), "test", 1.0, {})
    d.reload_if_stale()
    assert d._order is not again, "a changed priority is seen"
