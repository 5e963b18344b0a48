"""Idle cost of open label pages: the CPU that N signed-in label pages use while nobody presses a
key, against N pages of a bare Streamlit fragment (the floor), in the same run.

An annotator's tab stays open all day, and a load test opens many at once on one machine, so what
an idle page costs is paid N times. For each kind: start the server, open N browser contexts in
one Debian chromium (the label page: signed in, the first pair painted), wait --settle seconds,
then measure the CPU (user + system, /proc) of this process's whole tree (the Playwright driver and
every chromium process) and of the server over --window seconds of nothing happening.

Run: .venv/bin/python bench/bench_idle_pages.py [--pages 8] [--window 20] [--settle 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.async_api import async_playwright  # noqa: E402

from tests import load_driver as ld  # noqa: E402


def _tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue  # the process ended while we looked
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += ld.cpu_seconds(pid)
        except OSError:
            continue
        todo += children.get(pid, [])
    return total


async def _idle_cpu(url: str, names: list[str | None], window: float, settle: float) -> float:
    """Open one page per name (None: a floor page), settle, and return the CPU that the browsers
    and this process used over the window, in % of one core."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
        for name in names:
            context = await browser.new_context(viewport={"width": 1300, "height": 900})
            page = await context.new_page()
            await page.goto(url, timeout=120000)
            await page.wait_for_selector(ld.READY, timeout=60000)
            if name is None:
                await page.get_by_text("PAIR-0-").wait_for(timeout=60000)
                continue
            await page.get_by_label("Name").fill(name)
            await page.get_by_label("Password", exact=True).fill(ld.PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_test_id("label-progress").wait_for(timeout=60000)
        await asyncio.sleep(settle)
        start, wall = _tree_cpu_seconds(os.getpid()), time.monotonic()
        await asyncio.sleep(window)
        used = _tree_cpu_seconds(os.getpid()) - start
        await browser.close()
    return 100 * used / (time.monotonic() - wall)


def _run(kind: str, folder: Path, pages: int, window: float, settle: float) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "label":
        names = [f"ann{k}" for k in range(pages)]
        db = ld.build_project(folder / "idle.duckdb", 200, [])
        ld.add_accounts(db, names)
        proc, url = ld.start_server(db, folder / "work")
        openers: list[str | None] = list(names)
    else:
        proc, url = ld.start_floor(folder)
        openers = [None] * pages
    try:
        server0, wall0 = ld.cpu_seconds(proc.pid), time.monotonic()
        browsers = asyncio.run(_idle_cpu(url, openers, window, settle))
        server = 100 * (ld.cpu_seconds(proc.pid) - server0) / (time.monotonic() - wall0)
    finally:
        ld.stop(proc)
    return {"kind": kind, "browsers": browsers, "server": server}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            _run(kind, Path(tmp) / kind, args.pages, args.window, args.settle)
            for kind in ("floor", "label")
        ]
    print(f"\n{args.pages} idle pages, {args.window:.0f} s window, load {load0:.1f} at start")
    print(
        "| pages | browsers, % of a core | per page | server (whole run, sign-in included), % of a core |"
    )
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['kind']} | {r['browsers']:.1f} | {r['browsers'] / args.pages:.2f} |"
            f" {r['server']:.1f} |"
        )
    print(f"label / floor (browsers): {rows[1]['browsers'] / rows[0]['browsers']:.2f}x")


if __name__ == "__main__":
    main()
