"""The label page in a real browser: Debian's chromium, driven by Playwright, against `annotate serve`.

Labels are given with the keyboard only. The events are checked in DuckDB after the server stops (it
holds the file's lock), using what the browser showed on the left and right to prove the stored
choice refers to the pair's own A/B. Every response carries hostile HTML and a remote Markdown image
that must stay inert text and never be fetched. The outbox is tested against a server that goes
offline, gets duplicate sends, and is killed with SIGKILL and restarted in the middle of labeling.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from annotate_app.ingest import import_file
from annotate_app.labels.scale import stored_choice
from annotate_app.store import Store
from tests.load_driver import (
    CHROMIUM,
    LAUNCH_ARGS,
    READY,
    kill9,
    start_server,
    stop,
    watch_answers,
)

pytestmark = pytest.mark.e2e

MARKER = re.compile(r"MARK-(\d+)-([xy])")
BEACON_HOST = "beacon.example"
HOSTILE = (
    "<script>window.__pwned = 'script'</script>"
    "<img src=x onerror=\"window.__pwned = 'img'\">"
    "[click](javascript:window.__pwned='link')"
    "<iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>"
    " `<b onmouseover=\"window.__pwned='code'\">raw in code</b>` "
    f"![pixel](http://{BEACON_HOST}/beacon.png)"
)
PAIR = "[data-testid='pair']"

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _write_project(folder: Path, n: int = 8) -> Path:
    rows = [
        {
            "prompt": f"Question number {i}: which answer is better?",
            "response_a": f"MARK-{i}-x first answer. {HOSTILE}",
            "response_b": f"MARK-{i}-y second answer, with `code` and **bold**.\n\n"
            "```python\nprint('" + "a long line of code " * 30 + "')\n```",
        }
        for i in range(n)
    ]
    data = folder / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = folder / "project.duckdb"
    with Store(db) as store:
        import_file(store, data)
        store.upsert_annotator("alice")
    return db


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, object, Path]]:
    db = _write_project(tmp_path)
    proc, url = start_server(db, tmp_path / "work")
    try:
        yield url, db, proc, tmp_path
    finally:
        stop(proc)


def sign_in(page, url: str, name: str = "alice") -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=30000)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(PAIR, timeout=30000)


def shown(page) -> tuple[int, str]:
    """(pair number, which response is on the left) read from the painted pair, in DOM order."""
    text = page.locator(PAIR).inner_text()
    marks = MARKER.findall(text)
    assert len(marks) == 2 and marks[0][0] == marks[1][0], marks
    return int(marks[0][0]), marks[0][1]


def press(page, key: str) -> tuple[int, str]:
    """Press a key; the next pair is painted before the press returns (no server round trip)."""
    page.keyboard.press(key)
    return shown(page)


def pending(page) -> int:
    return page.evaluate("window.__labelPage.outbox.length")


def settle(page, timeout_ms: int = 20000) -> None:
    page.wait_for_function("window.__labelPage && window.__labelPage.outbox.length === 0",
                           timeout=timeout_ms)  # fmt: skip


def sign_in_again(page, name: str = "alice") -> None:
    """Fill the sign-in form if the page shows it (a restarted server knows no session)."""
    try:
        if page.get_by_label("Name").count():
            page.get_by_label("Name").fill(name, timeout=5000)
            page.get_by_role("button", name="Sign in").click(timeout=5000)
    except sync_api.Error:  # the page moved on under us: the next round looks again
        pass


def _pairs_by_number(store: Store) -> dict[int, dict]:
    pairs = {p["pair_id"]: p for p in store.pairs_frame().to_dict("records")}
    return {int(MARKER.search(p["text_a"])[1]): {**p, "id": pid} for pid, p in pairs.items()}


def test_keyboard_labeling_maps_choices_and_keeps_html_inert(served) -> None:
    url, db, proc, _ = served
    seen: list[tuple[str, tuple[int, str]]] = []
    fetched: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("request", lambda r: fetched.append(r.url) if BEACON_HOST in r.url else None)
        sign_in(page, url)
        now = shown(page)
        assert page.locator(PAIR).get_attribute("data-pair-id")
        assert "left in your queue" in page.get_by_test_id("label-progress").inner_text()

        # Hostile HTML shows as text and never runs; the Markdown image is a link, not an <img>.
        pair = page.locator(PAIR)
        assert "<script>window.__pwned = 'script'</script>" in pair.inner_text()
        assert "<b onmouseover=" in pair.locator("code", has_text="raw in code").inner_text()
        live = "script, img, iframe, a[href^='javascript'], [onerror], [onmouseover]"
        assert pair.locator(live).count() == 0
        assert pair.locator(f"a[href='http://{BEACON_HOST}/beacon.png']").count() == 1
        assert page.evaluate("window.__pwned") is None
        # The long code line scrolls sideways inside its block instead of being clipped.
        assert page.evaluate(
            "() => { const pre = document.querySelector(\"[data-testid='pair'] pre\");"
            " return pre.scrollWidth > pre.clientWidth && getComputedStyle(pre).overflowX"
            " === 'auto'; }"
        )
        # The choice keys are on screen at 1440x900, with Skip, Undo and the legend.
        for name in ("A much better", "Skip", "Undo last"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, name

        # Keys typed in the rationale box are text; Enter leaves the box and the next key answers.
        box = page.get_by_label("Rationale (optional)")
        box.click()
        box.type("1 2 s u")
        assert shown(page) == now and pending(page) == 0
        box.press("Enter")
        seen.append(("3", now))
        now = press(page, "3")  # tie, with the rationale
        assert seen[-1][1] != now

        for key in ("1", "4", "6"):  # A much better, B better, both bad
            seen.append((key, now))
            now = press(page, key)
        settle(page)
        undone = seen[-1][1]
        now = press(page, "u")
        assert now == undone, "undo brings back the same pair in the same order"
        seen.append(("2", now))
        now = press(page, "2")  # relabel the undone pair: A better
        # Undo of an answer not sent yet (both keys in one task): it never reaches the server.
        before = now
        page.evaluate(
            "() => { for (const key of ['5', 'u'])"
            " window.dispatchEvent(new KeyboardEvent('keydown', {key})); }"
        )
        assert shown(page) == before
        skipped = now
        now = press(page, "s")
        assert now != skipped
        flagged = now
        page.keyboard.press("f")
        page.get_by_label("Unsafe").check()
        page.get_by_label("Note").fill("insults the user")
        page.get_by_role("button", name="Flag and skip").click()
        assert shown(page) != flagged
        settle(page)
        assert page.get_by_test_id("save-status").inner_text() == "✓ Saved"
        for _ in range(3):  # several screens later: still nothing ran
            assert page.evaluate("window.__pwned") is None
        browser.close()
    stop(proc)
    assert fetched == [], "a remote image in the data was requested"

    with Store(db) as store:
        events = store.label_events("alice")
        by_number = _pairs_by_number(store)
        flags = store.open_flags()
    labels = events[events["kind"] == "label"].reset_index(drop=True)
    assert list(events["kind"]) == ["label"] * 4 + ["undo", "label", "skip", "skip"]
    shown_choice = {"3": 0, "1": 2, "4": -1, "6": None, "2": 1}
    for (key, (num, left)), row in zip(seen, labels.itertuples(), strict=True):
        pair = by_number[num]
        assert row.pair_id == pair["id"]
        left_side = "a" if f"MARK-{num}-{left}" in pair["text_a"] else "b"
        assert row.left_side == left_side
        if shown_choice[key] is None:
            assert row.both_bad and pd.isna(row.choice)
        else:
            assert not row.both_bad
            assert row.choice == stored_choice(shown_choice[key], left_side)
        assert row.latency_ms > 0
    undo = events[events["kind"] == "undo"].iloc[0]
    assert undo["undoes"] == events.iloc[3]["id"]
    assert events[events["kind"] == "skip"].iloc[0]["pair_id"] == by_number[skipped[0]]["id"]
    assert labels["rationale"][0] == "1 2 s u", "keys typed in the rationale box are text"
    assert labels["rationale"][1:].isna().all()
    assert list(flags["pair_id"]) == [by_number[flagged[0]]["id"]]
    assert list(flags["reason"]) == ["unsafe"] and flags["note"][0] == "insults the user"


def test_outbox_survives_offline_duplicates_and_kill_9(served) -> None:
    url, db, proc, tmp = served
    presses: list[int] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        watch = watch_answers(context)  # every answer and acknowledgement, across reloads
        page = context.new_page()
        routed: list[int] = []  # statuses of the label route's replies
        page.on(
            "response",
            lambda r: routed.append(r.status) if r.url.endswith("/annotate/label/sync") else None,
        )
        sign_in(page, url)

        # Offline for a few seconds: answers wait in the outbox, then all go through.
        context.set_offline(True)
        for key in ("1", "2"):
            presses.append(shown(page)[0])
            press(page, key)
        page.wait_for_timeout(2500)
        assert pending(page) == 2
        page.wait_for_function(
            "document.querySelector(\"[data-testid='save-status']\").textContent"
            ".startsWith('Offline')",
            timeout=10000,
        )
        context.set_offline(False)
        settle(page, 30000)

        # Duplicate sends of acknowledged answers through the route record nothing new.
        page.evaluate(
            "() => { const p = window.__labelPage;"
            " const items = p.history.map((h) => h.item);"
            " p.post({seq: ++p.seq, outbox: items, have: []});"
            " p.post({seq: ++p.seq, outbox: items.concat(items), have: []}); }"
        )
        page.wait_for_timeout(1500)

        # kill -9 with answers in flight, then a restart on the same port. The page's last run was
        # a full run, so Streamlit does not rerun it on reconnecting: the route's 401 for the
        # session it no longer knows is what sends the annotator back to sign in.
        for key in ("4", "5", "1"):
            presses.append(shown(page)[0])
            press(page, key)
        sent_before_kill = page.evaluate("window.__labelPage.history.map((h) => h.item)")
        kill9(proc)
        page.wait_for_timeout(500)
        presses.append(shown(page)[0])
        press(page, "2")  # answered while the server is dead
        assert pending(page) >= 1
        port = int(url.rsplit(":", 1)[1])
        proc, _ = start_server(db, tmp / "work", port=port)
        try:
            # The restarted server does not know the page's session: the page reloads (the outbox
            # kept in sessionStorage) and asks to sign in again.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and watch.pending:
                sign_in_again(page)
                page.wait_for_timeout(500)
            settle(page, 5000)
            # and through the Streamlit trigger, on the restarted server
            page.evaluate(
                "(items) => { const p = window.__labelPage;"
                " p.trigger({seq: ++p.seq, outbox: items, have: []}); }",
                sent_before_kill,
            )
            page.wait_for_timeout(1500)
            settle(page, 5000)
            browser.close()
        finally:
            stop(proc)

    with Store(db) as store:
        events = store.label_events("alice")
        by_number = _pairs_by_number(store)
    # offline sends never reach it, and a dead server's neither; the rest go through the route
    assert routed.count(200) >= 3, f"answers went through the label route: {routed}"
    assert 401 in routed, f"the restarted server refused the old session: {routed}"
    labels = events[events["kind"] == "label"]
    assert len(labels) == len(presses), "every press recorded, none twice"
    assert sorted(labels["pair_id"]) == sorted(by_number[n]["id"] for n in presses)
    assert not labels["pair_id"].duplicated().any()
    assert len(watch.made) == len(watch.acked) == len(presses), "every press acknowledged"
    assert sorted(watch.acked.values()) == sorted(labels["id"]), "acknowledged == recorded"


def test_phone_layout_and_progress_agree_with_the_pair_on_screen(served) -> None:
    url, db, proc, _ = served
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        sign_in(page, url)
        heads = page.locator(f"{PAIR} .lb-col")
        first, second = heads.nth(0).bounding_box(), heads.nth(1).bounding_box()
        assert second["y"] >= first["y"] + first["height"] - 1, "responses stack on a phone"
        for name in ("A much better", "Both bad", "Skip"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390, name
        progress = page.get_by_test_id("label-progress")
        seen = 0
        empty = page.get_by_test_id("label-empty")
        while True:
            # Tapping faster than the buffer refills shows "Loading", never "You're done".
            page.wait_for_function(
                "() => document.querySelector(\"[data-testid='pair']\") ||"
                " document.querySelector(\"[data-testid='label-empty']\").textContent"
                ".includes('done')",
                timeout=20000,
            )
            if not page.locator(PAIR).count():
                break
            left = int(re.search(r"(\d+) left", progress.inner_text())[1])
            assert left >= 1, "a pair is on screen, so at least one is left"
            page.get_by_role("button", name="A better").click()  # a tap, not a key
            seen += 1
            assert seen <= 8
            if not page.locator(PAIR).count():
                assert "done" not in empty.inner_text() or seen == 8
        settle(page)
        assert "0 left in your queue" in progress.inner_text()
        assert "You're done" in empty.inner_text()
        browser.close()
    stop(proc)
    with Store(db) as store:
        assert len(store.current_labels("human")) == seen == 8
