"""Labeling latency: what an annotator feels, and what the server does per answer.

1. Browser: key press -> next pair painted, in Debian's chromium driven by Playwright, against
   `annotate serve` on a project with 2k and with 100k open pairs. The clock starts in the page at
   the keydown event and stops on the first animation frame after the new pair's text is in the
   DOM. Every press must produce exactly one label event (checked in DuckDB after the server stops).
2. Server: submit -> next pair ready (submit + next_assignment + progress, the work of one answer),
   with 1 and with --concurrent (default 16) annotators answering at once on one Store, as the
   app's sessions do.

Run: .venv/bin/python bench/bench_label_latency.py [--sizes 2000 100000] [--presses 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from annotate_app.store import Store

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the shared browser settings in tests/
from tests import load_driver as ld  # noqa: E402
from tests.load_driver import CHROMIUM, LAUNCH_ARGS, READY  # noqa: E402

WARMUP = 5
KEYS = ("1", "2", "4", "5")

# Resolves with ms from the keydown to the first frame after the shown pair changed.
ARM = """prev => {
  const main = document.querySelector("[data-testid='stMain']");
  window.__lat = new Promise((resolve) => {
    let t0 = null;
    window.addEventListener('keydown', () => { t0 = performance.now(); },
                            {capture: true, once: true});
    const check = () => {
      const m = main.textContent.match(/PAIR-(\\d+)-/);
      if (t0 !== null && m && m[1] !== prev) {
        obs.disconnect();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      }
    };
    const obs = new MutationObserver(check);
    obs.observe(main, {subtree: true, childList: true, characterData: true});
  });
}"""


FLOOR_APP = """
import streamlit as st

st.session_state.setdefault("i", 0)


def bump():
    st.session_state.i += 1


@st.fragment
def panel():
    st.markdown(f"PAIR-{st.session_state.i}- text")
    for key in ("1", "2", "4", "5"):
        st.button(f"choice {key}", key=key, shortcut=key, on_click=bump)


panel()
"""


def build_project(folder: Path, n: int) -> Path:
    return ld.build_project(folder / f"p{n}.duckdb", n, [f"ann{k}" for k in range(9)], sentences=12)


def serve(db: Path, work: Path) -> tuple[subprocess.Popen, str]:
    return ld.start_server(db, work)


def serve_floor(folder: Path) -> tuple[subprocess.Popen, str]:
    """The floor: a bare Streamlit fragment that swaps one line of text on the same key press."""
    app = folder / "floor_app.py"
    app.write_text(FLOOR_APP, encoding="utf-8")
    port = ld.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc, ld.wait_healthy(proc, f"http://127.0.0.1:{port}")


def press_and_time(page, presses: int) -> tuple[list[float], int]:
    times: list[float] = []
    lost = 0
    for i in range(WARMUP + presses):
        page.wait_for_selector(READY, timeout=30000)
        text = page.locator("[data-testid='stMain']").text_content()
        prev = text.split("PAIR-", 1)[1].split("-", 1)[0]
        page.evaluate(ARM, prev)
        page.keyboard.press(KEYS[i % len(KEYS)])
        ms = page.evaluate(
            "Promise.race([window.__lat, new Promise(r => setTimeout(() => r(-1), 5000))])"
        )
        if ms < 0:
            lost += 1
        elif i >= WARMUP:
            times.append(ms)
    return times, lost


def floor_run(folder: Path, presses: int) -> dict:
    proc, url = serve_floor(folder)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_text("PAIR-0-").wait_for(timeout=60000)
            times, lost = press_and_time(page, presses)
            browser.close()
    finally:
        ld.stop(proc)
    return {
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "n": len(times),
        "lost": lost,
    }


def browser_run(db: Path, work: Path, presses: int) -> dict:
    proc, url = serve(db, work)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector(READY, timeout=60000)
            page.get_by_label("Name").fill("ann0")
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("Response A", exact=True).wait_for(timeout=60000)
            page.wait_for_selector(READY, timeout=30000)
            times, lost = press_and_time(page, presses)
            browser.close()
    finally:
        ld.stop(proc)
    with Store(db) as store:
        events = store.label_events("ann0")
    return {
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "n": len(times),
        "lost": lost,
        "events": int((events["kind"] == "label").sum()),
        "pressed": WARMUP + presses,
    }


def server_run(db: Path, annotators: int, answers: int) -> dict:
    """Per answer: submit, then the next pair and the progress counts, as the label fragment does."""
    with Store(db) as store:
        names = [f"ann{k + 1}" for k in range(annotators)]
        times, wall = ld.answer_times(store, names, answers)
        labeled = store.current_labels("human")
    dupes = int(labeled.duplicated("pair_id").sum())
    return {
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "n": len(times),
        "per_s": len(times) / wall,
        "dupes": dupes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 100000])
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--answers", type=int, default=40, help="server run: answers per annotator")
    parser.add_argument("--concurrent", type=int, default=16, help="server run: annotators at once")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-label-") as tmp:
        folder = Path(tmp)
        floor = floor_run(folder, args.presses)
        print(f"bare Streamlit fragment: {floor}", flush=True)
        for n in args.sizes:
            t0 = time.perf_counter()
            db = build_project(folder, n)
            print(f"built {n} pairs in {time.perf_counter() - t0:.1f}s", flush=True)
            b = browser_run(db, folder / "work", args.presses)
            print(f"browser {n}: {b}", flush=True)
            s1 = server_run(db, 1, args.answers)
            s8 = server_run(db, args.concurrent, args.answers)
            print(f"server {n}: 1 annotator {s1}; {args.concurrent} annotators {s8}", flush=True)
            rows.append((n, b, s1, s8))
    print()
    print(
        "| open pairs | key->painted median | p95 | presses | lost | label events / presses "
        f"| submit->next 1 ann. median / p95 | {args.concurrent} ann. median / p95 "
        f"| {args.concurrent} ann. answers/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, b, s1, s8 in rows:
        print(
            f"| {n:,} | {b['median']:.0f} ms | {b['p95']:.0f} ms | {b['n']} | {b['lost']} "
            f"| {b['events']} / {b['pressed']} | {s1['median']:.0f} / {s1['p95']:.0f} ms "
            f"| {s8['median']:.0f} / {s8['p95']:.0f} ms | {s8['per_s']:.0f} |"
        )
    print(
        f"| bare Streamlit fragment (floor, no DB) | {floor['median']:.0f} ms "
        f"| {floor['p95']:.0f} ms | {floor['n']} | {floor['lost']} | - | - | - | - |"
    )
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        "feedloop 1.5.3 (quoted in issue 3, same machine, same method): 2k 34 ms median / 44 ms "
        "p95; 100k 156 ms median / ~300 ms p95, 2 of 40 presses lost."
    )


if __name__ == "__main__":
    main()
