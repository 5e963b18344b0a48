"""`kill -9` of the app in the middle of labeling loses no acknowledged label, and its leases expire.

Annotators label in real browser sessions against `annotate serve`; once some labels are
acknowledged (the server acknowledged the answer's id with its committed event id), the server's
whole process group gets SIGKILL while presses are still in flight. With the server dead, DuckDB must hold every acknowledged event id; the
only extra labels allowed are presses that were in flight (committed, never confirmed). The killed
server's leases are still in the file. After a restart they are cut (grace 0 here), each annotator
signs in to their own total, the abandoned pairs go to the next annotators, and at the end no pair
has two labels (overlap 1).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from annotate_app.store import Store
from tests import load_driver as ld

pytestmark = pytest.mark.e2e

if not ld.CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
pytest.importorskip("playwright.async_api")

NAMES = ["ann0", "ann1", "ann2"]
KILL_AFTER_ACKS = 6


async def _label_then_kill(url: str, proc) -> ld.LoadResult:
    halt = asyncio.Event()

    async def killer(result_box: list) -> None:
        for _ in range(1200):  # bounded: at most 60 s
            people = result_box[0] if result_box else []
            if sum(len(a.acked) for a in people) >= KILL_AFTER_ACKS:
                break
            await asyncio.sleep(0.05)
        halt.set()
        ld.kill9(proc)

    box: list = []
    drive = ld.drive(url, NAMES, 50, think_s=0.5, press_timeout_s=5, halt=halt, on_start=box.append)
    result, _ = await asyncio.gather(drive, killer(box))
    return result


def test_kill_9_loses_no_acknowledged_label(tmp_path: Path) -> None:
    db = ld.build_project(tmp_path / "dur.duckdb", 40, NAMES)
    work = tmp_path / "work"
    proc, url = ld.start_server(db, work)
    try:
        before = asyncio.run(_label_then_kill(url, proc))
    finally:
        ld.stop(proc)
    acked = before.acked
    assert len(acked) >= KILL_AFTER_ACKS
    with Store(db) as store:
        events = store.label_events()
        leases = store.lease_rows()
    labels = events[events["kind"] == "label"]
    assert set(acked) <= set(labels["id"]), "every acknowledged label survived kill -9"
    in_flight = sum(a.unanswered for a in before.annotators)
    assert len(labels) - len(acked) <= in_flight, "only in-flight presses may be unconfirmed"
    now = dt.datetime.now()
    held = {pair for pair, _, _, expires in leases if expires > now}
    assert held, "the killed server held leases"

    proc, url = ld.start_server(db, work, env={"ANNOTATE_LEASE_GRACE_S": "0"})
    try:
        # the label page holds a buffer of leased pairs: enough answers to get past them all
        after = asyncio.run(ld.drive(url, NAMES, 6))
    finally:
        ld.stop(proc)
    with Store(db) as store:
        final = store.current_labels("human")
    per_name = labels.groupby("annotator").size().to_dict()
    for a in after.annotators:
        assert a.first_total == per_name.get(a.name, 0), "each annotator resumes at their total"
    assert set(after.acked) <= set(final["id"])
    assert held <= set(final["pair_id"]), "the killed server's leases expired: those pairs moved on"
    assert not final["pair_id"].duplicated().any(), "overlap 1: no pair labeled twice"
