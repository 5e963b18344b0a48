"""Every export round-trips: dpo-jsonl, parquet, the HF dataset folder, the audit log, and a
reward-model folder; plus the curation options (aggregation, floors, split)."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile

import pandas as pd
import pytest

from annotate_app.cli import main
from annotate_app.export.audit import export_audit_log
from annotate_app.export.model import EXPORT_MODEL, export_model, model_zip, start_model_zip
from annotate_app.export.options import ExportOptions
from annotate_app.export.preferences import (
    PREFERENCE_COLUMNS,
    export_bytes,
    export_dataset,
    preference_rows,
)
from annotate_app.jobs import JobRunner
from annotate_app.labels.consensus import pair_consensus
from annotate_app.store import Store
from tests.analytics_data import populate

HAS_DATASETS = importlib.util.find_spec("datasets") is not None


@pytest.fixture
def project(store, tmp_path):
    model = tmp_path / "rm-folder"
    model.mkdir()
    (model / "config.json").write_text('{"architectures": ["BTRewardModel"]}')
    (model / "sub").mkdir()
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x01weights")
    populate(store, model_dir=str(model))
    return store


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cli_export_is_the_pipeline(project, project_paths, tmp_path):
    project.close()  # the CLI opens the project itself
    plain = tmp_path / "plain.jsonl"
    assert main(["--db", str(project_paths.db), "export", str(plain), "--source", "human"]) == 0
    with Store(project_paths) as store:
        curated = preference_rows(store, ExportOptions(source="human")).frame()
    expected = {r["pair_id"]: (r["chosen"], r["rejected"]) for r in read_jsonl(plain)}
    assert len(expected) == len(curated)
    for r in curated.itertuples():
        assert expected[r.pair_id] == (r.chosen, r.rejected)


def test_jsonl_and_parquet_round_trip_with_split(project, tmp_path):
    options = ExportOptions(aggregate="majority", test_fraction=0.25, seed=1)
    report = export_dataset(project, tmp_path / "prefs.jsonl", "dpo-jsonl", options)
    train, test = (read_jsonl(tmp_path / f"prefs-{s}.jsonl") for s in ("train", "test"))
    assert report.splits == {"train": len(train), "test": len(test)}
    assert {r["prompt_id"] for r in train}.isdisjoint({r["prompt_id"] for r in test})
    n_prompts = len({r["prompt_id"] for r in train + test})
    assert len({r["prompt_id"] for r in test}) == round(0.25 * n_prompts)
    # the demo has multi-turn prompts, so every prompt is a chat-message list
    assert all(
        isinstance(r["prompt"], list) and r["chosen"][0]["role"] == "assistant" for r in train
    )

    export_dataset(project, tmp_path / "prefs.parquet", "parquet", options)
    back = pd.read_parquet(tmp_path / "prefs-train.parquet")
    assert list(back["pair_id"]) == [r["pair_id"] for r in train]
    assert back["chosen"].iloc[0][0]["content"] == train[0]["chosen"][0]["content"]


@pytest.mark.skipif(not HAS_DATASETS, reason="the 'datasets' package is not installed")
def test_hf_folder_is_the_hub_layout_and_loads(project, tmp_path):
    import datasets

    options = ExportOptions(source="human", aggregate="bt", test_fraction=0.2)
    report = export_dataset(project, tmp_path / "hf", "hf", options)
    files = sorted(str(p.relative_to(tmp_path / "hf")) for p in (tmp_path / "hf").rglob("*"))
    assert files == [
        "README.md",
        "data",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
    ]
    card = (tmp_path / "hf" / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "path: data/train-00000-of-00001.parquet" in card
    assert f"| train | {report.splits['train']} |" in card and "`bt`" in card
    assert "Label sources: human" in card
    loaded = datasets.load_dataset(str(tmp_path / "hf"), cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train", "test"}
    train = preference_rows(project, options).frame("train")
    assert loaded["train"]["pair_id"] == list(train["pair_id"])
    assert loaded["train"][0]["chosen"] == train["chosen"].iloc[0]
    assert loaded["train"].column_names == list(PREFERENCE_COLUMNS)
    assert loaded["train"].features["model_chosen"] == datasets.Value("string")
    with pytest.raises(FileExistsError, match="not empty"):
        export_dataset(project, tmp_path / "hf", "hf", options)


def test_hf_folder_needs_no_datasets_package(project, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets now raises ImportError
    report = export_dataset(project, tmp_path / "hf", "hf")
    assert report.rows > 0
    back = pd.read_parquet(tmp_path / "hf" / "data" / "train-00000-of-00001.parquet")
    assert len(back) == report.rows


def test_floors_drop_disputed_and_unsure_pairs(project):
    everything = preference_rows(project, ExportOptions(aggregate="majority")).frame()
    strict = preference_rows(project, ExportOptions(aggregate="majority", min_agreement=0.99))
    agreed = strict.frame()
    assert 0 < len(agreed) < len(everything)
    assert (agreed["agreement"] >= 0.99).all()
    assert strict.dropped["below min agreement"] == len(everything) - len(agreed)
    sure = preference_rows(project, ExportOptions(source="ai", min_confidence=0.8)).frame()
    assert (sure["confidence"] >= 0.8).all() and set(sure["source"]) == {"ai"}
    with pytest.raises(ValueError, match="min_agreement"):
        preference_rows(project, ExportOptions(min_agreement=1.5))


def test_bt_aggregation_breaks_cycles_into_ties():
    # r1 > r2, r2 > r3, r3 > r1: no ranking is consistent with all three, so BT calls all ties;
    # the separate pair r4 > r5 keeps its direction.
    votes = pd.DataFrame(
        {
            "pair_id": ["p12", "p23", "p13", "p45"],
            "response_a": ["r1", "r2", "r1", "r4"],
            "response_b": ["r2", "r3", "r3", "r5"],
            "annotator": "ann",
            "source": "human",
            "choice": [1, 1, -1, 2],
            "both_bad": False,
            "p_a": None,
        }
    )
    bt = pair_consensus(votes, "bt").set_index("pair_id")
    assert list(bt.loc[["p12", "p23", "p13"], "outcome"]) == ["tie"] * 3
    assert bt.loc["p45", "outcome"] == "a" and 0.5 < bt.loc["p45", "confidence"] < 1
    majority = pair_consensus(votes, "majority").set_index("pair_id")
    assert list(majority.loc[["p12", "p23", "p13", "p45"], "outcome"]) == ["a", "a", "b", "a"]


def test_audit_log_round_trips(project, tmp_path):
    alice = project.label_events("alice")
    assert project.undo_event("alice", int(alice["id"].iloc[-1])) is not None
    events = project.label_events()
    for name in ("log.csv", "log.parquet"):
        assert export_audit_log(project, tmp_path / name) == len(events)
    csv = pd.read_csv(tmp_path / "log.csv")
    parquet = pd.read_parquet(tmp_path / "log.parquet")
    for back in (csv, parquet):
        assert list(back["id"]) == list(events["id"])
        assert list(back["kind"]).count("undo") == 1
        assert back["choice"].sum() == events["choice"].sum()
    assert json.loads(parquet["metadata"].dropna().iloc[0])["p_ab"] > 0
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        export_audit_log(project, tmp_path / "log.txt")


def test_export_model_copies_the_folder(project, tmp_path):
    dest = export_model(project, "active", tmp_path / "out")
    assert (dest / "sub" / "weights.bin").read_bytes() == b"\x00\x01weights"
    assert json.loads((dest / "config.json").read_text())["architectures"] == ["BTRewardModel"]
    with pytest.raises(FileExistsError):
        export_model(project, "rm-1", tmp_path / "out")
    with pytest.raises(ValueError, match="no model version 'nope'"):
        export_model(project, "nope", tmp_path / "other")


def test_the_model_download_is_zipped_by_a_worker_job(project):
    """The app's download: a real worker subprocess writes the zip; the server never loads the
    model. A second version's zip is its own job; an unknown version fails before any job."""
    runner = JobRunner(project)
    job = runner.wait(start_model_zip(project, runner, "rm-1"))
    assert job["result"]["zip"] == "reward-model-rm-1.zip"
    assert project.latest_job(EXPORT_MODEL, "version", "rm-1")["id"] == job["id"]
    assert project.latest_job(EXPORT_MODEL, "version", "rm-2") is None
    path = model_zip(runner, job)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "sub/weights.bin"]
        assert archive.read("sub/weights.bin") == b"\x00\x01weights"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no folder or temp file left"
    with pytest.raises(ValueError, match="no model version 'nope'"):
        start_model_zip(project, runner, "nope")


