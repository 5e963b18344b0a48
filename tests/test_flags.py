"""Flags on pairs: append-only, open until resolved, checked reasons, and migrating an old file."""

from __future__ import annotations

import json

import duckdb
import pytest

from annotate_app.ingest import import_file
from annotate_app.store import Store
from annotate_app.store.db import connect, migrate
from tests.seed import adjudicated_label


def _pairs(store: Store, tmp_path, n: int = 3) -> list[str]:
    data = tmp_path / "pairs.jsonl"
    rows = [{"prompt": f"Q{i}?", "response_a": f"a{i}", "response_b": f"b{i}"} for i in range(n)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, data)
    return store.pairs_frame()["pair_id"].tolist()


def test_flags_stay_open_until_resolved_and_keep_history(store, tmp_path):
    ids = _pairs(store, tmp_path)
    first = store.flag_pair(ids[0], "alice", "broken", "  response cut off  ")
    store.flag_pair(ids[0], "bob", "unsafe")
    store.flag_pair(ids[1], "alice", "cant_judge")
    assert store.flagged_pair_ids() == {ids[0], ids[1]}
    flags = store.open_flags()
    assert flags.loc[flags["id"] == first, "note"].item() == "response cut off"
    assert store.resolve_flag(ids[0], "boss", "fixed upstream") == 2
    assert store.resolve_flag(ids[0], "boss") == 0, "nothing left to resolve"
    assert store.flagged_pair_ids() == {ids[1]}
    store.flag_pair(ids[0], "carol", "broken")
    assert store.flagged_pair_ids() == {ids[0], ids[1]}, "a new flag after a resolution is open"
    history = store.flag_history(ids[0])
    assert list(history["kind"]) == ["flag", "flag", "resolve", "flag"]


def test_bad_flags_are_refused(store, tmp_path):
    ids = _pairs(store, tmp_path, 1)
    with pytest.raises(ValueError, match="unknown flag reason"):
        store.flag_pair(ids[0], "alice", "boring")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no pair"):
        store.flag_pair("nope", "alice", "broken")
    assert store.open_flags().empty


def test_the_migration_keeps_old_label_events_and_accepts_adjudicated(tmp_path):
    path = tmp_path / "old.duckdb"
    con = connect(path)
    migrate(con, upto="0006_routing")
    con.execute(
        "INSERT INTO label_events (pair_id, annotator, source, kind, choice) "
        "VALUES ('p1', 'alice', 'human', 'label', 1), ('p1', 'bob', 'human', 'label', -1)"
    )
    con.close()
    with Store(path) as store:
        events = store.label_events()
        assert list(events["id"]) == [1, 2] and list(events["choice"]) == [1, -1]
        (pair,) = _pairs(store, tmp_path, 1)
        event = adjudicated_label(store, pair, "boss", 2)
        assert event == 3, "ids continue after the rebuilt table"
        with store.cursor() as cur, pytest.raises(duckdb.ConstraintException):
            cur.execute(
                "INSERT INTO label_events (pair_id, annotator, source, kind) "
                "VALUES ('p1', 'x', 'robot', 'label')"
            )
