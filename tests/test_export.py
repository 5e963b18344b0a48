"""Export round-trip: export, re-import as chosen/rejected into a fresh project, same preferences."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from annotate_app.export.options import ExportOptions
from annotate_app.export.preferences import export_dataset
from annotate_app.ingest import import_file
from annotate_app.store import Store
from annotate_app.store.client_answers import PageAnswer
from tests.seed import human_label, judge_label

# pair index -> labels as (annotator, choice, both_bad, source); a choice of "skip" is a skip.
SCENARIO: dict[int, list[tuple[str, object, bool, str]]] = {
    0: [("ann1", 2, False, "human")],
    1: [("ann1", -1, False, "human")],
    2: [("ann1", 1, False, "human"), ("ann2", -1, False, "human")],  # cancels out: a tie
    3: [("ann1", 0, False, "human")],  # an explicit tie
    4: [("ann1", None, True, "human")],  # both bad
    5: [("ann1", "skip", False, "human")],
    6: [("ann1", 1, False, "human"), ("ann2", 2, False, "human"), ("ann3", -1, False, "human")],
    7: [("judge", -2, False, "ai")],
    8: [],
}
JUDGE_P_A = {-2: 0.05}  # the verdict behind a judge's choice


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def preferences(store: Store) -> dict[str, tuple[object, str, str]]:
    """pair id -> (prompt turns, chosen, rejected) from the current import labels."""
    labels = store.current_labels(source="import").set_index("pair_id")["choice"]
    out = {}
    for r in store.pairs_frame().itertuples(index=False):
        if r.pair_id in labels:
            a_wins = labels[r.pair_id] > 0
            out[r.pair_id] = (
                json.loads(r.turns),
                r.text_a if a_wins else r.text_b,
                r.text_b if a_wins else r.text_a,
            )
    return out


def left_out(report) -> tuple[int, int, int]:
    return tuple(report.dropped[k] for k in ("ties", "both-bad", "skipped-only"))


@pytest.fixture
def labeled(store: Store, tmp_path: Path) -> tuple[Store, dict[str, tuple]]:
    rows = [
        {
            "prompt": f"Task {i}: explain <b>{i}</b>",
            "response_a": f"good {i}",
            "response_b": f"poor {i}",
            "model_a": "big",
            "model_b": "small" if i % 2 else None,
        }
        for i in SCENARIO
    ]
    import_file(store, write_jsonl(tmp_path / "pairs.jsonl", rows))
    frame = store.pairs_frame().set_index("prompt")
    expected: dict[str, tuple] = {}
    for i, labels in SCENARIO.items():
        pair = frame.loc[f"Task {i}: explain <b>{i}</b>"]
        for annotator, choice, both_bad, source in labels:
            if choice == "skip":
                skip = PageAnswer(annotator, f"skip-{i}-{annotator}", pair["pair_id"], "skip", "a")
                store.record_answers([skip])
            elif source == "ai":
                judge_label(store, pair["pair_id"], annotator, JUDGE_P_A[choice])
            else:
                human_label(store, pair["pair_id"], annotator, choice, both_bad=both_bad)
        choices = [c for _, c, bad, _ in labels if c not in (None, "skip")]
        mean = sum(choices) / len(choices) if choices else 0
        if mean:
            a, b = pair["text_a"], pair["text_b"]
            expected[pair["pair_id"]] = (labels[0][3], (a, b) if mean > 0 else (b, a))
    return store, expected


@pytest.mark.parametrize(("fmt", "name"), [("dpo-jsonl", "out.jsonl"), ("parquet", "out.parquet")])
def test_round_trip_same_preferences(labeled, tmp_path: Path, fmt: str, name: str) -> None:
    store, expected = labeled
    report = export_dataset(store, tmp_path / name, fmt, ExportOptions(source="all"))
    assert (report.rows, *left_out(report)) == (4, 2, 1, 1)
    assert not report.conversational
    assert "left out 2 ties, 1 both-bad, 1 skipped-only" in report.summary()
    with Store(tmp_path / "fresh.duckdb") as fresh:
        back = import_file(fresh, tmp_path / name)
        assert back.format == "chosen-rejected"
        assert back.added["pairs"] == back.added["labels"] == 4
        got = {pid: (chosen, rejected) for pid, (_, chosen, rejected) in preferences(fresh).items()}
    assert got == {pid: texts for pid, (_, texts) in expected.items()}


def test_source_filter_and_provenance(labeled, tmp_path: Path) -> None:
    store, expected = labeled
    report = export_dataset(
        store, tmp_path / "human.jsonl", "dpo-jsonl", ExportOptions(source="human")
    )
    assert (report.rows, *left_out(report)) == (3, 2, 1, 1)
    rows = [json.loads(line) for line in (tmp_path / "human.jsonl").read_text().splitlines()]
    assert {r["pair_id"] for r in rows} == {p for p, (src, _) in expected.items() if src == "human"}
    by_id = {r["pair_id"]: r for r in rows}
    for pid, (_, (chosen, rejected)) in expected.items():
        if pid in by_id:
            assert (by_id[pid]["chosen"], by_id[pid]["rejected"]) == (chosen, rejected)
            assert by_id[pid]["source"] == "human"
            models = (by_id[pid]["model_chosen"], by_id[pid]["model_rejected"])
            good_side, poor_side = models if chosen.startswith("good") else models[::-1]
            assert good_side == "big" and poor_side in ("small", None)
    three_votes = next(r for r in rows if r["n_labels"] == 3)
    assert three_votes["annotators"] == ["ann1", "ann2", "ann3"]
    assert three_votes["vote_margin"] == pytest.approx(2 / 3)
    assert "margin" not in three_votes, "TRL's RewardTrainer would read it as a reward margin"
    ai = export_dataset(store, tmp_path / "ai.parquet", "parquet", ExportOptions(source="ai"))
    assert (ai.rows, *left_out(ai)) == (1, 0, 0, 0)
    assert pd.read_parquet(tmp_path / "ai.parquet")["vote_margin"].tolist() == [2.0]
    with pytest.raises(ValueError, match="unknown .*source 'robots'"):
        export_dataset(store, tmp_path / "x.jsonl", "dpo-jsonl", ExportOptions(source="robots"))
    with pytest.raises(ValueError, match="unknown export format 'csv'"):
        export_dataset(store, tmp_path / "x.csv", "csv")


def test_jsonl_is_strict_json_with_nulls(labeled, tmp_path: Path) -> None:
    store, _ = labeled
    export_dataset(store, tmp_path / "out.jsonl", "dpo-jsonl")
    text = (tmp_path / "out.jsonl").read_text()
    assert "NaN" not in text
    rows = [
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
        for line in text.splitlines()
    ]
    assert {r["model_rejected"] for r in rows} >= {None}


def test_undo_changes_the_export(labeled, tmp_path: Path) -> None:
    store, expected = labeled
    pair_of = store.pairs_frame().set_index("prompt")["pair_id"]
    pair = {i: pair_of[f"Task {i}: explain <b>{i}</b>"] for i in (2, 6)}
    vote = {(r.annotator, r.pair_id): int(r.id) for r in store.label_events().itertuples()}
    # pair 6 loses its dissenting vote, then ann2's: ann1 alone, still A; pair 2 loses ann2's -1:
    # no longer a tie, A wins
    for annotator, i in (("ann3", 6), ("ann2", 6), ("ann2", 2)):
        assert store.undo_event(annotator, vote[(annotator, pair[i])]) == pair[i]
    report = export_dataset(
        store, tmp_path / "after.jsonl", "dpo-jsonl", ExportOptions(source="human")
    )
    assert (report.rows, report.dropped["ties"]) == (4, 1)


MULTI_TURN = [
    {
        "chosen": "\n\nHuman: I need a recipe.\n\nAssistant: What kind?\n\nHuman: Soup.\n\nAssistant: Try tomato soup.",
        "rejected": "\n\nHuman: I need a recipe.\n\nAssistant: What kind?\n\nHuman: Soup.\n\nAssistant: No.",
    },
    {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello! How can I help?",
        "rejected": "\n\nHuman: Hi\n\nAssistant: What.",
    },
]


@pytest.mark.parametrize(
    ("fmt", "name"), [("dpo-jsonl", "chat.jsonl"), ("parquet", "chat.parquet")]
)
def test_multi_turn_exports_chat_messages(
    store: Store, tmp_path: Path, fmt: str, name: str
) -> None:
    import_file(store, write_jsonl(tmp_path / "hh.jsonl", MULTI_TURN))
    original = preferences(store)
    report = export_dataset(store, tmp_path / name, fmt)
    assert report.conversational and report.rows == 2
    frame = (
        pd.read_parquet(tmp_path / name)
        if fmt == "parquet"
        else pd.read_json(tmp_path / name, lines=True)
    )
    for r in frame.itertuples():
        prompt = [dict(m) for m in r.prompt]
        assert prompt[-1]["role"] == "user" and prompt[0] == {
            "role": "user",
            "content": prompt[0]["content"],
        }
        assert [dict(m)["role"] for m in r.chosen] == ["assistant"]
        assert [dict(m)["role"] for m in r.rejected] == ["assistant"]
    with Store(tmp_path / "fresh.duckdb") as fresh:
        assert import_file(fresh, tmp_path / name).format == "chosen-rejected"
        assert preferences(fresh) == original
    turns = {len(t) for t, _, _ in original.values()}
    assert turns == {1, 3}


def test_chat_export_loads_as_a_hf_dataset(store: Store, tmp_path: Path) -> None:
    """TRL reads preference data through ``datasets``: the file must load with message columns."""
    datasets = pytest.importorskip("datasets")
    import_file(store, write_jsonl(tmp_path / "hh.jsonl", MULTI_TURN))
    export_dataset(store, tmp_path / "chat.jsonl", "dpo-jsonl")
    ds = datasets.load_dataset(
        "json",
        data_files=str(tmp_path / "chat.jsonl"),
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert ds.num_rows == 2
    for row in ds:
        assert all(
            set(m) == {"role", "content"} for m in row["prompt"] + row["chosen"] + row["rejected"]
        )


def test_empty_project_exports_nothing(store: Store, tmp_path: Path) -> None:
    report = export_dataset(store, tmp_path / "none.jsonl", "dpo-jsonl")
    assert (report.rows, *left_out(report)) == (0, 0, 0, 0)
    assert (tmp_path / "none.jsonl").read_text() == ""
