"""Flag -> review -> adjudicate -> export, in a real browser against `annotate serve`.

An annotator flags the pair on the label page (F, a reason, a note); the admin then works in the
browser only: the Data page's export leaves the flagged pair out, the Review page shows the flag and
the two disagreeing labels, the admin saves a final label, and the downloaded export holds the pair
decided the admin's way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate_app import settings
from annotate_app.ingest import import_file
from annotate_app.store import Store
from tests import load_driver as ld
from tests.seed import human_answer, human_labels

pytestmark = pytest.mark.e2e

if not ld.CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

DISPUTED = "How should I store fresh basil?"


def _project(folder: Path) -> tuple[Path, str, str]:
    rows = [
        {"prompt": DISPUTED, "response_a": "In a glass of water.", "response_b": "In the freezer."},
        {"prompt": "Name a prime.", "response_a": "Seven.", "response_b": "Nine."},
    ]
    data = folder / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = folder / "project.duckdb"
    with Store(db) as store:
        import_file(store, data)
        store.upsert_annotator("boss", role="admin")
        store.upsert_annotator("carol")
        settings.update(store, overlap_k=3)  # the disputed pair is still in carol's queue
        ids = dict(zip(store.pairs_frame()["prompt"], store.pairs_frame()["pair_id"], strict=True))
        disputed = ids[DISPUTED]
        water_is_a = store.get_pair(disputed)["text_a"] == "In a glass of water."
        human_labels(
            store,
            [
                human_answer(disputed, "alice", 2 if water_is_a else -2, rationale="keeps best"),
                human_answer(disputed, "bob", -1 if water_is_a else 1, rationale="lasts longer"),
                human_answer(ids["Name a prime."], "alice", 1),
            ],
        )
    return db, disputed, "A" if water_is_a else "B"


def _sign_in(page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_selector(ld.READY, timeout=30000)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Sign in").click()


def _flag_on_the_label_page(browser, url: str) -> None:
    """carol skips to the disputed pair and flags it: F, a reason, a note, "Flag and skip"."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    _sign_in(page, url, "carol")
    pair = page.locator("[data-testid='pair']")
    pair.wait_for(timeout=30000)
    if DISPUTED not in pair.inner_text():
        page.keyboard.press("s")
    assert DISPUTED in pair.inner_text()
    page.keyboard.press("f")
    page.get_by_label("Can't judge").check()
    page.get_by_label("Note").fill("depends on how long")
    page.get_by_role("button", name="Flag and skip").click()
    page.wait_for_function(
        "window.__labelPage && window.__labelPage.outbox.length === 0", timeout=20000
    )
    page.close()


def _nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    page.wait_for_selector(ld.READY, timeout=30000)


def test_flag_review_adjudicate_export(tmp_path: Path) -> None:
    db, disputed, water_side = _project(tmp_path)
    proc, url = ld.start_server(db, tmp_path / "work")
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
            _flag_on_the_label_page(browser, url)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            _sign_in(page, url, "boss")
            page.wait_for_selector("[data-testid='stSidebarNav']", timeout=30000)

            _nav(page, "Data")
            page.get_by_text("left out 1 flagged").wait_for(timeout=30000)

            _nav(page, "Review")
            page.get_by_text("Flagged pairs (1)").wait_for(timeout=30000)
            # Tables draw on a canvas; their cells are in the DOM for screen readers, not visible.
            # The flag table and the labels table arrive in separate deltas: wait for each.
            for cell in ("depends on how long", "keeps best", "lasts longer"):
                page.get_by_text(cell).first.wait_for(state="attached", timeout=30000)
            page.get_by_text("In a glass of water.").first.wait_for()
            page.get_by_text(f"{water_side} better", exact=True).click()
            page.get_by_label("Why (kept with the label)").fill("water keeps it fresh")
            page.get_by_role("button", name="Save final label").click()
            page.get_by_text("Saved the final label").wait_for(timeout=30000)

            _nav(page, "Data")
            page.get_by_role("button", name="Prepare the download").click()
            with page.expect_download(timeout=30000) as download:
                page.get_by_role("button", name="Download preferences.jsonl").click()
            rows = [
                json.loads(line) for line in Path(download.value.path()).read_text().splitlines()
            ]
            browser.close()
    finally:
        ld.stop(proc)
    exported = {r["pair_id"]: r for r in rows}
    assert exported[disputed]["chosen"] == "In a glass of water."
    assert exported[disputed]["source"] == "adjudicated"
    with Store(db) as store:
        assert store.flagged_pair_ids() == set()
        flags = store.flag_history(disputed)
        assert list(flags["kind"]) == ["flag", "resolve"] and flags["annotator"][0] == "carol"
        assert (flags["reason"][0], flags["note"][0]) == ("cant_judge", "depends on how long")
        final = store.label_events().iloc[-1]
        assert (final["source"], final["rationale"]) == ("adjudicated", "water keeps it fresh")
