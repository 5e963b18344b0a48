"""Every kind of bad row: the error names file, line and field; a failed import writes nothing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from annotate_app.ingest import ImportOptions, IngestError, import_file
from annotate_app.store import Store

GOOD = {"prompt": "Which is larger, 2 or 3?", "response_a": "3", "response_b": "2"}


def good(i: int) -> dict:
    return {"prompt": f"question {i}", "chosen": f"right {i}", "rejected": f"wrong {i}"}


def jsonl_bytes(rows: list[dict | bytes]) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r).encode("utf-8")) + b"\n" for r in rows
    )


def snapshot(store: Store) -> dict:
    """Everything an import could touch, to prove a failed import changed nothing."""
    return {
        "stats": store.stats(),
        "pairs": sorted(store.pairs_frame()["pair_id"]),
        "events": store.label_events()[["id", "pair_id", "choice"]].values.tolist(),
    }


@pytest.fixture
def seeded(store: Store, tmp_path: Path) -> Store:
    """A project that already holds data, so 'unchanged' is a real check."""
    path = tmp_path / "seed.jsonl"
    path.write_bytes(jsonl_bytes([good(i) for i in range(5)]))
    import_file(store, path)
    return store


# (bad line content, expected line number fragment, expected field, expected problem text)
BAD_ROWS = [
    (
        b'{"prompt": "x", "chosen": "half \\ud800 a pair", "rejected": "b"}',
        "chosen",
        "unpaired surrogate",
    ),
    (b'{"prompt": "x", "chosen": "a", "rejected": ', None, "broken JSON"),
    (json.dumps({"prompt": "x", "chosen": "a"}).encode(), "rejected", "missing"),
    (
        json.dumps({"prompt": "  \n\u200b ", "chosen": "a", "rejected": "b"}).encode(),
        "prompt",
        "empty",
    ),
    (json.dumps({"prompt": 42, "chosen": "a", "rejected": "b"}).encode(), "prompt", "got int"),
    (
        json.dumps({"prompt": "x", "chosen": {"t": 1}, "rejected": "b"}).encode(),
        "chosen",
        "got dict",
    ),
    (b'{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}', None, "undecodable bytes"),
    (b"[1, 2, 3]", None, "expected a JSON object, got list"),
    (b'"just a string"', None, "expected a JSON object, got str"),
    (
        json.dumps({"prompt": "x", "chosen": "same", "rejected": "same"}).encode(),
        "rejected",
        "identical",
    ),
    (
        json.dumps(
            {"prompt": [{"role": "robot", "content": "hi"}], "chosen": "a", "rejected": "b"}
        ).encode(),
        "prompt[0].role",
        "expected one of system, user, assistant",
    ),
    (
        json.dumps(
            {"prompt": [{"role": "assistant", "content": "hi"}], "chosen": "a", "rejected": "b"}
        ).encode(),
        "prompt",
        "must end with a user turn",
    ),
    (
        json.dumps(
            {"prompt": "x", "chosen": [{"role": "user", "content": "a"}], "rejected": "b"}
        ).encode(),
        "chosen",
        "must end with an assistant turn",
    ),
    (
        json.dumps({"prompt": "x", "chosen": "a", "rejected": "b", "model_chosen": ["m"]}).encode(),
        "model_chosen",
        "expected a string",
    ),
]


@pytest.mark.parametrize(("line", "field", "problem"), BAD_ROWS)
def test_bad_row_fails_whole_import(
    seeded: Store, tmp_path: Path, line: bytes, field, problem
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl_bytes([good(10), good(11), line, good(12)]))
    before = snapshot(seeded)
    with pytest.raises(IngestError) as caught:
        import_file(seeded, path)
    (err,) = caught.value.errors
    assert (err.file, err.line, err.field) == ("bad.jsonl", 3, field)
    assert problem in err.problem
    message = str(caught.value)
    assert message.startswith("bad.jsonl:3: ") and problem in message
    if field:
        assert f"field '{field}'" in message
    assert snapshot(seeded) == before


@pytest.mark.parametrize(("line", "field", "problem"), BAD_ROWS[:8])
def test_skip_invalid_imports_the_rest(
    store: Store, tmp_path: Path, line: bytes, field, problem
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl_bytes([good(1), line, good(2), good(3)]))
    report = import_file(store, path, ImportOptions(skip_invalid=True))
    assert report.added == {"prompts": 3, "responses": 6, "pairs": 3, "labels": 3}
    assert [(e.line, e.field) for e in report.skipped] == [(2, field)]
    assert "skipped 1 invalid rows" in report.summary()
    assert set(store.pairs_frame()["prompt"]) == {"question 1", "question 2", "question 3"}


def test_every_bad_row_is_reported(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(jsonl_bytes([good(20), *[b for b, _, _ in BAD_ROWS], good(21)]))
    with pytest.raises(IngestError) as caught:
        import_file(seeded, path)
    assert [e.line for e in caught.value.errors] == list(range(2, 2 + len(BAD_ROWS)))
    assert f"(and {len(BAD_ROWS) - 1} more invalid rows)" in str(caught.value)


def test_csv_column_mismatch(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        'prompt,chosen,rejected\nq1,a1,b1\nq2,a2,b2,extra\n"multi\nline q3",a3,b3\nq4,a4\nq5,,b5\n',
        encoding="utf-8",
    )
    before = snapshot(seeded)
    with pytest.raises(IngestError) as caught:
        import_file(seeded, path)
    got = [(e.file, e.line, e.field) for e in caught.value.errors]
    assert got == [("bad.csv", 3, None), ("bad.csv", 6, None)]
    problems = [e.problem for e in caught.value.errors]
    assert "more values than header columns" in problems[0]
    assert "fewer values than header columns" in problems[1]
    assert snapshot(seeded) == before
    report = import_file(seeded, path, ImportOptions(skip_invalid=True))
    # line 7's empty response is dropped and counted, not an error (formats.is_blank)
    assert report.added["pairs"] == 2 and len(report.skipped) == 2 and report.dropped_blank == 1
    assert "multi\nline q3" in set(seeded.pairs_frame()["prompt"])


def test_csv_undecodable_bytes(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"prompt,chosen,rejected\nq1,a1,b1\nq2,caf\xe9,b2\n")
    before = snapshot(seeded)
    with pytest.raises(IngestError, match=r"latin1.csv:3: undecodable bytes \(expected UTF-8\)"):
        import_file(seeded, path)
    assert snapshot(seeded) == before


def test_corrupt_parquet(seeded: Store, tmp_path: Path) -> None:
    good_file = tmp_path / "ok.parquet"
    pd.DataFrame([good(30), good(31)]).to_parquet(good_file)
    raw = good_file.read_bytes()
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(raw[: len(raw) // 2])
    before = snapshot(seeded)
    for options in (ImportOptions(), ImportOptions(skip_invalid=True)):
        with pytest.raises(IngestError, match="broken.parquet: unreadable Parquet"):
            import_file(seeded, broken, options)
    assert snapshot(seeded) == before


def test_parquet_bad_values_name_row_and_field(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pd.DataFrame([good(40), {**good(41), "chosen": None}, good(42)]).to_parquet(path)
    with pytest.raises(IngestError, match=r"rows.parquet:2: field 'chosen': missing"):
        import_file(seeded, path)


def test_broken_gzip(seeded: Store, tmp_path: Path) -> None:
    raw = gzip.compress(jsonl_bytes([good(50)] * 200))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IngestError, match="cut.jsonl.gz: broken gzip data"):
        import_file(seeded, path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "the file has no rows"), (b"\n\n  \n", "the file has no rows")],
)
def test_empty_file(seeded: Store, tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=f"empty.jsonl: {problem}"):
        import_file(seeded, path)


def test_missing_file_and_folder(seeded: Store, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="nope.jsonl: no such file"):
        import_file(seeded, tmp_path / "nope.jsonl")
    with pytest.raises(IngestError, match="is a folder"):
        import_file(seeded, tmp_path)


def test_all_rows_invalid_even_with_skip(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "allbad.jsonl"
    path.write_bytes(b"not json\n[1]\n")
    before = snapshot(seeded)
    with pytest.raises(IngestError, match="allbad.jsonl:1: broken JSON"):
        import_file(seeded, path, ImportOptions(skip_invalid=True))
    assert snapshot(seeded) == before


def test_a_newline_in_a_file_name_does_not_split_the_one_line_error(
    seeded: Store, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from annotate_app.cli import main

    path = tmp_path / "evil\nannotate: ok.jsonl"
    path.write_bytes(b"not json\n")
    assert main(["--db", str(seeded.paths.db), "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "evil\\nannotate: ok.jsonl:1: broken JSON" in err
    assert main(["--db", str(seeded.paths.db), "import", str(tmp_path / "gone\n.jsonl")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_csv_says_what_to_do_and_does_not_suggest_skip_invalid(
    seeded: Store, tmp_path: Path, capsys: pytest.CaptureFixture, encoding: str
) -> None:
    from annotate_app.cli import main

    path = tmp_path / "excel.csv"
    text = "prompt,chosen,rejected\nq1,a1,b1\n"
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + text.encode(encoding))
    before = snapshot(seeded)
    with pytest.raises(IngestError) as caught:
        import_file(seeded, path, ImportOptions(skip_invalid=True))
    assert not caught.value.skippable
    assert main(["--db", str(seeded.paths.db), "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"the file is {encoding[:6].upper()}" in err and "save it as UTF-8" in err
    assert "--skip-invalid" not in err
    assert snapshot(seeded) == before


def test_duplicate_json_keys_are_an_error_naming_key_and_line(
    seeded: Store, tmp_path: Path
) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_bytes(
        jsonl_bytes([good(60), b'{"prompt": "q", "chosen": "a", "rejected": "b", "chosen": "c"}'])
    )
    before = snapshot(seeded)
    with pytest.raises(IngestError) as caught:
        import_file(seeded, path)
    (error,) = caught.value.errors
    assert (error.file, error.line, error.field) == ("dup.jsonl", 2, "chosen")
    assert "appears twice" in error.problem
    assert snapshot(seeded) == before


def test_a_symlinked_input_is_refused_without_echoing_its_content(
    seeded: Store, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret-first-line\n", encoding="utf-8")
    link = tmp_path / "data.csv"
    link.symlink_to(secret)
    before = snapshot(seeded)
    with pytest.raises(IngestError) as caught:
        import_file(seeded, link, ImportOptions(skip_invalid=True))
    message = str(caught.value)
    assert message.startswith("data.csv: is a symbolic link") and "secret" not in message
    assert snapshot(seeded) == before


def test_model_names_follow_the_name_rules_and_are_stored_as_given(
    seeded: Store, tmp_path: Path
) -> None:
    rows = [
        {**GOOD, "model_a": "gpt\u202e4", "model_b": "ok"},
        {**GOOD, "prompt": "q2", "model_a": "a\x00b", "model_b": "ok"},
    ]
    path = tmp_path / "models.jsonl"
    path.write_bytes(jsonl_bytes(rows))
    with pytest.raises(IngestError) as caught:
        import_file(seeded, path)
    assert [(e.line, e.field) for e in caught.value.errors] == [(1, "model_a"), (2, "model_a")]
    assert "U+202E" in caught.value.errors[0].problem
    fine = tmp_path / "fine.jsonl"
    fine.write_bytes(jsonl_bytes([{**GOOD, "model_a": "\uff2cLaMA", "model_b": "ok"}]))
    import_file(seeded, fine)
    assert "\uff2cLaMA" in seeded.review_models()


def test_a_response_of_only_invisible_characters_never_becomes_a_pair(
    seeded: Store, tmp_path: Path
) -> None:
    path = tmp_path / "zw.jsonl"
    path.write_bytes(
        jsonl_bytes([good(70), {"prompt": "q", "chosen": "\u200b\u200d\ufeff", "rejected": "b"}])
    )
    before = seeded.stats()["pairs"]
    report = import_file(seeded, path)
    assert report.dropped_blank == 1 and "dropped 1 rows with an empty response" in report.summary()
    assert seeded.stats()["pairs"] == before + 1


def test_look_alike_model_names_are_refused_in_a_file_and_against_the_project(
    seeded: Store, tmp_path: Path
) -> None:
    one = tmp_path / "one.jsonl"
    one.write_bytes(
        jsonl_bytes(
            [
                {**GOOD, "model_a": "llama", "model_b": "mistral"},
                {**GOOD, "prompt": "q2", "model_a": "LLAMA", "model_b": "mistral"},
            ]
        )
    )
    before = snapshot(seeded)
    with pytest.raises(IngestError) as caught:
        import_file(seeded, one, ImportOptions(skip_invalid=True))
    (error,) = caught.value.errors
    assert (error.line, error.field) == (
        2,
        "model",
    ) and "'LLAMA' looks like 'llama'" in error.problem
    assert snapshot(seeded) == before
    ok = tmp_path / "ok.jsonl"
    ok.write_bytes(jsonl_bytes([{**GOOD, "model_a": "llama", "model_b": "mistral"}]))
    import_file(seeded, ok)
    later = tmp_path / "later.jsonl"  # Cyrillic a: looks like the stored 'llama'
    later.write_bytes(
        jsonl_bytes([{**GOOD, "prompt": "q3", "model_a": "llam\u0430", "model_b": "x"}])
    )
    with pytest.raises(IngestError, match="looks like 'llama'"):
        import_file(seeded, later)
    again = tmp_path / "again.jsonl"  # the same spelling as stored is the same model
    again.write_bytes(jsonl_bytes([{**GOOD, "prompt": "q4", "model_a": "llama", "model_b": "y"}]))
    import_file(seeded, again)
