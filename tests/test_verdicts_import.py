"""Recorded verdicts: imported as a judge's AI labels (both orders), bad rows located, nothing half done."""

from __future__ import annotations

import json

import pytest

from annotate_app.cli import main
from annotate_app.ingest import IngestError, import_file
from annotate_app.ingest.formats import detect_format
from annotate_app.ingest.verdicts import pair_key, read_verdicts, recorded_verdicts

ROWS = [
    # A wins in both orders: consistent, p_a 1
    {"prompt": "Name a fruit.", "response_a": "Apple.", "response_b": "A chair.", "judge": "gpt",
     "winner": "a", "winner_swapped": "a", "rationale": "a fruit"},
    # the orders disagree (position bias): inconsistent, p_a 0.5
    {"prompt": "Name a colour.", "response_a": "Blue.", "response_b": "Loud.", "judge": "gpt",
     "winner": "a", "winner_swapped": "b"},
    # one order only, a probability, a message-list prompt
    {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
     "response_a": "5", "response_b": "4", "judge": "gpt", "p_a": 0.2},
]  # fmt: skip


def _write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _stored_p_a(store, judge: str) -> dict[str, float]:
    frame = store.judge_verdicts(judge)
    return dict(zip(frame["pair_id"], frame["p_a"], strict=True))


def test_verdicts_become_ai_labels_of_the_judge_with_pairs_added(store, tmp_path):
    path = tmp_path / "verdicts.jsonl"
    _write(path, ROWS)
    assert detect_format(ROWS[0]) == "verdicts"
    report = import_file(store, path)
    assert report.format == "verdicts" and report.added["pairs"] == 3
    assert report.added["verdicts"] == 3
    verdicts = read_verdicts(path)
    got = _stored_p_a(store, "gpt")
    frame = store.judge_verdicts("gpt").set_index("pair_id")
    for v, row in zip(verdicts, ROWS, strict=True):
        pair, flipped = pair_key(v)
        file_p = {"a": 1.0, "b": 0.0}.get(row.get("winner"), row.get("p_a"))
        if "winner_swapped" in row:
            file_p = (file_p + {"a": 1.0, "b": 0.0}[row["winner_swapped"]]) / 2
        # the stored A/B is the sorted response order: a flipped pair stores 1 - p
        assert got[pair] == pytest.approx(1 - file_p if flipped else file_p)
    consistent = frame["consistent"]
    assert bool(consistent[pair_key(verdicts[0])[0]])
    assert not consistent[pair_key(verdicts[1])[0]]
    assert frame.loc[pair_key(verdicts[0])[0], "rationale"] == "a fruit"
    # importing again adds nothing
    again = import_file(store, path)
    assert again.added["pairs"] == 0 and again.added["verdicts"] == 0


def test_bad_rows_are_located_and_nothing_is_written(store, tmp_path):
    bad = [
        ROWS[0],
        {**ROWS[1], "winner": "left"},
        {**ROWS[2], "p_a": 1.7},
        {k: v for k, v in ROWS[0].items() if k != "response_b"} | {"prompt": "x"},
        {**ROWS[0], "prompt": "Other?", "winner": "b", "p_a": 0.9},
    ]
    path = tmp_path / "bad.jsonl"
    _write(path, bad)
    with pytest.raises(IngestError) as info:
        import_file(store, path)
    messages = [str(e) for e in info.value.errors]
    assert "bad.jsonl:2: field 'winner': expected one of a, b, tie, got 'left'" in messages
    assert any(m.startswith("bad.jsonl:3: field 'p_a'") for m in messages)
    assert any(m.startswith("bad.jsonl:4: field 'response_b'") for m in messages)
    assert any(m.startswith("bad.jsonl:5: field 'p_a'") and "contradicts" in m for m in messages)
    assert store.stats()["pairs"] == 0 and store.judge_verdicts().empty


def test_cli_detects_and_forces_the_shape(tmp_path, capsys):
    path, db = tmp_path / "v.csv", tmp_path / "p.duckdb"
    path.write_text(
        "prompt,response_a,response_b,judge,winner\nHi?,Hello!,Go away.,gpt,a\n", encoding="utf-8"
    )
    assert main(["--db", str(db), "import", str(path)]) == 0
    assert "as verdicts" in capsys.readouterr().out
    assert main(["--db", str(db), "import", "--format", "verdicts", str(path)]) == 0


def test_recorded_verdicts_replay_for_the_simulation(tmp_path):
    import pandas as pd

    path = tmp_path / "v.jsonl"
    _write(path, ROWS)
    verdicts = read_verdicts(path)
    pairs = [pair_key(v)[0] for v in verdicts]
    frame = pd.DataFrame({"pair_id": [*pairs, "not-judged"]})
    name, out = recorded_verdicts(str(path), frame)
    assert name == "gpt (recorded)"
    assert list(out["pair_id"]) == [*pairs, "not-judged"]
    assert out["p_a"].isna().tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="no verdicts of judge"):
        recorded_verdicts(f"{path}#claude", frame)


def test_a_recorded_judge_is_read_like_a_live_one(store, tmp_path):
    """The judge report and routing's verdicts see the recorded judge, measured on gold labels."""
    from annotate_app.analytics.calibration import judge_report

    verdicts, gold = tmp_path / "v.jsonl", tmp_path / "gold.jsonl"
    rows = [
        {"prompt": f"Q{i}?", "response_a": f"right {i}", "response_b": f"wrong {i}",
         "judge": "gpt", "winner": "a" if i % 5 else "b"}
        for i in range(30)
    ]  # fmt: skip
    _write(verdicts, rows)
    _write(
        gold, [{"prompt": r["prompt"], "chosen": r["response_a"], "rejected": r["response_b"]}
               for r in rows]
    )  # fmt: skip
    import_file(store, verdicts)
    import_file(store, gold)
    report = judge_report(store)
    assert report["gpt"]["n"] == 30
    assert report["gpt"]["agreement"] == pytest.approx(24 / 30)
    assert set(store.routing_verdicts()["pair_id"]) == {
        pair_key(v)[0] for v in read_verdicts(verdicts)
    }
