"""Drive N annotators against a running `annotate serve` in real browser sessions, on loopback only.

One chromium, one browser context per annotator (Playwright's async API), keyboard answers only. An
answer counts as acknowledged when the label page's outbox gets the server's acknowledgement for its
id, with the committed event id, so after the server stops the caller can check every acknowledged id
against DuckDB. Latency is measured in the page, from the key press to that acknowledgement (the next
pair is painted at the key press itself, from the page's buffer). Every loop is bounded (submits per
annotator, timeouts per press).

Used by tests/test_load.py, tests/test_durability.py and bench/bench_load.py; ``watch_answers`` by
tests/e2e/test_browser.py and bench/bench_label_latency.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from annotate_app.accounts.auth import Account
from annotate_app.annotation import assignment
from annotate_app.ingest import import_file
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.ui import label_exchange
from tests.answering import page_item

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PASSWORD = "load-driver-pass-1"  # the accounts ``add_accounts`` makes sign in with it
KEYS = ("1", "2", "4", "5")

# Resolves with the acknowledgement of the answer at history index n: ms from the press, and
# status/event/message; null after the timeout.
WAIT_ACK = r"""([n, timeoutMs]) => new Promise((resolve) => {
  const page = window.__labelPage;
  const done = () => {
    const h = page.history[n];
    if (!h || h.status === 'pending') return false;
    document.removeEventListener('label-ack', done);
    // Where the time went, from the route request's Resource Timing entry (the first one sent
    // after the press): before the request left, until the reply's first byte, after it.
    const sent = performance.getEntriesByType('resource').find(
      (e) => e.name.includes('/annotate/label/sync') && e.startTime >= h.pressedAt);
    const parts = sent ? {toSend: sent.startTime - h.pressedAt,
                          toReply: sent.responseStart - sent.startTime,
                          afterReply: h.ackedAt - sent.responseStart} : null;
    resolve({ms: h.ackedAt - h.pressedAt, status: h.status, event: h.event, parts,
             message: page.notice ? page.notice.text : null});
    return true;
  };
  if (done()) return;
  document.addEventListener('label-ack', done);
  setTimeout(() => { document.removeEventListener('label-ack', done); resolve(null); }, timeoutMs);
})"""

# The floor app: resolves with what the next render showed, ms from the keydown.
ARM = r"""([prevPair, prevAck, floor]) => {
  const main = document.querySelector("[data-testid='stMain']");
  window.__res = new Promise((resolve) => {
    let t0 = null;
    window.addEventListener('keydown', () => { t0 = performance.now(); },
                            {capture: true, once: true});
    const check = () => {
      const text = main.textContent;
      const m = text.match(/PAIR-(\d+)-/);
      const s = text.match(/Saved \(label #(\d+)\)/);
      const bad = text.match(/Not saved[^·]*/);
      const pair = m ? m[1] : null;
      const ack = s ? s[1] : null;
      const moved = pair !== prevPair || text.includes("You're done");
      if (t0 !== null && moved && (floor || bad || (ack && ack !== prevAck))) {
        obs.disconnect();
        resolve({ms: performance.now() - t0, pair, ack, error: bad ? bad[0] : null});
      }
    };
    const obs = new MutationObserver(check);
    obs.observe(main, {subtree: true, childList: true, characterData: true});
  });
}"""


class StartLine:
    """Every annotator waits here once signed in; ``at`` is when the last one arrived."""

    def __init__(self, parties: int) -> None:
        self._barrier = asyncio.Barrier(parties)
        self.at: float | None = None

    async def wait(self) -> None:
        await self._barrier.wait()
        self.at = self.at or time.perf_counter()

    async def abort(self) -> None:
        await self._barrier.abort()


@dataclass
class Annotator:
    name: str
    acked: list[int] = field(default_factory=list)  # committed event ids the page confirmed
    latencies_ms: list[float] = field(default_factory=list)
    # per acknowledged answer, ms: press -> request sent, -> reply's first byte, -> acknowledged
    parts_ms: list[tuple[float, float, float]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "Not saved" messages shown
    unanswered: int = 0  # presses with no answer before the timeout (e.g. the server was killed)
    first_total: int | None = None  # "total N" on the first screen after sign-in


@dataclass
class LoadResult:
    annotators: list[Annotator]
    wall_s: float

    @property
    def acked(self) -> list[int]:
        return [e for a in self.annotators for e in a.acked]

    @property
    def latencies_ms(self) -> list[float]:
        return [ms for a in self.annotators for ms in a.latencies_ms]

    def pct(self, q: float) -> float:
        return pct(self.latencies_ms, q)


# Seen from outside the label page, across its reloads (a restarted server makes it reload to sign
# in again): every label it stores in its outbox (sessionStorage, written before the next pair is
# painted) and every acknowledgement it takes.
_WATCH_ANSWERS = """
(() => {
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    if (key.startsWith('annotate-outbox:')) {
      for (const item of JSON.parse(value)) if (item.kind === 'label') window.recordMade(item.cid);
    }
    return setItem.call(this, key, value);
  };
  document.addEventListener('label-ack', (e) => {
    if (e.detail.status === 'saved') window.recordAck(e.detail.cid, e.detail.event);
  });
})();
"""


@dataclass
class AnswerWatch:
    """The labels a browser context's label pages made and the saved acknowledgements they took,
    across reloads (``watch_answers``)."""

    made: set[str] = field(default_factory=set)  # client ids
    acked: dict[str, int] = field(default_factory=dict)  # client id -> label event

    @property
    def pending(self) -> set[str]:
        return self.made - self.acked.keys()


def watch_answers(context) -> AnswerWatch:
    """Watch every page of a (Playwright sync API) browser context; call before opening pages."""
    watch = AnswerWatch()
    context.expose_function("recordMade", lambda cid: watch.made.add(cid))
    context.expose_function("recordAck", lambda cid, event: watch.acked.__setitem__(cid, event))
    context.add_init_script(_WATCH_ANSWERS)
    return watch


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def answer_times(
    store: Store, names: list[str], answers: int, think_s: float = 0.0
) -> tuple[list[float], float]:
    """ms per answer, each what one label-page answer costs the server now: the page's exchange
    (``label_exchange.exchange``) with an outbox of that one answer and the pairs the page holds,
    which commits the answer, tops the buffer up and builds the reply (progress, the new pair's
    text). One thread per name on one Store, as the app's server runs it: leases written behind,
    a service thread flushing them every 0.2 s. ``think_s`` is the mean pause between an
    annotator's answers (uniform from 0 to twice that; not timed). Also returns the wall time of
    the whole run. Raises when an answer is not saved or the queue runs dry."""
    settings = ProjectSettings.load(store)
    assignment.write_leases_behind(store)
    stop = threading.Event()

    def service() -> None:
        while not stop.wait(0.2):
            assignment.maintain_queue(store)

    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(k: int, name: str) -> None:
        try:
            who = Account(name, "annotator")
            reply = label_exchange.exchange(store, who, settings, label_exchange.SyncRequest(0))
            rng = random.Random(k)
            for seq in range(1, answers + 1):
                if think_s > 0:
                    time.sleep(rng.uniform(0, 2 * think_s))
                if not reply["pairs"]:
                    raise RuntimeError(f"{name}: the queue ran dry after {seq - 1} answers")
                shown = reply["pairs"][0]
                item = page_item(shown["id"], shown["side"], latency_ms=500)
                have = frozenset(p["id"] for p in reply["pairs"])
                sent = label_exchange.SyncRequest(seq, [item], have)
                t0 = time.perf_counter()
                reply = label_exchange.exchange(store, who, settings, sent)
                ms = (time.perf_counter() - t0) * 1000
                if reply["acks"][0]["status"] != "saved":
                    raise RuntimeError(f"{name}: answer not saved: {reply['acks'][0]}")
                with lock:
                    times.append(ms)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
            errors.append(exc)

    threading.Thread(target=service, daemon=True).start()
    threads = [threading.Thread(target=work, args=(k, n)) for k, n in enumerate(names)]
    start = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
    wall = time.perf_counter() - start
    assignment.flush_leases(store)
    if errors:
        raise errors[0]
    return times, wall


def build_project(
    db: Path, n_pairs: int, names: list[str], overlap: int = 1, sentences: int = 6
) -> Path:
    """Open pairs whose texts carry PAIR-<i>-a / PAIR-<i>-b markers, and the accounts."""
    data = db.parent / f"{db.stem}-pairs.jsonl"
    with data.open("w", encoding="utf-8") as f:
        for i in range(n_pairs):
            row = {
                "prompt": f"Prompt {i}: explain topic {i % 97} briefly.",
                "response_a": f"PAIR-{i}-a. " + "A first answer with a few sentences. " * sentences,
                "response_b": f"PAIR-{i}-b. " + "A second answer, worded differently. " * sentences,
            }
            f.write(json.dumps(row) + "\n")
    with Store(db) as store:
        import_file(store, data)
        for name in names:
            store.upsert_annotator(name)
        store.set_setting("overlap_k", overlap)
        # load runs measure labeling alone: an automatic retrain would compete for the same cores
        store.set_setting("retrain_every", 0)
    data.unlink()
    return db


def add_accounts(db: Path, names: list[str], password: str = PASSWORD, workers: int = 4) -> float:
    """Make annotator accounts as an admin would: ``annotate user add NAME --role annotator
    --password-stdin``, ``workers`` commands at a time (each holds the file only for its write, so
    one that finds it locked tries again). Returns the seconds it took."""
    annotate = shutil.which("annotate", path=str(Path(sys.executable).parent))
    started = time.monotonic()

    def add(name: str) -> None:
        for _ in range(20):
            done = subprocess.run(
                [annotate, "--db", str(db), "user", "add", name, "--role", "annotator",
                 "--password-stdin"],
                input=password + "\n", capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            if done.returncode == 0:
                return
            if "in use by" not in done.stderr and "lock" not in done.stderr.lower():
                raise RuntimeError(f"annotate user add {name}: {done.stderr.strip()}")
            time.sleep(0.2)
        raise RuntimeError(f"annotate user add {name}: the project stayed locked")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(add, names))
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _niceness(value: int | None):
    """A ``preexec_fn`` that gives the child (and every thread it starts) this niceness."""
    if value is None:
        return None
    return lambda: os.setpriority(os.PRIO_PROCESS, 0, value)


def start_server(
    db: Path, work: Path, port: int | None = None, env: dict | None = None, nice: int | None = None
):
    """`annotate serve` on 127.0.0.1 in its own process group; returns (process, url). ``nice``
    sets its niceness (a negative one needs root)."""
    port = port or free_port()
    annotate = shutil.which("annotate", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen(
        [annotate, "--db", str(db), "serve", "--port", str(port), "--address", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "ANNOTATE_WORK_DIR": str(work), **(env or {})},
        preexec_fn=_niceness(nice),
    )
    return proc, wait_healthy(proc, f"http://127.0.0.1:{port}")


def start_floor(folder: Path, nice: int | None = None):
    """The baseline: a bare Streamlit fragment that swaps one marker on the same keys, no DB."""
    app = folder / "floor_app.py"
    app.write_text(
        "import streamlit as st\n"
        "st.session_state.setdefault('i', 0)\n"
        "def bump():\n"
        "    st.session_state.i += 1\n"
        "@st.fragment\n"
        "def panel():\n"
        "    st.markdown(f'PAIR-{st.session_state.i}- text')\n"
        f"    for key in {KEYS!r}:\n"
        "        st.button(f'choice {key}', key=key, shortcut=key, on_click=bump)\n"
        "panel()\n",
        encoding="utf-8",
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         # the same garbage-collection setting as `annotate serve`, so the floor is like for like
         "--runner.postScriptGC", "false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_niceness(nice),
    )  # fmt: skip
    return proc, wait_healthy(proc, f"http://127.0.0.1:{port}")


def wait_healthy(proc: subprocess.Popen, url: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
            return url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(f"server for {url} did not start") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kill9(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


async def _one(
    browser,
    url: str,
    who: Annotator,
    submits: int,
    think_s: float,
    press_timeout_s: float,
    halt: asyncio.Event,
    floor: bool,
    rng: random.Random,
    line: StartLine | None,
    password: str | None = None,
) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = await context.new_page()
        try:
            await page.goto(url, timeout=120000)  # many contexts start at once on few cores
            await page.wait_for_selector(READY, timeout=60000)
            if not floor:
                await page.get_by_label("Name").fill(who.name)
                if password:
                    await page.get_by_label("Password", exact=True).fill(password)
                await page.get_by_role("button", name="Sign in").click()
                await page.get_by_test_id("label-progress").wait_for(timeout=60000)
                who.first_total = int(await page.evaluate("window.__labelPage.progress.total"))
                # room for every route request's timing entry beside the page load's
                await page.evaluate("performance.setResourceTimingBufferSize(10000)")
            else:
                await page.get_by_text("PAIR-0-").wait_for(timeout=60000)
        except BaseException:
            if line is not None:
                await line.abort()  # the others must not wait for this one
            raise
        if line is not None:
            await line.wait()
        if not floor:
            await _answer_loop(page, who, submits, think_s, press_timeout_s, halt, rng)
            return
        prev_ack = None
        for i in range(submits):
            if halt.is_set():
                return
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
            await page.wait_for_selector(READY, timeout=press_timeout_s * 1000)
            text = await page.locator("[data-testid='stMain']").text_content()
            if "PAIR-" not in text:
                return  # this annotator's queue is empty
            prev_pair = text.split("PAIR-", 1)[1].split("-", 1)[0]
            await page.evaluate(ARM, [prev_pair, prev_ack, floor])
            await page.keyboard.press(KEYS[i % len(KEYS)])
            got = await page.evaluate(
                "t => Promise.race([window.__res, new Promise(r => setTimeout(() => r(null), t))])",
                press_timeout_s * 1000,
            )
            if got is None:
                who.unanswered += 1
                return
            who.latencies_ms.append(float(got["ms"]))
            if got["error"]:
                who.refused.append(got["error"])
            elif not floor:
                prev_ack = got["ack"]
                who.acked.append(int(got["ack"]))
    except Exception:  # noqa: BLE001 - a killed server ends this session; the caller counts
        if not halt.is_set():
            raise
    finally:
        await context.close()


async def _answer_loop(page, who: Annotator, submits, think_s, press_timeout_s, halt, rng) -> None:
    """Answer on the label page until ``submits``, an empty queue, a timeout or ``halt``; answers
    still in the outbox at the end count as unanswered."""
    try:
        for i in range(submits):
            if halt.is_set():
                break
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
            if halt.is_set() or await page.evaluate("window.__labelPage.current") is None:
                break  # stopped, or this annotator's queue is empty
            n = await page.evaluate("window.__labelPage.history.length")
            await page.keyboard.press(KEYS[i % len(KEYS)])
            got = await page.evaluate(WAIT_ACK, [n, press_timeout_s * 1000])
            if got is None:
                break
            who.latencies_ms.append(float(got["ms"]))
            if got.get("parts"):
                part = got["parts"]
                who.parts_ms.append((part["toSend"], part["toReply"], part["afterReply"]))
            if got["status"] == "refused":
                who.refused.append(got["message"] or "refused")
            else:
                who.acked.append(int(got["event"]))
    finally:
        # A page that is itself gone had nothing pending to count.
        with contextlib.suppress(Exception):
            who.unanswered = int(
                await page.evaluate(
                    "window.__labelPage.history.filter((h) => h.status === 'pending').length"
                )
            )


async def drive(
    url: str,
    names: list[str],
    submits: int,
    *,
    think_s: float = 0.0,
    press_timeout_s: float = 20.0,
    halt: asyncio.Event | None = None,
    floor: bool = False,
    seed: int = 0,
    on_start: Callable[[list[Annotator]], None] | None = None,
    password: str | None = None,
    start_together: bool = True,
) -> LoadResult:
    """Run every annotator at once for up to ``submits`` answers each; ``on_start`` gets the live
    per-annotator records (a watcher can act on the acknowledgements so far). ``password`` is
    typed at sign-in when the accounts have one. With ``start_together`` nobody answers before
    every annotator is signed in, so the answers measure the steady state of N open sessions, not
    N page loads and sign-ins at once; the wall time counts from then."""
    from playwright.async_api import async_playwright

    halt = halt or asyncio.Event()
    people = [Annotator(n) for n in names]
    if on_start is not None:
        on_start(people)
    rng = random.Random(seed)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        t0 = time.perf_counter()
        line = StartLine(len(people)) if start_together and people else None
        try:
            await asyncio.gather(
                *(
                    _one(browser, url, a, submits, think_s, press_timeout_s, halt, floor,
                         random.Random(rng.random()), line, password)
                    for a in people
                )
            )  # fmt: skip
            wall = time.perf_counter() - (line.at if line is not None and line.at else t0)
        finally:
            await browser.close()
    return LoadResult(people, wall)
