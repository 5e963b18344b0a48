"""Hostile files: whatever the bytes, an import ends in a clean error or a clean import.

A clean error is an ``IngestError`` whose every entry names the file; after one, the project is
exactly as before. Anything else escaping (a crash) fails the test.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotate_app.ingest import ImportOptions, IngestError, import_file
from annotate_app.store import Store

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(min_size=0, max_size=40)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
row = st.fixed_dictionaries(
    {},
    optional={
        "prompt": json_value,
        "response_a": json_value,
        "response_b": json_value,
        "chosen": json_value,
        "rejected": json_value,
        "response": json_value,
        "model": json_value,
    },
)


def _snapshot(store: Store) -> dict:
    return {**store.stats(), "events": len(store.label_events())}


def _import_cleanly(store: Store, path, skip_invalid: bool = False) -> None:
    before = _snapshot(store)
    try:
        report = import_file(store, path, ImportOptions(skip_invalid=skip_invalid))
    except IngestError as exc:
        assert exc.errors and all(e.file == path.name for e in exc.errors)
        assert str(exc)
        assert _snapshot(store) == before, "a failed import changed the project"
        return
    after = _snapshot(store)
    assert after["pairs"] - before["pairs"] == report.added["pairs"]


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".jsonl", ".csv", ".parquet", ".gz"]))
def test_random_bytes(store, tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    _import_cleanly(store, path)


@FUZZ
@given(rows=st.lists(row, min_size=1, max_size=6), skip=st.booleans())
def test_random_json_rows(store, tmp_path, rows, skip):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    _import_cleanly(store, path, skip_invalid=skip)


@FUZZ
@given(cut=st.integers(min_value=1, max_value=400), junk=st.binary(min_size=1, max_size=8))
def test_broken_encodings_and_truncation(store, tmp_path, cut, junk):
    good = json.dumps({"prompt": "héllo wörld", "response_a": "ä" * 50, "response_b": "b" * 60})
    raw = (good + "\n").encode("utf-8") * 3
    path = tmp_path / "broken.jsonl"
    path.write_bytes(raw[:cut] + junk + raw[cut:])
    _import_cleanly(store, path)


def test_deeply_nested_json_is_a_clean_error(store, tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    _import_cleanly(store, path)
    assert store.stats()["prompts"] == 0


def test_enormous_fields_are_stored_whole(store, tmp_path):
    huge = "x" * 3_000_000 + " <script>alert(1)</script>"
    path = tmp_path / "huge.jsonl"
    path.write_text(
        json.dumps({"prompt": "p", "response_a": huge, "response_b": "short"}) + "\n",
        encoding="utf-8",
    )
    import_file(store, path)
    pair = store.get_pair(store.pairs_frame()["pair_id"].iloc[0])
    assert huge in (pair["text_a"], pair["text_b"])
