"""The label page in a real browser: Debian's chromium, driven by Playwright, against `annotate serve`.

Labels are given with the keyboard only. The events are checked in DuckDB after the server stops (it
holds the file's lock), using what the browser showed on the left and right to prove the stored
choice refers to the pair's own A/B. Every response carries hostile HTML that must stay inert text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from annotate_app.annotation.assignment import stored_choice
from annotate_app.ingest import import_file
from annotate_app.store import Store
from tests.load_driver import CHROMIUM, LAUNCH_ARGS, READY, stop

pytestmark = pytest.mark.e2e

MARKER = re.compile(r"MARK-(\d+)-([xy])")
HOSTILE = (
    "<script>window.__pwned = 'script'</script>"
    "<img src=x onerror=\"window.__pwned = 'img'\">"
    "[click](javascript:window.__pwned='link')"
    "<iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>"
)

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_project(folder: Path) -> Path:
    rows = [
        {
            "prompt": f"Question number {i}: which answer is better?",
            "response_a": f"MARK-{i}-x first answer. {HOSTILE}",
            "response_b": f"MARK-{i}-y second answer, with `code` and **bold**.",
        }
        for i in range(6)
    ]
    data = folder / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = folder / "project.duckdb"
    with Store(db) as store:
        import_file(store, data)
        store.upsert_annotator("alice")
    return db


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen]]:
    db = _write_project(tmp_path)
    port = _free_port()
    annotate = shutil.which("annotate", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen(
        [annotate, "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "ANNOTATE_WORK_DIR": str(tmp_path / "work")},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                proc.kill()
                pytest.fail(f"annotate serve did not start:\n{out}")
            time.sleep(0.2)
    try:
        yield url, db, proc
    finally:
        stop(proc)


def shown(page) -> tuple[int, str]:
    """(pair number, which response is on the left) read from the page's text, in DOM order."""
    text = page.locator("[data-testid='stMain']").inner_text()
    marks = MARKER.findall(text)
    assert len(marks) == 2 and marks[0][0] == marks[1][0], marks
    return int(marks[0][0]), marks[0][1]


def press(page, key: str, before: tuple[int, str] | None) -> tuple[int, str]:
    """Press a key and wait until a different pair (or, for undo, any settled page) is shown."""
    page.keyboard.press(key)
    if before is not None:
        page.wait_for_function(
            "b => !document.querySelector(\"[data-testid='stMain']\").innerText.includes(b)",
            arg=f"MARK-{before[0]}-",
            timeout=15000,
        )
    page.wait_for_selector(READY, timeout=15000)
    return shown(page)


def test_keyboard_labeling_maps_choices_and_keeps_html_inert(served) -> None:
    url, db, proc = served
    seen: list[tuple[str, tuple[int, str]]] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector(READY, timeout=30000)
        page.get_by_label("Name").fill("alice")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Response A", exact=True).wait_for(timeout=30000)
        page.wait_for_selector(READY, timeout=15000)
        now = shown(page)

        # Hostile HTML shows as text and never runs.
        main = page.locator("[data-testid='stMain']")
        assert "<script>window.__pwned = 'script'</script>" in main.inner_text()
        assert page.evaluate("window.__pwned") is None
        assert main.locator("script, img[onerror], iframe, a[href^='javascript']").count() == 0

        # Typing digits in the rationale box writes text; it must not answer the pair.
        box = page.get_by_label("Rationale (optional)")
        box.fill("")
        box.type("1 2 s u")
        page.wait_for_timeout(300)
        assert shown(page) == now
        box.press("Enter")
        page.wait_for_selector(READY, timeout=15000)
        page.evaluate("document.activeElement.blur()")

        for key in ("1", "4", "6"):  # A much better, B better, both bad
            seen.append((key, now))
            now = press(page, key, now)
        undone = seen[-1][1]
        now = press(page, "u", None)
        page.wait_for_function(
            "m => document.querySelector(\"[data-testid='stMain']\").innerText.includes(m)",
            arg=f"MARK-{undone[0]}-",
            timeout=15000,
        )
        now = shown(page)
        assert now == undone, "undo brings back the same pair in the same order"
        seen.append(("2", now))
        now = press(page, "2", now)  # relabel the undone pair: A better
        skipped = now
        now = press(page, "s", now)
        assert now != skipped
        for _ in range(3):  # several screens later: still nothing ran
            assert page.evaluate("window.__pwned") is None
        assert "<img src=x onerror=" in main.inner_text()
        browser.close()
    stop(proc)

    with Store(db) as store:
        events = store.label_events("alice")
        pairs = {p["pair_id"]: p for p in store.pairs_frame().to_dict("records")}
    number = {int(MARKER.search(p["text_a"])[1]): pid for pid, p in pairs.items()}
    labels = events[events["kind"] == "label"].reset_index(drop=True)
    assert list(events["kind"]) == ["label", "label", "label", "undo", "label", "skip"]
    shown_choice = {"1": 2, "4": -1, "6": None, "2": 1}
    for (key, (num, left)), row in zip(seen, labels.itertuples(), strict=True):
        pair = pairs[number[num]]
        assert row.pair_id == number[num]
        # The left marker tells which stored response was on the left: x is in response_a's
        # text only when the import kept it as A, so compare against the stored texts.
        left_side = "a" if f"MARK-{num}-{left}" in pair["text_a"] else "b"
        assert row.left_side == left_side
        if shown_choice[key] is None:
            assert row.both_bad and pd.isna(row.choice)
        else:
            assert not row.both_bad
            assert row.choice == stored_choice(shown_choice[key], left_side)
        assert row.latency_ms > 0
    undo = events[events["kind"] == "undo"].iloc[0]
    assert undo["undoes"] == events.iloc[2]["id"]
    skip = events[events["kind"] == "skip"].iloc[0]
    assert skip["pair_id"] == number[skipped[0]]
    assert labels["rationale"][0] == "1 2 s u", "keys typed in the rationale box are text"
    assert labels["rationale"][1:].isna().all()
