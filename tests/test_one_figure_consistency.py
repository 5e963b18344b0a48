"""One project, every place a figure shows: the CLI (``stats --json``, ``judge-report --json``,
``leaderboard --json``) and the pages (AppTest) report the same gold accuracy, judge agreement,
spend and label counts, because each figure has one function."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.cli import main
from annotate_app.store import Store
from tests.analytics_data import JUDGE, populate
from tests.seed import human_label

UI_DIR = Path(__file__).resolve().parents[1] / "annotate_app" / "ui"


def _no_nan(token: str):
    raise AssertionError(f"{token} is not JSON: every command prints strict JSON")


def _render(module: str) -> None:
    import importlib

    importlib.import_module(module).render()


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    """Everything each surface showed, read once: the CLI first (it opens the file itself), then the
    pages through the app's shared Store."""
    from annotate_app.config import ProjectPaths

    folder = tmp_path_factory.mktemp("one-figure")
    paths = ProjectPaths(db=folder / "project.duckdb", work_dir=folder / "work")
    model = folder / "rm"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with Store(paths) as store:
        populate(store, model_dir=str(model))
        # alice changes her mind once: two submits paid for, one label in force
        first = store.current_labels("human").query("annotator == 'alice'").iloc[0]
        human_label(store, first["pair_id"], "alice", -int(first["choice"]) or 1)
        for name in ("alice", "bob", "carol"):
            store.upsert_annotator(name)
        store.upsert_annotator("boss", role="admin")
    out: dict = {"cli": {}, "page": {}}
    mp = pytest.MonkeyPatch()
    mp.setenv("ANNOTATE_DB", str(paths.db))
    mp.setenv("ANNOTATE_WORK_DIR", str(paths.work_dir))
    try:
        import contextlib
        import io

        for name, argv in (
            ("stats", ["stats", "--json"]),
            ("judge", ["judge-report", "--json"]),
            ("leaderboard", ["leaderboard", "--json", "--rounds", "20"]),
        ):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                assert main(["--db", str(paths.db), *argv]) == 0
            out["cli"][name] = json.loads(buffer.getvalue(), parse_constant=_no_nan)
        for name, target in (
            ("dashboard", "annotate_app.ui.views.dashboard"),
            ("judge", "annotate_app.ui.views.judge"),
            ("routing", "annotate_app.ui.views.routing"),
            ("leaderboard", "annotate_app.ui.views.leaderboard"),
            ("annotators", None),
        ):
            if target is None:
                at = AppTest.from_file(str(UI_DIR / "views" / "annotators.py"), default_timeout=60)
            else:
                at = AppTest.from_function(_render, args=(target,), default_timeout=60)
            at.session_state["account"] = Account(name="boss", role="admin")
            at.run()
            assert not at.exception, (name, at.exception)
            out["page"][name] = at
        yield out
    finally:
        st.cache_resource.clear()
        mp.undo()


def _chart(at: AppTest, title: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if title in str(spec["layout"].get("title", {}).get("text", "")):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def _values(array) -> list:
    """A plotly JSON array: a plain list, or a typed array ({"dtype", "bdata"} in base64)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _table_with(at: AppTest, column: str):
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def test_gold_accuracy_is_one_figure(figures):
    cli = {
        g["annotator"]: g["accuracy"] for g in figures["cli"]["stats"]["agreement"]["gold_accuracy"]
    }
    assert set(cli) == {"alice", "bob", "carol"} and 0 < min(cli.values()) < 1
    bars = _chart(figures["page"]["dashboard"], "Gold accuracy")["data"][0]
    assert dict(zip(_values(bars["x"]), _values(bars["y"]), strict=True)) == pytest.approx(cli)
    table = _table_with(figures["page"]["annotators"], "gold_accuracy").set_index("name")
    assert table.loc[list(cli), "gold_accuracy"].to_dict() == pytest.approx(cli)


def test_judge_agreement_is_one_figure(figures):
    stats = {j["judge"]: j for j in figures["cli"]["stats"]["agreement"]["judges"]}
    report = figures["cli"]["judge"]
    assert list(stats) == list(report) == [JUDGE]
    agreement = stats[JUDGE]["agreement"]
    assert 0.5 < agreement < 1
    assert report[JUDGE]["agreement"] == pytest.approx(agreement)
    assert report[JUDGE]["n"] == stats[JUDGE]["n_pairs"]
    assert report[JUDGE]["ece"] == pytest.approx(stats[JUDGE]["ece"])
    page = _table_with(figures["page"]["judge"], "pairs with human labels").set_index("judge")
    assert page.loc[JUDGE, "agreement"] == pytest.approx(agreement)
    assert page.loc[JUDGE, "ECE"] == pytest.approx(stats[JUDGE]["ece"])
    dash = _table_with(figures["page"]["dashboard"], "kappa").set_index("judge")
    assert dash.loc[JUDGE, "agreement"] == pytest.approx(agreement)
    bars = _chart(figures["page"]["dashboard"], "Judge agreement")["data"][0]
    assert _values(bars["y"]) == pytest.approx([agreement])


def test_spend_is_one_figure(figures):
    spend = figures["cli"]["stats"]["routing"]["spend"]
    # 361 human submits (360 in force), 180 judge verdicts, priced at 0.4 and the default 0.002
    assert (spend["human_labels"], spend["judge_calls"]) == (361, 180)
    assert figures["cli"]["stats"]["labels"]["human"] == 360
    assert spend["total_cost"] == pytest.approx(361 * 0.4 + 180 * 0.002)
    tiles = {m.label: m.value for m in figures["page"]["routing"].metric}
    assert tiles["Human labels"] == f"{spend['human_labels']} / {spend['budget_labels']}"
    assert tiles["Judge verdicts"] == str(spend["judge_calls"])
    assert tiles["Total cost"] == f"{spend['total_cost']:.2f}"
    chart = _chart(figures["page"]["dashboard"], "Spend")["data"]
    assert _values(chart[0]["y"]) == pytest.approx([spend["human_cost"], spend["judge_cost"]])
    assert _values(chart[1]["y"]) == [spend["human_labels"], spend["budget_labels"]]


def test_label_counts_are_one_figure(figures):
    labels = figures["cli"]["stats"]["labels"]
    tiles = {m.label: m.value for m in figures["page"]["dashboard"].metric}
    assert tiles["Labels"] == str(sum(labels.values())) == "550"
    cli_board = {r["model"]: r["battles"] for r in figures["cli"]["leaderboard"]["ratings"]}
    page_board = _table_with(figures["page"]["leaderboard"], "battles").set_index("model")
    assert page_board["battles"].to_dict() == cli_board
    assert sum(cli_board.values()) == 2 * sum(labels.values())  # a battle has two sides
