"""Import rules shared by every shape: blank responses dropped and counted, role runs merged; TRL's
implicit-prompt shape; Hugging Face dataset folders (Hub layout and save_to_disk) as input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate_app.ingest import IngestError, import_file
from annotate_app.ingest.formats import is_blank, merge_role_runs
from annotate_app.store import Store


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def msg(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def test_blank_means_nothing_visible():
    assert is_blank("") and is_blank("  \n\t") and is_blank("\u200b\u200d \u2066")
    assert not is_blank(" a ") and not is_blank("0")


@pytest.mark.parametrize(
    "rows",
    [
        [
            {"prompt": "q", "chosen": " ", "rejected": "b"},
            {"prompt": "r", "chosen": "c", "rejected": "d"},
        ],
        [
            {"prompt": "q", "response_a": "a", "response_b": "\u200b"},
            {"prompt": "r", "response_a": "c", "response_b": "d"},
        ],
        [
            {"chosen": "\n\nHuman: q\n\nAssistant:", "rejected": "\n\nHuman: q\n\nAssistant: no"},
            {"chosen": "\n\nHuman: r\n\nAssistant: c", "rejected": "\n\nHuman: r\n\nAssistant: d"},
        ],
        [
            {
                "prompt": [msg("user", "q")],
                "chosen": [msg("assistant", "")],
                "rejected": [msg("assistant", "b")],
            },
            {"prompt": "r", "chosen": "c", "rejected": "d"},
        ],
    ],
    ids=["chosen-rejected", "pairs", "hh", "messages"],
)
def test_blank_responses_are_dropped_and_counted_in_every_shape(store, tmp_path, rows):
    report = import_file(store, write_jsonl(tmp_path / "x.jsonl", rows))
    assert report.dropped_blank == 1 and report.skipped == []
    assert report.added["pairs"] == 1
    assert "dropped 1 rows with an empty response" in report.summary()
    assert not store.pairs_frame()["text_a"].map(is_blank).any()


def test_multi_response_drops_blank_responses(store, tmp_path):
    rows = [
        {"prompt": "q", "response": r, "model": m}
        for r, m in (("one", "m1"), ("  ", "m2"), ("three", "m3"))
    ]
    report = import_file(store, write_jsonl(tmp_path / "m.jsonl", rows))
    assert report.dropped_blank == 1 and report.added["pairs"] == 1


def test_role_runs_are_merged_so_roles_alternate(store, tmp_path):
    hh = {
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nAssistant: anything else?\n\nHuman: no\n\nAssistant: bye",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nAssistant: anything else?\n\nHuman: no\n\nAssistant: go",
    }
    chat = {
        "prompt": [msg("system", "be brief"), msg("user", "a"), msg("user", "b")],
        "chosen": "x",
        "rejected": "y",
    }
    report = import_file(store, write_jsonl(tmp_path / "runs.jsonl", [hh]))
    report2 = import_file(store, write_jsonl(tmp_path / "runs2.jsonl", [chat]))
    assert report.merged_role_runs == 1 and report2.merged_role_runs == 1
    assert "merged repeated-role turns in 1 rows" in report.summary()
    turns = {len(t): t for t in store.pairs_frame()["turns"].map(json.loads)}
    assert turns[3] == [
        msg("user", "hi"),
        msg("assistant", "hello\n\nanything else?"),
        msg("user", "no"),
    ]
    assert turns[2] == [msg("system", "be brief"), msg("user", "a\n\nb")]
    assert merge_role_runs([msg("user", "a")]) == ([msg("user", "a")], 0)


def test_implicit_prompt_shape_splits_the_shared_prefix(store, tmp_path):
    """TRL's implicit-prompt conversational rows: no prompt column, whole conversations."""
    trl = pytest.importorskip("trl.data_utils")
    shared = [msg("user", "What is 2+2?"), msg("assistant", "4."), msg("user", "And 3+3?")]
    row = {
        "chosen": [*shared, msg("assistant", "6.")],
        "rejected": [*shared, msg("assistant", "7.")],
        "model_chosen": "good",
    }
    report = import_file(store, write_jsonl(tmp_path / "implicit.jsonl", [row]))
    assert report.format == "chosen-rejected" and report.added["labels"] == 1
    pair = store.pairs_frame().iloc[0]
    expected = trl.maybe_extract_prompt(row)
    assert json.loads(pair["turns"]) == expected["prompt"]
    label = store.current_labels(source="import").iloc[0]
    chosen = pair["text_a"] if label["choice"] > 0 else pair["text_b"]
    assert [msg("assistant", chosen)] == expected["chosen"]
    bad = {"chosen": [msg("user", "a"), msg("assistant", "b")], "rejected": [msg("user", "c")]}
    with pytest.raises(IngestError, match="shared message prefix"):
        import_file(store, write_jsonl(tmp_path / "bad.jsonl", [bad]))


def preference_table() -> pa.Table:
    return pa.table(
        {
            "prompt": ["q1", "q2", "q3"],
            "chosen": ["a1", "a2", "a3"],
            "rejected": ["b1", "b2", "b3"],
        }
    )


def test_hub_layout_folder_imports_every_split(store, tmp_path):
    folder = tmp_path / "hub"
    (folder / "data").mkdir(parents=True)
    table = preference_table()
    pq.write_table(table.slice(0, 2), folder / "data" / "train-00000-of-00001.parquet")
    pq.write_table(table.slice(2), folder / "data" / "test-00000-of-00001.parquet")
    (folder / "README.md").write_text("---\n---\n")
    report = import_file(store, folder)
    assert (report.file_type, report.format, report.rows) == ("hf-parquet", "chosen-rejected", 3)
    assert report.added["labels"] == 3


def test_save_to_disk_folder_imports(store, tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(preference_table().slice(0, 2).to_pydict()),
            "test": datasets.Dataset.from_dict(preference_table().slice(2).to_pydict()),
        }
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    report = import_file(store, tmp_path / "saved")
    assert (report.file_type, report.rows, report.added["pairs"]) == ("hf-arrow", 3, 3)


def test_a_folder_without_data_says_what_it_needs(store, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="Hugging Face dataset folder"):
        import_file(store, tmp_path / "empty")
    assert store.stats()["pairs"] == 0


def test_cli_imports_a_folder(store, project_paths, tmp_path, capsys):
    from annotate_app.cli import main

    folder = tmp_path / "hub" / "data"
    folder.mkdir(parents=True)
    pq.write_table(preference_table(), folder / "train-00000-of-00001.parquet")
    store.close()
    assert main(["--db", str(project_paths.db), "import", str(tmp_path / "hub")]) == 0
    assert "3 rows as chosen-rejected" in capsys.readouterr().out
    with Store(project_paths) as again:
        assert again.stats()["pairs"] == 3
