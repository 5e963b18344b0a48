"""The dashboard and leaderboard pages render on a populated project, for an admin only."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.store import Store
from annotate_app.ui import common
from tests.analytics_data import populate, register_version
from tests.seed import human_answer, human_labels, judge_labels


def _dashboard() -> None:
    from annotate_app.ui.views.dashboard import render

    render()


def _leaderboard() -> None:
    from annotate_app.ui.views.leaderboard import render

    render()


@pytest.fixture
def project(project_paths, tmp_path, monkeypatch):
    model = tmp_path / "rm"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with Store(project_paths) as store:
        populate(store, model_dir=str(model))
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    return project_paths


def _run(page, role: str = "admin") -> AppTest:
    common.store().upsert_annotator("boss", role=role)  # the app signs out unknown accounts
    at = AppTest.from_function(page, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role=role)
    return at.run()


def test_dashboard_renders_every_panel(project):
    at = _run(_dashboard)
    assert not at.exception, at.exception
    assert at.title[0].value == "Dashboard"
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Labels"] == "550"  # 360 human + 180 judge + 10 gold
    assert tiles["Human annotators"] == "3"
    charts = at.get("plotly_chart")
    assert len(charts) == 9
    specs = " ".join(c.proto.spec for c in charts)
    for title in ("Cohen", "Gold accuracy", "reliability", "Reward model", "Routing mix", "Spend"):
        assert title in specs
    assert "no reward model trained yet" not in specs  # the two versions are on the curve
    assert not at.get("download_button"), "downloads have one home: the Data page"


def test_dashboard_filter_by_annotator(project):
    at = _run(_dashboard)
    at.multiselect(key="dash-annotators").set_value(["carol"]).run()
    assert not at.exception, at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Labels"] == "60"
    assert tiles["Human annotators"] == "1"


def test_leaderboard_ranks_models_in_true_order(project):
    at = _run(_leaderboard)
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == ["atlas-70b", "breeze-13b", "comet-7b", "drift-1b"]
    assert len(at.get("plotly_chart")) == 3
    text = " ".join(m.value for m in at.markdown)
    assert "Judge `judge:test`" in text and "Humans" in text
    at.radio(key="lb-source").set_value("human").run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["battles"].sum() == 2 * 360


def test_pages_refuse_annotators(project):
    for page in (_dashboard, _leaderboard):
        at = _run(page, role="annotator")
        assert [e.value for e in at.error] == ["This page is for admins."]
        assert not at.get("plotly_chart")


def test_filters_match_a_recount_from_the_raw_log(project):
    from datetime import date

    from annotate_app.analytics.dashboard import load_dashboard
    from annotate_app.store.analytics import LabelFilter

    with Store(project) as store:
        events = store.label_events().merge(
            store.pairs_frame()[["pair_id", "category"]], on="pair_id"
        )
        flt = LabelFilter(
            start=date(2026, 11, 3),
            end=date(2026, 11, 6),
            sources=("human", "ai"),
            categories=("coding", "advice"),
        )
        data = load_dashboard(store, flt)
    day = events["created_at"].dt.date
    expected = events[
        (day >= flt.start)
        & (day <= flt.end)
        & events["source"].isin(flt.sources)
        & events["category"].isin(flt.categories)
    ]
    assert 0 < len(expected) < len(events)
    assert data.over_time["labels"].sum() == len(expected)
    by_annotator = expected.groupby("annotator").size().sort_index()
    got = data.throughput.set_index("annotator")["labels"].sort_index()
    assert got.to_dict() == by_annotator.to_dict()


def test_routing_panel_counts_routes(store, demo_dir):
    from annotate_app.analytics import figures
    from annotate_app.analytics.dashboard import load_dashboard, routing_summary
    from annotate_app.ingest import ImportOptions, import_file

    import_file(store, demo_dir / "responses.jsonl", ImportOptions())
    ids = store.pairs_frame()["pair_id"].tolist()[:10]
    routes = pd.DataFrame(
        {
            "pair_id": ids,
            "route": ["human"] * 5 + ["ai"] * 3 + ["hold"] * 2,
            "priority": 0.0,
            "reason": "test",
            "propensity": 1.0,
            "explore": False,
        }
    )
    store.save_routes(routes, "random", 0.5, {})
    assert routing_summary(store)["routes"] == {"human": 5, "ai": 3, "hold": 2}
    data = load_dashboard(store)
    assert data.routes.set_index("route")["pairs"].to_dict() == {"ai": 3, "hold": 2, "human": 5}
    pie = figures.routing_mix(data.routes).data[0]
    assert dict(zip(pie.labels, pie.values, strict=True)) == {"ai": 3, "hold": 2, "human": 5}
    # no routing settings saved: spend is priced by the defaults the Routing page shows too
    assert data.spend["human_labels"] == 0 and data.spend["cost_per_human_label"] == 1.0


def test_pages_render_on_a_project_without_labels(project_paths, demo_dir, monkeypatch):
    from annotate_app.ingest import ImportOptions, import_file

    with Store(project_paths) as store:
        import_file(store, demo_dir / "responses.jsonl", ImportOptions())
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    dash = _run(_dashboard)
    assert not dash.exception, dash.exception
    assert {m.label: m.value for m in dash.metric}["Labels"] == "0"
    board = _run(_leaderboard)
    assert not board.exception, board.exception
    assert "No battles yet" in board.info[0].value


def _judge() -> None:
    from annotate_app.ui.views.judge import render

    render()


def test_judge_page_reports_the_judge_against_humans(project):
    at = _run(_judge)
    assert not at.exception, at.exception
    text = " ".join(str(e.value) for e in at.markdown) + " ".join(
        str(df.value) for df in at.dataframe
    )
    assert "judge:test" in text
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "perfectly calibrated" in specs and "judge:test" in specs


def _small_project(paths, tmp_path, same_length: bool = True, n: int = 4) -> list[str]:
    """n pairs of two named models (prompts of one length), labeled A by alice and bob."""
    import json

    from annotate_app.ingest import ImportOptions, import_file

    rows = [
        {
            "prompt": f"Question {i:02d}?" if same_length else "Q" * (i + 1),
            "response_a": f"alpha {i}",
            "response_b": f"beta {i}",
            "model_a": "atlas",
            "model_b": "breeze",
        }
        for i in range(n)
    ]
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Store(paths) as store:
        import_file(store, source, ImportOptions())
        ids = store.pairs_frame()["pair_id"].tolist()
        human_labels(
            store,
            [
                human_answer(pair_id, name, 1, latency_ms=latency_ms)
                for pair_id in ids
                for name, latency_ms in (("alice", 3000), ("bob", 3100))
            ],
        )
    return ids


def _add_verdicts(paths, pair_ids: list[str], p_a: float) -> None:
    with Store(paths) as store:
        judge_labels(store, "judge:small", dict.fromkeys(pair_ids, p_a), latency_s=0.9)


@pytest.fixture
def small_app(project_paths, monkeypatch):
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    yield project_paths
    import streamlit as st

    st.cache_resource.clear()


def test_judge_page_after_one_verdict_on_prompts_of_one_length(small_app, tmp_path):
    ids = _small_project(small_app, tmp_path)
    _add_verdicts(small_app, ids[:1], 0.8)
    at = _run(_judge)
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input][:1] == ["Judge"]  # the "Run a judge" form is there
    lengths = [df.value for df in at.dataframe if "prompt_chars" in df.value.columns]
    assert lengths and lengths[0]["prompt_chars"].tolist() == ["12 chars"]
    assert lengths[0]["n"].tolist() == [1]


def test_judge_page_says_one_thing_when_nothing_is_routed(small_app, tmp_path):
    _small_project(small_app, tmp_path)
    at = _run(_judge)
    assert [i.value for i in at.info] == ["No AI verdicts yet: start a judge above."]
    at.button[0].click().run()  # "Start judge job" with the default: routed pairs
    assert not at.exception, at.exception
    messages = [i.value for i in at.info]
    assert len(messages) == 1 and messages[0].startswith("No pair is routed to the judge yet")


def _chart(at: AppTest, title: str) -> dict:
    import json

    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if title in str(spec["layout"].get("title", {}).get("text", "")):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def test_dashboard_on_a_small_project(small_app, tmp_path):
    """One model version, a judge that is always wrong, no routing settings, two annotators a
    tenth of a second apart."""
    ids = _small_project(small_app, tmp_path)
    _add_verdicts(small_app, ids, 0.2)
    model = tmp_path / "rm"
    model.mkdir()
    with Store(small_app) as store:
        register_version(store, "rm-1", str(model), n_labels=8, heldout_accuracy=0.5, log_loss=0.69)
    at = _run(_dashboard)
    assert not at.exception, at.exception
    curve = _chart(at, "Reward model")
    assert len(curve["data"]) == 2 and curve["layout"]["yaxis"]["range"] == [0, 1]
    assert curve["layout"]["xaxis"]["rangemode"] == "tozero"
    judge = _chart(at, "Judge agreement")
    assert judge["data"][0]["text"] == ["0.00"]  # an agreement of 0 is printed on its bar
    spend = _chart(at, "Spend")
    assert spend["data"], "spend is priced by the default costs, as on the Routing page"
    throughput = _chart(at, "throughput")
    assert throughput["layout"]["yaxis"]["rangemode"] == "tozero"
    assert throughput["layout"]["yaxis2"]["rangemode"] == "tozero"


def test_learning_curve_says_why_it_is_empty():
    from annotate_app.analytics import figures

    versions = pd.DataFrame(
        {"id": ["rm-1"], "n_labels": [8], "heldout_accuracy": [None], "log_loss": [None]}
    )
    fig = figures.learning_curve(versions)
    assert not fig.data
    assert (
        "1 model version(s) trained, none with held-out figures" in fig.layout.annotations[0].text
    )
