"""Names and free text that look like SQL are stored as text and change nothing else."""

from __future__ import annotations

from annotate_app.ingest import import_file
from tests.seed import human_label

HOSTILE = [
    "alice'; DROP TABLE label_events; --",
    'bob" OR 1=1 --',
    "x'); DELETE FROM pairs; --",
    "Robert'); UPDATE annotators SET role='admin' WHERE ('1'='1",
]


def test_hostile_names_and_text_round_trip(store, demo_dir):
    import_file(store, demo_dir / "responses.jsonl")
    pairs = store.pairs_frame()["pair_id"].tolist()
    labeled: list[int] = []
    for i, name in enumerate(HOSTILE):
        store.upsert_annotator(name, role="annotator")
        labeled.append(human_label(store, pairs[i], name, 1, rationale=name, left_side="b"))
        store.set_setting(name, {"v": name})
    assert store.undo_event(HOSTILE[0], labeled[0]) == pairs[0]
    assert store.undo_event(HOSTILE[1], labeled[0]) is None, "not another's"

    assert store.stats()["pairs"] == len(pairs)
    events = store.label_events()
    assert list(events["kind"]).count("undo") == 1
    assert set(events["annotator"]) == set(HOSTILE)
    assert set(events["rationale"].dropna()) == set(HOSTILE)
    roles = store.annotators_frame().set_index("name")["role"]
    assert (roles[HOSTILE] == "annotator").all()
    assert all(store.get_setting(n) == {"v": n} for n in HOSTILE)
    assert store.get_annotator(HOSTILE[3])["role"] == "annotator"
