"""Assignment and accounts on a real project file: leases, overlap, gold checks, undo, progress."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from annotate_app.accounts import auth
from annotate_app.analytics import agreement
from annotate_app.annotation import assignment as queue
from annotate_app.annotation import dispatcher
from annotate_app.annotation.assignment import left_side_for
from annotate_app.ingest import import_file
from annotate_app.labels.scale import stored_choice
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.ui.label_exchange import pair_payload
from annotate_app.ui.render import to_html
from tests.answering import answer, next_pair, saved, undo

ADMIN = auth.Account("root", "admin")
N_PAIRS = 24
N_GOLD = 6


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def project(store: Store, tmp_path: Path) -> Store:
    """N_PAIRS open pairs and N_GOLD gold pairs (imported with a known winner)."""
    open_rows = [
        {"prompt": f"open {i}", "response_a": f"left {i}", "response_b": f"right {i}"}
        for i in range(N_PAIRS)
    ]
    gold_rows = [
        {"prompt": f"gold {i}", "chosen": f"good {i}", "rejected": f"bad {i}"}
        for i in range(N_GOLD)
    ]
    import_file(store, _write(tmp_path / "open.jsonl", open_rows))
    import_file(store, _write(tmp_path / "gold.jsonl", gold_rows))
    for name in ("alice", "bob", "carol"):
        store.upsert_annotator(name)
    return store


def _settings(**kw) -> ProjectSettings:
    return ProjectSettings(**kw)


def _gold_ids(store: Store) -> set[str]:
    events = store.label_events()
    return set(events.loc[events["source"] == "import", "pair_id"])


def _label_all(store: Store, annotator: str, settings: ProjectSettings) -> list[str]:
    got = []
    while (shown := next_pair(store, annotator, settings)) is not None:
        got.append(shown[0])
        saved(store, annotator, *shown, settings=settings)
    return got


def test_overlap_one_never_gives_a_pair_to_two_annotators(project: Store) -> None:
    s = _settings()
    a, a_side = next_pair(project, "alice", s)
    b, _ = next_pair(project, "bob", s)
    assert a != b
    # A reload shows the held pair again, in the same order.
    assert next_pair(project, "alice", s) == (a, a_side)
    saved(project, "alice", a, a_side, settings=s, choice=2)
    rest_alice = _label_all(project, "alice", s)
    rest_bob = _label_all(project, "bob", s)
    assert rest_bob[0] == b, "bob's held pair stayed his"
    labeled = [a, *rest_alice, *rest_bob]
    assert len(labeled) == len(set(labeled)) == N_PAIRS


def test_concurrent_sessions_get_distinct_pairs(project: Store) -> None:
    s = _settings()
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            got[name] = _label_all(project, name, s)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    names = [f"w{i}" for i in range(6)]
    threads = [threading.Thread(target=worker, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    every = [p for n in names for p in got[n]]
    assert len(every) == N_PAIRS
    assert len(set(every)) == N_PAIRS


def test_overlap_k_gives_each_pair_k_distinct_annotators(project: Store) -> None:
    s = _settings(overlap_k=2)
    held = [next_pair(project, n, s)[0] for n in ("dan", "erin")]
    per_annotator = {}
    for n in ("alice", "bob", "carol"):
        expected = queue.progress(project, n, s).left
        per_annotator[n] = _label_all(project, n, s)
        assert len(per_annotator[n]) == expected, "the queue size counts what can be labeled"
    for n, pair in zip(("dan", "erin"), held, strict=True):
        again = next_pair(project, n, s)
        assert again is not None and again[0] == pair, "their held pair waited for them"
        saved(project, n, *again, settings=s)
        per_annotator[n] = [pair]
    for pairs in per_annotator.values():
        assert len(pairs) == len(set(pairs)), "nobody gets the same pair twice"
    counts: dict[str, int] = {}
    for pairs in per_annotator.values():
        for p in pairs:
            counts[p] = counts.get(p, 0) + 1
    assert len(counts) == N_PAIRS
    assert set(counts.values()) == {2}


def test_skip_and_label_never_come_back_but_undo_does(project: Store) -> None:
    s = _settings()
    first, first_side = next_pair(project, "alice", s)
    saved(project, "alice", first, first_side, "skip", settings=s)
    second, second_side = next_pair(project, "alice", s)
    assert second != first
    labeled = saved(
        project, "alice", second, second_side, settings=s, choice=0, rationale="  close call "
    )
    third, _ = next_pair(project, "alice", s)
    assert third not in {first, second}
    undone = undo(project, "alice", labeled, second, settings=s)
    assert (undone.status, undone.pair_back) == ("saved", second)
    assert next_pair(project, "alice", s) == (second, second_side), "back first, on the same side"
    relabeled = saved(project, "alice", second, second_side, settings=s)
    assert next_pair(project, "alice", s)[0] == third
    rest = _label_all(project, "alice", s)
    assert first not in rest and second not in rest
    events = project.label_events("alice")
    assert list(events["kind"][:4]) == ["skip", "label", "undo", "label"]
    assert events["rationale"][1] == "close call"
    # Nobody takes back another annotator's answer.
    before = len(project.label_events())
    stranger = undo(project, "bob", relabeled, second, settings=s)
    assert stranger.status == "refused" and "never recorded" in stranger.message
    assert len(project.label_events()) == before


def test_choices_map_back_through_the_shown_order(project: Store) -> None:
    s = _settings()
    seen_sides = set()
    for shown in (2, 1, 0, -1, -2):
        pair_id, side = next_pair(project, "alice", s)
        pair = project.get_pair(pair_id)
        on_page = pair_payload(project, pair_id, side, with_html=True)
        assert on_page["left"] == to_html(pair["text_a"] if side == "a" else pair["text_b"])
        assert on_page["right"] == to_html(pair["text_b"] if side == "a" else pair["text_a"])
        ack = saved(
            project,
            "alice",
            pair_id,
            side,
            settings=s,
            choice=shown,
            aspects={"honesty": 1},
            latency_ms=1200 + shown,
        )
        row = project.label_events("alice").set_index("id").loc[ack.event]
        assert row["left_side"] == side == left_side_for(pair_id, "alice")
        assert row["choice"] == (shown if side == "a" else -shown)
        assert json.loads(row["aspects"]) == {"honesty": 1 if side == "a" else -1}
        assert row["latency_ms"] == 1200 + shown, "the page's own time on task"
        seen_sides.add(side)
    assert stored_choice(2, "b") == -2 and stored_choice(-1, "a") == -1
    sides = [left_side_for(f"p{i}", "alice") for i in range(400)]
    assert 150 < sides.count("a") < 250, "the left/right coin is fair"
    # What the page is told about answers that can never be recorded; nothing is written.
    pair_id, side = next_pair(project, "alice", s)
    before = len(project.label_events())
    bad_aspect = answer(project, "alice", pair_id, side, settings=s, aspects={"style": 1})
    assert (bad_aspect.status, bad_aspect.event) == ("refused", None)
    assert "aspects must be a map over" in bad_aspect.message
    bad_choice = answer(project, "alice", pair_id, side, settings=s, choice=3)
    assert bad_choice.status == "refused" and "choice must be a number from -2 to 2" in (
        bad_choice.message or ""
    )
    assert len(project.label_events()) == before


def test_both_bad_stores_no_choice(project: Store) -> None:
    s = _settings()
    saved(project, "alice", *next_pair(project, "alice", s), settings=s, both_bad=True)
    row = project.label_events("alice").iloc[-1]
    assert bool(row["both_bad"]) and pd.isna(row["choice"])


def test_leases_expire(project: Store) -> None:
    s = _settings(lease_minutes=5)
    t0 = dt.datetime.now()
    mine, _ = next_pair(project, "alice", s, now=t0)
    taken_by_bob = set()
    for _ in range(N_PAIRS - 1):
        b, b_side = next_pair(project, "bob", s, now=t0)
        taken_by_bob.add(b)
        saved(project, "bob", b, b_side, "skip", settings=s)
    assert mine not in taken_by_bob
    assert next_pair(project, "bob", s, now=t0) is None
    later, _ = next_pair(project, "bob", s, now=t0 + dt.timedelta(minutes=6))
    assert later == mine


def test_route_priority_orders_the_queue_and_ai_routes_leave_it(project: Store) -> None:
    pairs = sorted(set(project.pairs_frame()["pair_id"]) - _gold_ids(project))
    s = _settings()
    assert queue.progress(project, "alice", s).left == N_PAIRS, "the queue before routing"
    with project.transaction() as cur:  # what the routing job writes
        cur.execute(
            "INSERT INTO routes (pair_id, route, priority, policy) VALUES "
            "(?, 'human', 5, 't'), (?, 'human', 9, 't'), (?, 'ai', 99, 't'), (?, 'hold', 50, 't')",
            pairs[:4],
        )
    # The app's service thread reloads the order at its next refresh once the routes changed.
    dispatcher.for_store(project, str(s.queue_seed)).refresh_s = 0.0
    queue.maintain_queue(project)
    assert queue.progress(project, "alice", s).left == N_PAIRS - 2
    order = _label_all(project, "alice", s)
    assert order[:2] == [pairs[1], pairs[0]]
    assert pairs[2] not in order and pairs[3] not in order
    assert len(order) == N_PAIRS - 2
    # Unrouted pairs follow a seeded random order, not id order.
    assert order[2:] != sorted(order[2:])


def test_gold_pairs_are_mixed_in_and_scored(project: Store) -> None:
    gold = _gold_ids(project)
    carol = _label_all(project, "carol", _settings(overlap_k=2))
    assert len(carol) == N_PAIRS and not set(carol) & gold, "no gold at fraction 0"
    s = _settings(overlap_k=2, gold_fraction=0.4)
    got = []
    while (held := next_pair(project, "alice", s)) is not None:
        pair_id, side = held
        got.append(pair_id)
        pair = project.get_pair(pair_id)
        assert pair is not None
        # alice picks the "good" response on gold pairs except one.
        good_left = pair["text_a" if side == "a" else "text_b"].startswith("good")
        wrong_once = pair_id in gold and sum(p in gold for p in got) == 1
        shown = 1 if good_left != wrong_once else -1
        if pair_id not in gold:
            shown = 1
        saved(project, "alice", pair_id, side, settings=s, choice=shown)
    n_gold = sum(p in gold for p in got)
    assert n_gold == N_GOLD and len(got) == N_PAIRS + N_GOLD
    first_gold = next(i for i, p in enumerate(got) if p in gold)
    assert first_gold < N_PAIRS, "gold is mixed into the queue, not left to the end"
    accuracy = agreement.gold_accuracy(project.overlap_votes()).set_index("annotator")
    assert accuracy.loc["alice", "n_gold"] == N_GOLD
    assert accuracy.loc["alice", "accuracy"] == pytest.approx((N_GOLD - 1) / N_GOLD)
    assert "carol" not in accuracy.index


def test_progress_counts(project: Store) -> None:
    s = _settings()
    start = queue.progress(project, "alice", s)
    assert (start.done_today, start.done_total, start.left) == (0, 0, N_PAIRS)
    for _ in range(3):
        saved(project, "alice", *next_pair(project, "alice", s), settings=s)
    skipped, side = next_pair(project, "alice", s)
    saved(project, "alice", skipped, side, "skip", settings=s)
    # A skip frees the pair for others: it is next in line, so bob gets it.
    assert next_pair(project, "bob", s)[0] == skipped
    assert queue.progress(project, "alice", s).left == N_PAIRS - 4
    next_pair(project, "carol", s)  # carol holds one more
    now = queue.progress(project, "alice", s)
    assert (now.done_today, now.done_total, now.left) == (3, 3, N_PAIRS - 5)
    tomorrow = dt.datetime.now() + dt.timedelta(days=1)
    assert queue.progress(project, "alice", s, now=tomorrow).done_today == 0


def test_settings_round_trip_and_validation(project: Store) -> None:
    new = ProjectSettings(overlap_k=3, gold_fraction=0.1, aspects_enabled=True, guidelines="# Hi")
    new.save(project, ADMIN)
    assert ProjectSettings.load(project) == new
    with pytest.raises(ValueError, match="overlap_k"):
        ProjectSettings(overlap_k=0).save(project, ADMIN)
    with pytest.raises(ValueError, match="gold_fraction"):
        ProjectSettings(gold_fraction=1.5).save(project, ADMIN)
    with pytest.raises(auth.NotAllowed):
        new.save(project, auth.Account("alice", "annotator"))


def test_sign_in_roles_and_passwords(store: Store) -> None:
    first = auth.sign_in(store, "  Root  ")
    assert first == auth.Account("Root", "admin"), "the first sign-in of an empty project is admin"
    with pytest.raises(auth.AuthError, match="unknown name"):
        auth.sign_in(store, "stranger")
    auth.create_account(store, first, "dan")
    auth.create_account(store, first, "erin", password="s3cret")
    assert auth.sign_in(store, "dan") == auth.Account("dan", "annotator")
    assert auth.password_required(store, "erin") and not auth.password_required(store, "dan")
    with pytest.raises(auth.AuthError):
        auth.sign_in(store, "erin", "wrong")
    assert auth.sign_in(store, "erin", "s3cret").name == "erin"
    assert store.get_annotator("erin")["password_hash"].startswith("$2")
    auth.set_project_password(store, first, "team")
    with pytest.raises(auth.AuthError):
        auth.sign_in(store, "dan")
    assert auth.sign_in(store, "dan", "team").role == "annotator"
    auth.set_active(store, first, "dan", False)
    with pytest.raises(auth.AuthError, match="disabled"):
        auth.sign_in(store, "dan", "team")
    dan = auth.Account("dan", "annotator")
    with pytest.raises(auth.NotAllowed):
        auth.create_account(store, dan, "mallory", role="admin")
    with pytest.raises(auth.NotAllowed):
        auth.set_project_password(store, dan, None)
    with pytest.raises(ValueError, match="already exists"):
        auth.create_account(store, first, "erin")
    with pytest.raises(ValueError, match="yourself|own account"):
        auth.set_active(store, first, "Root", False)
    with pytest.raises(auth.AuthError, match="reserved"):
        auth.sign_in(store, "import:hh")


def test_undoing_a_skip_never_doubles_a_pair_at_overlap_one(project: Store) -> None:
    s = _settings()
    skipped, side = next_pair(project, "alice", s)
    skip = saved(project, "alice", skipped, side, "skip", settings=s)
    bob = next_pair(project, "bob", s)
    assert bob[0] == skipped, "a skip frees the pair for the next in line"
    undone = undo(project, "alice", skip, skipped, settings=s)
    assert (undone.status, undone.pair_back) == ("saved", None), "taken back, but bob's now"
    assert next_pair(project, "alice", s)[0] != skipped
    saved(project, "bob", *bob, settings=s)
    # Undoing a skip whose pair nobody took puts it back on screen.
    carol, carol_side = next_pair(project, "carol", s)
    skip = saved(project, "carol", carol, carol_side, "skip", settings=s)
    undone = undo(project, "carol", skip, carol, settings=s)
    assert (undone.status, undone.pair_back) == ("saved", carol)
    assert next_pair(project, "carol", s) == (carol, carol_side)
    _label_all(project, "alice", s)
    _label_all(project, "carol", s)
    labels = project.current_labels("human")
    assert len(labels) == N_PAIRS and not labels["pair_id"].duplicated().any()


def test_an_answer_after_the_lease_expired(project: Store) -> None:
    s = _settings(lease_minutes=5)
    long_ago = dt.datetime.now() - dt.timedelta(minutes=10)  # these leases ended 5 minutes ago
    late, late_side = next_pair(project, "alice", s, now=long_ago)
    taken = next_pair(project, "bob", s)
    assert taken[0] == late, "an expired lease frees the pair"
    saved(project, "bob", *taken, settings=s)
    before = len(project.label_events())
    label = answer(project, "alice", late, late_side, settings=s, choice=-1)
    assert (label.status, label.event) == ("refused", None)
    assert "went to another annotator" in label.message and "not saved" in label.message
    skip = answer(project, "alice", late, late_side, "skip", settings=s)
    assert (skip.status, skip.event) == ("refused", None)
    assert len(project.label_events()) == before, "a refused answer writes nothing"
    # Expired, but nobody else took it: the answer is accepted, once.
    lonely = next_pair(project, "carol", s, now=long_ago)
    saved(project, "carol", *lonely, settings=s, choice=2)
    again = answer(project, "carol", *lonely, settings=s, choice=2)
    assert again.status == "refused" and "already answered" in again.message
    labels = project.current_labels("human")
    assert sorted(labels["annotator"]) == ["bob", "carol"]
    assert not labels["pair_id"].duplicated().any()


def test_a_new_server_process_resumes_from_the_file(project_paths, project: Store) -> None:
    """A restart (a new Store and dispatcher on the same file) knows every answer and lease, and
    the killed server's leases can be cut short."""
    s = _settings()
    done = next_pair(project, "alice", s)
    saved(project, "alice", *done, settings=s)
    held = next_pair(project, "bob", s)
    queue.flush_leases(project)
    project.close()
    with Store(project_paths) as again:
        assert next_pair(again, "bob", s) == held
        assert next_pair(again, "carol", s)[0] not in {done[0], held[0]}
        assert queue.progress(again, "alice", s).done_total == 1
        queue.flush_leases(again)
        cut = again.expire_leases_after(dt.datetime.now())
        # bob's and carol's leases, and the row left on alice's answered pair (it holds nothing)
        assert cut == 3
    with Store(project_paths) as third:
        # bob's lease is gone: the pair goes to whoever asks next.
        assert next_pair(third, "dan", s)[0] == held[0]
