"""The Routing page in a real browser: with the human budget spent, the preview warns, and the plan
that would empty the human queue cannot be applied until the admin ticks the confirmation. The same
server shows the dark theme to a browser that prefers dark."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from annotate_app.ingest import import_file
from annotate_app.store import Store
from tests import load_driver as ld
from tests.seed import human_answer, human_labels

pytestmark = pytest.mark.e2e

if not ld.CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _project(folder: Path) -> Path:
    """12 pairs, a 25% budget (3 labels) with 4 given, and 8 pairs waiting for people."""
    rows = [
        {"prompt": f"Recipe question {i}?", "response_a": f"a{i}", "response_b": "b"}
        for i in range(12)
    ]
    data = folder / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = folder / "project.duckdb"
    with Store(db) as store:
        import_file(store, data)
        store.upsert_annotator("boss", role="admin")
        ids = store.pairs_frame()["pair_id"].tolist()
        human_labels(store, [human_answer(pair_id, "alice", 1) for pair_id in ids[:4]])
        queued = pd.DataFrame(
            {"pair_id": ids[4:], "route": "human", "priority": 1.0, "reason": "queued earlier",
             "propensity": 1.0, "explore": False}
        )  # fmt: skip
        store.save_routes(queued, "all-human", 1.0, {})
        store.set_setting("routing", {"budget": {"human_budget": 0.25}})
    return db


def test_overspend_warning_and_confirmation(tmp_path: Path) -> None:
    db = _project(tmp_path)
    proc, url = ld.start_server(db, tmp_path / "work")
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.wait_for_selector(ld.READY, timeout=30000)
            page.get_by_label("Name").fill("boss")
            page.get_by_role("button", name="Sign in").click()
            page.locator("[data-testid='stSidebarNav'] a", has_text="Routing").first.click()
            page.get_by_role("button", name="Preview routes").click()
            page.get_by_text("The human budget is spent").wait_for(timeout=60000)
            assert page.get_by_text("empties the human queue").is_visible()
            apply = page.get_by_role("button", name="Apply routes")
            assert apply.is_disabled()
            page.get_by_text("I understand: apply this plan and empty the human queue").click()
            sync_api.expect(apply).to_be_enabled(timeout=30000)
            apply.click()
            page.get_by_text("Applied routing run").wait_for(timeout=30000)
            # No forced theme: a browser that prefers dark gets the dark theme.
            dark = browser.new_page(color_scheme="dark")
            dark.goto(url)
            dark.wait_for_selector(ld.READY, timeout=30000)
            background = dark.evaluate(
                "getComputedStyle(document.querySelector(\"[data-testid='stApp']\"))"
                ".backgroundColor"
            )
            browser.close()
    finally:
        ld.stop(proc)
    channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert max(channels) < 80, f"the app stayed light in a dark browser: {background}"
    with Store(db) as store:
        assert store.route_mix()["human"] == 0
