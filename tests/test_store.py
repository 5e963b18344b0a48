"""The store: migrations on an older file, the label views (with undo), transactions, odd files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from annotate_app import ids
from annotate_app.annotation.answers import BadAnswer, parse
from annotate_app.config import ProjectPaths
from annotate_app.ingest.importer import render_turns
from annotate_app.store import Store, StoreError, db
from annotate_app.store.base import first_row
from annotate_app.store.client_answers import PageAnswer
from tests.answering import page_item
from tests.seed import human_answer, human_label, human_labels, imported_labels, judge_label


def add_pairs(store: Store, n: int) -> list[str]:
    """n pairs on one prompt, written through the same bulk path the importer uses."""
    turns = [{"role": "user", "content": "Which answer is better?"}]
    pid = ids.prompt_id(turns)
    prompts = pd.DataFrame(
        [
            {
                "id": pid,
                "text": render_turns(turns),
                "turns": '[{"role": "user", "content": "Which answer is better?"}]',
                "n_turns": 1,
                "source": "t",
                "category": None,
                "metadata": None,
            }
        ]
    )
    texts = [f"answer {i}" for i in range(n + 1)]
    rids = [ids.response_id(pid, t) for t in texts]
    responses = pd.DataFrame(
        {"id": rids, "prompt_id": pid, "text": texts, "model": None, "metadata": None}
    )
    pair_rows = []
    for i in range(n):
        a, b = sorted((rids[i], rids[i + 1]))
        pair_rows.append(
            {
                "id": ids.pair_id(a, b),
                "prompt_id": pid,
                "response_a": a,
                "response_b": b,
                "source": "t",
            }
        )
    labels = pd.DataFrame(columns=["pair_id", "annotator", "choice", "metadata"])
    store.ingest_frames(prompts, responses, pd.DataFrame(pair_rows), labels)
    return [p["id"] for p in pair_rows]


def current(store: Store) -> dict[tuple[str, str], tuple[str, object]]:
    with store.cursor() as cur:
        rows = cur.execute("SELECT pair_id, annotator, kind, choice FROM current_labels").fetchall()
    return {(p, a): (k, c) for p, a, k, c in rows}


def test_migrations_upgrade_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert db.migrate(con, upto="0001_base") == ["0001_base"]
    con.execute(
        "INSERT INTO settings (key, value) VALUES ('kept', '\"yes\"');"
        "INSERT INTO label_events (pair_id, annotator, source, kind, choice) "
        "VALUES ('p', 'ann', 'human', 'label', 1)"
    )
    con.close()
    names = [name for name, _ in db.migration_files()]
    with Store(path) as store:
        with store.cursor() as cur:
            versions = [
                r[0]
                for r in cur.execute("SELECT name FROM schema_version ORDER BY version").fetchall()
            ]
        assert versions == names
        assert store.get_setting("kept") == "yes"
        assert len(store.label_events()) == 1
    # Opening a current file applies nothing.
    with Store(path) as store:
        assert db.migrate(store.con) == []


def test_a_new_migration_runs_on_open_and_a_broken_one_rolls_back(
    tmp_path: Path, monkeypatch
) -> None:
    """The forward-migration mechanism, with extra migration files beside the real ones."""
    path = tmp_path / "p.duckdb"
    Store(path).close()
    real = db.migration_files()
    extra = ("9998_test_column", "ALTER TABLE prompts ADD COLUMN test_note VARCHAR DEFAULT 'n/a';")
    monkeypatch.setattr(db, "migration_files", lambda: [*real, extra])
    with Store(path) as store, store.cursor() as cur:
        cols = [r[0] for r in cur.execute("DESCRIBE prompts").fetchall()]
        assert "test_note" in cols
        assert first_row(cur.execute("SELECT max(version) FROM schema_version"))[0] == 9998
    broken = ("9999_broken", "CREATE TABLE half_done (x INT); SELECT * FROM no_such_table;")
    monkeypatch.setattr(db, "migration_files", lambda: [*real, extra, broken])
    with pytest.raises(duckdb.Error, match="no_such_table"):
        Store(path)
    monkeypatch.setattr(db, "migration_files", lambda: [*real, extra])
    with Store(path) as store, store.cursor() as cur:
        tables = {
            r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert "half_done" not in tables
        assert first_row(cur.execute("SELECT max(version) FROM schema_version"))[0] == 9998


def test_current_labels_latest_wins_and_undo_restores(store: Store) -> None:
    p1, p2 = add_pairs(store, 2)
    first = human_label(store, p1, "ann", 1)
    second = human_label(store, p1, "ann", -2)
    theirs = human_label(store, p1, "other", 2)
    assert current(store)[(p1, "ann")] == ("label", -2)
    assert store.undo_event("ann", theirs) is None, "nobody takes back another's label"
    assert store.undo_event("ann", second) == p1
    assert current(store)[(p1, "ann")] == ("label", 1)
    (skip,) = store.record_answers([PageAnswer("ann", "cid-skip-p2", p2, "skip", "a")])
    assert current(store)[(p2, "ann")] == ("skip", None)
    assert store.undo_event("ann", skip, "cid-undo-p2") == p2
    assert store.events_for_client_ids(["cid-undo-p2"]), "the undo is kept under its page id"
    assert (p2, "ann") not in current(store)
    assert store.undo_event("ann", first) == p1
    assert store.undo_event("ann", first) is None  # taken back already
    assert current(store) == {(p1, "other"): ("label", 2)}
    events = store.label_events("ann")
    assert list(events["kind"]) == ["label", "label", "undo", "skip", "undo", "undo"]
    assert events["id"].is_monotonic_increasing


def test_undo_does_not_touch_ai_or_import_labels(store: Store) -> None:
    (p1,) = add_pairs(store, 1)
    judged = judge_label(store, p1, "judge", 0.8)
    assert store.undo_event("judge", judged) is None
    assert current(store)[(p1, "judge")] == ("label", 1)
    assert imported_labels(store, {p1: False}) == 1
    (gold,) = store.current_labels("import")["id"]
    assert store.undo_event("import:gold.jsonl", int(gold)) is None
    assert current(store)[(p1, "import:gold.jsonl")] == ("label", -1)


def test_pair_labels_aggregates_votes(store: Store) -> None:
    p_a, p_tie, p_bad, p_b = add_pairs(store, 4)
    *_, changed = human_labels(
        store,
        [
            *(human_answer(p_a, ann, choice) for ann, choice in (("x", 1), ("y", 2), ("z", -1))),
            human_answer(p_tie, "x", 1),
            human_answer(p_tie, "y", -1),
            human_answer(p_bad, "x", None, both_bad=True),
            human_answer(p_b, "x", 1),
            human_answer(p_b, "x", -2),  # changed mind: only the latest counts
        ],
    )
    judge_label(store, p_b, "y", 0.7)
    with store.cursor() as cur:
        frame = cur.execute("SELECT * FROM pair_labels").df()
    got = {
        (r.pair_id, r.source): (r.outcome, r.n_votes, r.n_a, r.n_b, r.n_both_bad)
        for r in frame.itertuples()
    }
    assert got == {
        (p_a, "human"): ("a", 3, 2, 1, 0),
        (p_tie, "human"): ("tie", 2, 1, 1, 0),
        (p_bad, "human"): ("both_bad", 0, 0, 0, 1),
        (p_b, "human"): ("b", 1, 0, 1, 0),
        (p_b, "ai"): ("a", 1, 1, 0, 0),
    }
    store.undo_event("x", changed)  # takes back x's -2 on p_b: x's earlier +1 is in force again
    with store.cursor() as cur:
        outcome = first_row(
            cur.execute(
                "SELECT outcome FROM pair_labels WHERE pair_id = ? AND source = 'human'", [p_b]
            )
        )
    assert outcome == ("a",)


def test_label_needs_choice_or_both_bad(store: Store) -> None:
    (p1,) = add_pairs(store, 1)
    with pytest.raises(BadAnswer, match="needs a choice or both_bad"):
        parse(page_item(p1, "a", choice=None))
    off_scale = PageAnswer("x", "cid-off-scale", p1, "label", "a", choice=3)
    with pytest.raises(duckdb.ConstraintException):
        store.record_answers([human_answer(p1, "y", 1), off_scale])
    assert store.label_events().empty, "the whole commit is refused"
    assert not store.events_for_client_ids(["cid-off-scale"])


def test_ingest_frames_is_one_transaction(store: Store) -> None:
    """A write that fails on the pairs table leaves the prompts and responses it wrote uncommitted."""
    turns = [{"role": "user", "content": "q"}]
    pid = ids.prompt_id(turns)
    prompts = pd.DataFrame(
        [
            {
                "id": pid,
                "text": "q",
                "turns": '[{"role":"user","content":"q"}]',
                "n_turns": 1,
                "source": "t",
                "category": None,
                "metadata": None,
            }
        ]
    )
    responses = pd.DataFrame(
        {"id": ["r1", "r2"], "prompt_id": pid, "text": ["a", "b"], "model": None, "metadata": None}
    )
    pairs = pd.DataFrame(
        [{"id": "p", "prompt_id": pid, "response_a": "r1", "response_b": None, "source": "t"}]
    )
    labels = pd.DataFrame(columns=["pair_id", "annotator", "choice", "metadata"])
    with pytest.raises(duckdb.ConstraintException):
        store.ingest_frames(prompts, responses, pairs, labels)
    stats = store.stats()
    assert (stats["prompts"], stats["responses"], stats["pairs"]) == (0, 0, 0)


def test_pair_id_is_order_free() -> None:
    assert ids.pair_id("r1", "r2") == ids.pair_id("r2", "r1")
    assert ids.pair_id("r1", "r2") != ids.pair_id("r1", "r3")


def test_settings_and_stats(store: Store) -> None:
    store.set_setting("budget", {"human": 10})
    store.set_setting("budget", {"human": 20})
    assert store.get_setting("budget") == {"human": 20}
    assert store.get_setting("missing", 5) == 5
    (p1,) = add_pairs(store, 1)
    human_label(store, p1, "x", 0)
    stats = store.stats()
    assert stats["labels"] == {"human": 1, "ai": 0, "import": 0, "adjudicated": 0}
    assert (stats["labeled_pairs"], stats["open_pairs"]) == (1, 0)


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(StoreError, match=f"cannot open project {path}"):
        Store(path)


def test_work_dir_beside_db(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ANNOTATE_WORK_DIR", raising=False)
    monkeypatch.setenv("ANNOTATE_DB", str(tmp_path / "env.duckdb"))
    paths = ProjectPaths.resolve()
    assert paths.db == tmp_path / "env.duckdb"
    assert paths.jobs_dir == tmp_path / "env.work" / "jobs"
    assert ProjectPaths.resolve(tmp_path / "x.duckdb").db == tmp_path / "x.duckdb"
