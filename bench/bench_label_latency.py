"""Labeling latency: what an annotator feels, what the server spends per answer, and whether any
answer is lost or doubled when the server is killed in the middle.

All in one run, in Debian's chromium driven by Playwright, against `annotate serve` on 127.0.0.1:

1. Floor: a bare Streamlit fragment that swaps one line of text on the same keys (Streamlit's own
   round trip, no database). Key press -> new text painted, and the server's CPU per rerun.
2. The label page on a project with 2k and with 100k open pairs, each answered both ways the page
   can send: through the label route (``POST /annotate/label/sync``, no Streamlit rerun; the page's
   normal way) and through the component's Streamlit trigger (the fallback; the browser is made to
   refuse the route with a 404, so the page falls back as it would without the route). Key press
   -> next pair painted, and the server's CPU per answer (each answer acknowledged, and the rerun finished, PAUSE_MS before
   the next press, so every answer is its own sync; the floor waits the same way). The probe is the same for both: the clock starts at the keydown event's timestamp
   and stops on the first animation frame after the shown pair changed (`[data-testid=pair]`'s
   `data-pair-id` on the label page). Every press must give exactly one label event (DuckDB is read
   after the server stops).
3. Durability: --burst fast presses (no waiting for acknowledgements), the server killed with
   SIGKILL halfway and restarted on the same port; the page resends its outbox, and as the new
   server does not know its session, reloads and signs in again. After the server stops: label
   events == answers the page stored in its outbox == acknowledged answers, and no pair twice (a
   press that lands while the page reloads is no answer, so presses may exceed answers).

CPU is the server process's user+system time (/proc) over the presses, with and without its idle
use over the same wall time (the app's service thread polls jobs and writes leases). The floor runs
with ``runner.postScriptGC=false``, as ``annotate serve`` does, so the two are like for like. The
accounts are made with ``annotate user add NAME --role annotator --password-stdin``.

Run: .venv/bin/python bench/bench_label_latency.py [--sizes 2000 100000] [--presses 60] [--burst 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from annotate_app.store import Store

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the shared browser settings in tests/
from tests import load_driver as ld  # noqa: E402
from tests.load_driver import CHROMIUM, LAUNCH_ARGS, READY  # noqa: E402

WARMUP = 5
PAUSE_MS = 150  # after each answer has settled, as a person's next press comes later still
KEYS = ("1", "2", "4", "5")
PAIR = "[data-testid='pair']"
SYNC = "/annotate/label/sync"

# Resolves with ms from the keydown's timestamp to the first frame after the shown pair changed.
# `read` is an expression giving the shown pair's marker.
ARM = """([prev, read]) => {
  const shown = new Function('return ' + read);
  window.__lat = new Promise((resolve) => {
    let t0 = null;
    window.addEventListener('keydown', (e) => { t0 = e.timeStamp; check(); },
                            {capture: true, once: true});
    const check = () => {
      if (t0 !== null && shown() !== prev) {
        obs.disconnect();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      }
    };
    const obs = new MutationObserver(check);
    obs.observe(document.body, {subtree: true, childList: true, characterData: true,
                                attributes: true});
  });
}"""
FLOOR_READ = (
    "(document.querySelector(\"[data-testid='stMain']\").textContent"
    ".match(/PAIR-(\\d+)-/) || [])[1]"
)
APP_READ = "(document.querySelector(\"[data-testid='pair']\") || {dataset: {}}).dataset.pairId"

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


def idle_cpu_rate(pid: int, seconds: float = 4.0) -> float:
    """CPU seconds per wall second the server uses with nobody labeling."""
    c0, t0 = ld.cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (ld.cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def timed_presses(
    page, presses: int, read: str, settle, on_start=None
) -> tuple[list[float], int, float, float]:
    """(ms per press after the warm-up, presses lost, CPU s and wall s over the measured presses);
    ``on_start`` is called when the measured presses begin."""
    times: list[float] = []
    lost = 0
    cpu0 = wall0 = 0.0
    for i in range(WARMUP + presses):
        settle()
        if i == WARMUP:
            cpu0, wall0 = ld.cpu_seconds(page.server_pid), time.monotonic()
            if on_start is not None:
                on_start()
        prev = page.evaluate(f"() => {read}")
        page.evaluate(ARM, [prev, read])
        page.keyboard.press(KEYS[i % len(KEYS)])
        ms = page.evaluate(
            "Promise.race([window.__lat, new Promise(r => setTimeout(() => r(-1), 5000))])"
        )
        if ms < 0:
            lost += 1
        elif i >= WARMUP:
            times.append(ms)
    settle()
    return times, lost, ld.cpu_seconds(page.server_pid) - cpu0, time.monotonic() - wall0


class _Page:
    """A Playwright page that knows its server's pid (for the CPU figures)."""

    def __init__(self, page, server_pid: int) -> None:
        self._page = page
        self.server_pid = server_pid

    def __getattr__(self, name):
        return getattr(self._page, name)