def test_download_bytes(project):
    data, name = export_bytes(project, "dpo-jsonl", ExportOptions(source="import"))
    assert name == "preferences.jsonl"
    assert len(data.decode().splitlines()) == 10  # the ten gold pairs
    data, name = export_bytes(project, "parquet", ExportOptions(test_fraction=0.3))
    assert name == "preferences.zip" and data[:2] == b"PK"


def test_cli_export_options_and_stats(project, project_paths, tmp_path, capsys):
    project.close()
    db = ["--db", str(project_paths.db)]
    out = tmp_path / "maj.jsonl"
    assert main([*db, "export", str(out), "--aggregate", "majority", "--min-agreement", "1"]) == 0
    assert "below min agreement" in capsys.readouterr().out
    assert all(r["agreement"] == 1.0 for r in read_jsonl(out))
    assert main([*db, "export-model", "rm-2", str(tmp_path / "model")]) == 0
    assert (tmp_path / "model" / "config.json").exists()
    assert main([*db, "audit-log", str(tmp_path / "events.parquet")]) == 0
    capsys.readouterr()
    assert main([*db, "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["agreement"]["judges"][0]["judge"] == "judge:test"
    assert stats["agreement"]["krippendorff_alpha"] > 0
    assert stats["routing"]["routes"] == {"human": 0, "ai": 0, "hold": 0}
    assert stats["routing"]["spend"]["human_cost"] == pytest.approx(360 * 0.4)
