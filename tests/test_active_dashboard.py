"""The Dashboard shows which strategy `auto` follows, with its interval, from the project's rounds."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.active.bandit import BanditConfig
from annotate_app.store import Store
from annotate_app.ui import common


def _dashboard() -> None:
    from annotate_app.ui.views.dashboard import render

    render()


def test_dashboard_shows_the_auto_leader(project_paths, monkeypatch) -> None:
    arms = BanditConfig().arms
    with Store(project_paths) as store:
        # a planted history: bald chooses every third batch, and its batches gain clearly more;
        # each round's gain is settled when the next round is recorded, as in the app
        previous_gain = None
        for i in range(61):
            arm = "bald" if i % 3 == 0 else "random"
            probs = {a: (0.76 if a == "random" else 0.06) for a in arms}
            update = (i, previous_gain) if i else None
            store.add_acquisition_round("v1", arm, probs, 0.0, [f"p{i}"], gain_update=update)
            previous_gain = 0.02 if arm == "bald" else 0.001
        store.upsert_annotator("boss", role="admin")
    monkeypatch.setenv("ANNOTATE_DB", str(project_paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(project_paths.work_dir))
    common.store().upsert_annotator("boss", role="admin")
    at = AppTest.from_function(_dashboard, default_timeout=60)
    at.session_state["account"] = Account(name="boss", role="admin")
    at.run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "auto follows bald" in captions and "95% interval" in captions
    tables = [d.value for d in at.dataframe if "gain vs random" in d.value.columns]
    assert len(tables) == 1
    table = tables[0]
    assert set(table["strategy"]) == set(arms)
    assert table.loc[table["leading"], "strategy"].tolist() == ["bald"]
    assert table["explored"].all()  # the other strategies never chose a batch: none proven worse
