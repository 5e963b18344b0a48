"""One export pipeline: every option in every format gives the same columns and types, JSON never
holds NaN, and a failed write leaves no file and keeps an old one intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate_app.cli import main
from annotate_app.export import files
from annotate_app.export.options import ExportOptions
from annotate_app.export.preferences import (
    PREFERENCE_COLUMNS,
    download_name,
    export_bytes,
    export_dataset,
    preference_rows,
    preference_schema,
)
from annotate_app.ingest import import_file
from annotate_app.store import Store
from tests.analytics_data import populate

# Each of these used to send the export down the second pipeline (any option off its default).
OPTIONS = {
    "default": ExportOptions(),
    "seed": ExportOptions(seed=1),
    "tiny test split": ExportOptions(test_fraction=0.02),
    "split": ExportOptions(test_fraction=0.3, seed=2),
    "majority": ExportOptions(aggregate="majority"),
    "bt": ExportOptions(aggregate="bt", source="human"),
    "agreement floor": ExportOptions(min_agreement=0.6),
    "confidence floor": ExportOptions(min_confidence=0.7, source="ai"),
}
FORMATS = {"dpo-jsonl": "out.jsonl", "parquet": "out.parquet", "hf": "hf"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    store = Store(folder / "p.duckdb")
    populate(store)
    yield store
    store.close()


def read_split(path: Path, fmt: str) -> list[dict]:
    if fmt == "dpo-jsonl":
        text = path.read_text(encoding="utf-8")
        assert "NaN" not in text and "Infinity" not in text
        return [
            json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
            for line in text.splitlines()
        ]
    return pq.read_table(path).to_pylist()


def written_files(target: Path, fmt: str, options: ExportOptions) -> dict[str, Path]:
    if fmt == "hf":
        return {s: target / "data" / f"{s}-00000-of-00001.parquet" for s in options.split_names()}
    if len(options.split_names()) == 1:
        return {"train": target}
    return {s: target.with_name(f"{target.stem}-{s}{target.suffix}") for s in ("train", "test")}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_option_in_every_format_keeps_the_columns(project, tmp_path, fmt, name):
    options = OPTIONS[name]
    target = tmp_path / FORMATS[fmt]
    report = export_dataset(project, target, fmt, options)
    expected = preference_rows(project, options)
    assert report.splits == {s: len(rows) for s, rows in expected.splits.items()}
    assert report.rows > 0
    schema = preference_schema(expected.conversational)
    for split, path in written_files(target, fmt, options).items():
        rows = read_split(path, fmt)
        assert len(rows) == report.splits[split]
        for row in rows:
            assert tuple(row) == PREFERENCE_COLUMNS
        assert [r["pair_id"] for r in rows] == [r["pair_id"] for r in expected.splits[split]]
        if fmt != "dpo-jsonl":
            assert pq.read_schema(path).remove_metadata() == schema
    assert schema.field("model_chosen").type == pa.string()
    assert schema.field("pair_id").type == pa.string()


def test_cli_tiny_test_fraction_writes_strict_json(store, tmp_path, capsys):
    """``--test-fraction 0.02`` used to end in 'Out of range float values' and a 0-byte file."""
    populate(store)
    db = store.paths.db
    store.close()
    out = tmp_path / "x.jsonl"
    code = main(["--db", str(db), "export", str(out), "--test-fraction", "0.02"])
    assert code == 0, capsys.readouterr()
    for split in ("train", "test"):
        rows = read_split(tmp_path / f"x-{split}.jsonl", "dpo-jsonl")
        assert rows and all(tuple(r) == PREFERENCE_COLUMNS for r in rows)
    seeded = tmp_path / "seed.jsonl"
    assert main(["--db", str(db), "export", str(seeded), "--seed", "1"]) == 0
    plain = tmp_path / "plain.jsonl"
    assert main(["--db", str(db), "export", str(plain)]) == 0
    assert seeded.read_text() == plain.read_text(), "a seed without a split changes nothing"


def test_nan_and_numpy_values_become_json(tmp_path):
    path = tmp_path / "x.jsonl"
    files.write_jsonl(
        [{"a": float("nan"), "b": np.float32(0.5), "c": [np.int64(2), float("inf")], "d": None}],
        path,
    )
    assert json.loads(path.read_text()) == {"a": None, "b": 0.5, "c": [2, None], "d": None}


@pytest.mark.parametrize("fmt", ["dpo-jsonl", "parquet"])
def test_failed_write_leaves_no_file_and_keeps_the_old_one(project, tmp_path, monkeypatch, fmt):
    target = tmp_path / ("out.jsonl" if fmt == "dpo-jsonl" else "out.parquet")
    export_dataset(project, target, fmt)
    old = target.read_bytes()
    fresh = tmp_path / "fresh" / target.name
    calls = {"n": 0}
    real = files.json_value

    def failing(value):
        calls["n"] += 1
        if calls["n"] > 17:  # part of the rows are out when the disk "fills up"
            raise OSError(28, "No space left on device")
        return real(value)

    monkeypatch.setattr(files, "json_value", failing)
    for path in (target, fresh):
        calls["n"] = 0
        with pytest.raises(OSError, match="No space left"):
            export_dataset(project, path, fmt)
    assert target.read_bytes() == old, "the old export is intact"
    assert not fresh.exists(), "no partial file where there was none"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_failed_split_write_renames_neither_split(project, tmp_path, monkeypatch):
    options = ExportOptions(test_fraction=0.3)
    real = files.write_jsonl

    def second_fails(records, path):
        if "test" in path.name:
            raise OSError(5, "Input/output error")
        real(records, path)

    monkeypatch.setattr("annotate_app.export.preferences.write_jsonl", second_fails)
    with pytest.raises(OSError):
        export_dataset(project, tmp_path / "s.jsonl", "dpo-jsonl", options)
    assert sorted(os.listdir(tmp_path)) == []


def test_failed_hf_write_leaves_no_folder(project, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("annotate_app.export.hf_folder.write_parquet", broken)
    with pytest.raises(OSError):
        export_dataset(project, tmp_path / "hf", "hf")
    assert sorted(os.listdir(tmp_path)) == []


def test_pairs_with_a_blank_response_are_left_out_and_counted(store, tmp_path):
    """Projects imported before the blank-response rule may hold one; the export applies the same
    test as the import (``formats.is_blank``) and says how many it left out."""
    rows = [{"prompt": f"q{i}", "chosen": f"a{i}", "rejected": f"b{i}"} for i in range(3)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, source)
    with store.cursor() as cur:  # an older project: a response that is only a zero-width space
        cur.execute("UPDATE responses SET text = '\u200b' WHERE text = 'b1'")
    report = export_dataset(store, tmp_path / "out.jsonl", "dpo-jsonl")
    assert report.rows == 2 and report.dropped["with an empty response"] == 1
    assert "1 with an empty response" in report.summary()


@pytest.mark.parametrize(
    ("fmt", "options", "members"),
    [
        ("dpo-jsonl", ExportOptions(), None),
        (
            "parquet",
            ExportOptions(test_fraction=0.3),
            ["preferences-test.parquet", "preferences-train.parquet"],
        ),
        (
            "hf",
            ExportOptions(),
            ["preferences/README.md", "preferences/data/train-00000-of-00001.parquet"],
        ),
        ("battles", ExportOptions(test_fraction=0.3, aggregate="bt"), None),
    ],
)
def test_download_bytes_and_names(project, fmt, options, members):
    """The Data page's download: one file, or a zip of the split files or the folder."""
    import io
    import zipfile

    data, name = export_bytes(project, fmt, options)
    assert name == download_name(fmt, options)
    if members is None:
        assert name in ("preferences.jsonl", "battles.json") and data.strip()
        json.loads(data.splitlines()[0])
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert sorted(archive.namelist()) == members


def test_exports_get_the_usual_file_permissions(project, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    usual = plain.stat().st_mode & 0o777
    export_dataset(project, tmp_path / "out.jsonl", "dpo-jsonl")
    export_dataset(project, tmp_path / "hf", "hf")
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == usual
    (tmp_path / "plain-dir").mkdir()
    usual_dir = (tmp_path / "plain-dir").stat().st_mode & 0o777
    assert (tmp_path / "hf").stat().st_mode & 0o777 == usual_dir
    assert (tmp_path / "hf" / "README.md").stat().st_mode & 0o777 == usual