def _summary(times: list[float], lost: int, cpu_s: float, wall_s: float, idle: float, n: int):
    return {
        "median": statistics.median(times),
        "p95": ld.pct(times, 0.95),
        "n": len(times),
        "lost": lost,
        "cpu_ms": cpu_s * 1000 / n,
        "cpu_ms_net": max(0.0, cpu_s - idle * wall_s) * 1000 / n,
    }


def floor_run(folder: Path, presses: int) -> dict:
    proc, url = ld.start_floor(folder)
    try:
        idle = idle_cpu_rate(proc.pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = _Page(browser.new_page(viewport={"width": 1400, "height": 1000}), proc.pid)
            page.goto(url)
            page.get_by_text("PAIR-0-").wait_for(timeout=60000)

            def settle() -> None:
                page.wait_for_selector(READY, timeout=30000)
                page.wait_for_timeout(PAUSE_MS)

            times, lost, cpu, wall = timed_presses(page, presses, FLOOR_READ, settle)
            browser.close()
    finally:
        ld.stop(proc)
    return _summary(times, lost, cpu, wall, idle, presses)


def sign_in(page, name: str) -> None:
    page.wait_for_selector(READY, timeout=60000)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password", exact=True).fill(ld.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(PAIR, timeout=60000)


def settled(page, timeout_ms: int = 30000, pause: bool = False) -> None:
    """The outbox is empty (every answer acknowledged) and Streamlit's rerun has finished."""
    page.wait_for_function("window.__labelPage && window.__labelPage.outbox.length === 0",
                           timeout=timeout_ms)  # fmt: skip
    page.wait_for_selector(READY, timeout=timeout_ms)
    if pause:
        page.wait_for_timeout(PAUSE_MS)


def app_run(db: Path, work: Path, presses: int, name: str, route: bool) -> dict:
    """The label page answering through the label route, or (``route=False``) through the
    Streamlit trigger: the browser answers the route with a 404 itself, as a server without it."""
    probe = work.with_name(f"{work.name}-{name}-timing.txt")
    probe.unlink(missing_ok=True)
    proc, url = ld.start_server(db, work, env={"ANNOTATE_TIMING_LOG": str(probe)})
    window: dict[str, float] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = _Page(browser.new_page(viewport={"width": 1400, "height": 1000}), proc.pid)
            synced: list[int] = []
            page.on("response", lambda r: synced.append(r.status) if SYNC in r.url else None)
            if not route:
                page.route(f"**{SYNC}", lambda r: r.fulfill(status=404, body="{}"))
            page.goto(url)
            sign_in(page, name)
            settled(page)
            idle = idle_cpu_rate(proc.pid)
            times, lost, cpu, wall = timed_presses(
                page,
                presses,
                APP_READ,
                lambda: settled(page, pause=True),
                on_start=lambda: window.update(commit0=_commit_cpu_s(probe)),
            )
            window["commit1"] = _commit_cpu_s(probe)
            acked = page.evaluate("window.__labelPage.history.filter(h => h.status === 'saved')"
                                  ".length")  # fmt: skip
            browser.close()
    finally:
        ld.stop(proc)
    with Store(db) as store:
        events = store.label_events(name)
    commit_s = window["commit1"] - window["commit0"] if route else None
    return {
        **_summary(times, lost, cpu, wall, idle, presses),
        # CPU of the threads committing the answers (DuckDB insert and commit), from the route's log
        "commit_ms": None if commit_s is None else commit_s * 1000 / presses,
        "events": int((events["kind"] == "label").sum()),
        "acked": acked,
        "pressed": WARMUP + presses,
        "route_ok": synced.count(200),
    }


def _commit_cpu_s(probe: Path) -> float:
    """The answer commits' CPU seconds so far, as the label route's timing log last said."""
    if not probe.exists():
        return 0.0
    # the label fragment's lines (the first screen, the fallback) carry only their time
    lines = [row for row in map(str.split, probe.read_text().splitlines()) if len(row) >= 4]
    return float(lines[-1][3]) if lines else 0.0


def page_state(page, read: str):
    """``read`` evaluated on the label page, or None while the page is between a reload (a
    restarted server asks to sign in again) and its next pair."""
    try:
        return page.evaluate(f"() => window.__labelPage ? {read} : null")
    except PlaywrightError:  # the execution context went with the page
        return None


def wait_for_pair(page, name: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while page_state(page, "window.__labelPage.current") is None:
        if time.monotonic() > deadline:
            raise TimeoutError("no pair on the label page")
        try:
            if page.get_by_label("Name").count():  # a restarted server has no session
                sign_in(page, name)
        except PlaywrightError:  # the page moved on under us: look again
            pass
        page.wait_for_timeout(100)


def burst_run(db: Path, work: Path, presses: int, gap_ms: int) -> dict:
    """Fast presses with a kill -9 and a restart halfway; the page's outbox carries the answers.
    The restarted server does not know the page's session, so the page reloads and signs in again
    (a press that lands while it does is no answer: the answers are what the page stored)."""
    proc, url = ld.start_server(db, work)
    port = int(url.rsplit(":", 1)[1])
    restarted_after_s = 0.0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            watch = ld.watch_answers(context)
            page = context.new_page()
            page.goto(url)
            sign_in(page, "burst")
            pressed = starved = 0
            for i in range(presses):
                if i == presses // 2:
                    ld.kill9(proc)
                    t0 = time.monotonic()
                    proc, _ = ld.start_server(db, work, port=port)
                    restarted_after_s = time.monotonic() - t0
                if page_state(page, "window.__labelPage.current") is None:
                    # Faster than any person: the buffer ran dry before the server topped it up
                    # (or the restarted server asks to sign in again).
                    starved += 1
                    wait_for_pair(page, "burst")
                page.keyboard.press(KEYS[i % len(KEYS)])
                pressed += 1
                page.wait_for_timeout(gap_ms)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and watch.pending:
                wait_for_pair(page, "burst")
                page.wait_for_timeout(300)
            pending = len(watch.pending)
            acked = list(watch.acked.values())
            browser.close()
    finally:
        ld.stop(proc)
    with Store(db) as store:
        labels = store.label_events("burst")
    labels = labels[labels["kind"] == "label"]
    return {
        "pressed": pressed,
        "answers": len(watch.made),
        "events": len(labels),
        "acked": len(acked),
        "acked_match": sorted(int(e) for e in acked) == sorted(labels["id"]),
        "twice": int(labels["pair_id"].duplicated().sum()),
        "pending": pending,
        "restart_s": restarted_after_s,
        "starved": starved,
    }


def _commit_cell(b: dict, floor: dict) -> str:
    if b["commit_ms"] is None:
        return "- | -"  # the route's log is the probe; the Streamlit trigger does not write it
    rest = b["cpu_ms_net"] - b["commit_ms"]
    return f"{b['commit_ms']:.1f} ms | {rest:.1f} ms, {rest / max(floor['cpu_ms_net'], 1e-9):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 100000])
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--burst", type=int, default=200, help="fast presses with a kill -9")
    parser.add_argument("--gap-ms", type=int, default=30, help="ms between burst presses")
    args = parser.parse_args()
    rows = []
    names = ["route", "trigger", "burst"]
    with tempfile.TemporaryDirectory(prefix="bench-label-") as tmp:
        folder = Path(tmp)
        floor = floor_run(folder, args.presses)
        print(f"bare Streamlit fragment: {floor}", flush=True)
        burst = None
        for n in args.sizes:
            t0 = time.perf_counter()
            db = ld.build_project(folder / f"p{n}.duckdb", n, [], sentences=12)
            print(f"built {n} pairs in {time.perf_counter() - t0:.1f}s", flush=True)
            took = ld.add_accounts(db, names)
            print(f"annotate user add: {len(names)} accounts in {took:.1f}s", flush=True)
            for way in ("route", "trigger"):
                b = app_run(db, folder / f"work{n}", args.presses, way, route=way == "route")
                print(f"label page {n} via {way}: {b}", flush=True)
                rows.append((n, way, b))
            if burst is None and args.burst:
                burst = burst_run(db, folder / f"work{n}", args.burst, args.gap_ms)
                print(f"burst with kill -9 at {n}: {burst}", flush=True)
    print()
    print(
        "| page | open pairs | key->painted median | p95 | p95 / floor p95 | presses | lost "
        "| label events / presses | server CPU ms per answer (net of idle) | CPU / floor CPU "
        "| answers per CPU second | of which the commit | net without the commit / floor net |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| bare Streamlit fragment (floor, postScriptGC off) | - | {floor['median']:.1f} ms "
        f"| {floor['p95']:.1f} ms | 1.00 | {floor['n']} | {floor['lost']} | - "
        f"| {floor['cpu_ms']:.1f} ({floor['cpu_ms_net']:.1f}) | 1.00 "
        f"| {1000 / floor['cpu_ms']:.0f} | - | - |"
    )
    for n, way, b in rows:
        print(
            f"| label page, {way} | {n:,} | {b['median']:.1f} ms | {b['p95']:.1f} ms "
            f"| {b['p95'] / floor['p95']:.2f} | {b['n']} | {b['lost']} "
            f"| {b['events']} / {b['pressed']} (acknowledged {b['acked']}; route replies "
            f"{b['route_ok']}) | {b['cpu_ms']:.1f} ({b['cpu_ms_net']:.1f}) "
            f"| {b['cpu_ms'] / floor['cpu_ms']:.2f}x "
            f"({b['cpu_ms_net'] / max(floor['cpu_ms_net'], 1e-9):.2f}x net) "
            f"| {1000 / b['cpu_ms']:.0f} | {_commit_cell(b, floor)} |"
        )
    if burst:
        print()
        print(
            f"Burst: {burst['pressed']} presses {args.gap_ms} ms apart, kill -9 + restart after "
            f"{args.burst // 2} (restart took {burst['restart_s']:.1f} s): {burst['answers']} "
            f"answers stored by the page, {burst['events']} label "
            f"events, {burst['acked']} acknowledged (ids match DuckDB: {burst['acked_match']}), "
            f"{burst['twice']} pairs twice, {burst['pending']} still pending; the page waited "
            f"{burst['starved']} times for its buffer to be topped up."
        )
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
