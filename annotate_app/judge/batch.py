"""Batch runs against paid APIs: the OpenAI Batch API request file, and its results read back.

``write_requests`` writes one request line per pair and order (A first, then B first) for the pairs
this judge has not judged yet, with the app's prompt template, exactly as the live HTTP judge would
post them. ``custom_id`` is ``<pair id>:ab`` or ``<pair id>:ba``. ``read_results`` turns the
results file into that judge's verdicts (both orders, debiased, consistency flagged) in one
transaction; a pair whose two orders are not both usable is reported and stays queued, so the next
batch (or ``annotate judge``) takes it again.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from annotate_app import settings
from annotate_app.judge.debias import combine
from annotate_app.judge.http import HttpJudge, HttpJudgeConfig, parse_reply
from annotate_app.judge.prompt import JudgeTemplate
from annotate_app.judge.protocol import Comparison, RawVerdict
from annotate_app.judge.spec import JudgeSpec

ORDERS = ("ab", "ba")
ENDPOINT = "/v1/chat/completions"


def custom_id(pair_id: str, order: str) -> str:
    return f"{pair_id}:{order}"


def _http_judge(store, spec: JudgeSpec) -> HttpJudge:
    if spec.kind != "openai":
        raise ValueError("batch runs need an openai:URL judge (with --model)")
    project = settings.load(store)
    template = JudgeTemplate.from_setting(project.judge_template)
    config = HttpJudgeConfig(url=spec.target or "", model=spec.model or "")
    return HttpJudge(config, template, project.guidelines or None)


def write_requests(
    store, spec: JudgeSpec, path: str | Path, pairs: str = "all", limit: int | None = None
) -> int:
    """Write the request file (atomically); returns how many pairs it asks about."""
    judge = _http_judge(store, spec)
    todo = store.judge_candidates(spec.judge_id, pairs, limit)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for r in todo.itertuples(index=False):
                turns = json.loads(r.turns)
                shown = {"ab": (r.text_a, r.text_b), "ba": (r.text_b, r.text_a)}
                for order in ORDERS:
                    first, second = shown[order]
                    messages = judge.template.messages(
                        Comparison(turns, first, second), judge.guidelines
                    )
                    line = {
                        "custom_id": custom_id(r.pair_id, order),
                        "method": "POST",
                        "url": ENDPOINT,
                        "body": judge.request_body(messages),
                    }
                    fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return len(todo)


@dataclass
class BatchReport:
    stored: int = 0
    problems: list[str] = field(default_factory=list)  # file:line: what went wrong
    incomplete: list[str] = field(default_factory=list)  # pairs left queued

    def summary(self) -> str:
        return (
            f"stored {self.stored} verdicts; {len(self.problems)} result lines unusable; "
            f"{len(self.incomplete)} pairs left queued (an order missing or unusable)"
        )


def read_results(store, spec: JudgeSpec, path: str | Path) -> BatchReport:
    """Store the verdicts of a Batch API results file as ``spec``'s labels."""
    from annotate_app.analytics.calibration import refresh_calibrations
    from annotate_app.judge.jobs import verdict_frame

    path = Path(path)
    report = BatchReport()
    readings: dict[str, dict[str, RawVerdict]] = {}
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                line = json.loads(raw)
            except ValueError as exc:
                report.problems.append(f"{where}: not JSON ({exc.msg})")
                continue
            cid = str(line.get("custom_id") or "") if isinstance(line, dict) else ""
            pair_id, _, order = cid.rpartition(":")
            if not pair_id or order not in ORDERS:
                report.problems.append(f"{where}: field 'custom_id': expected PAIR:ab or PAIR:ba")
                continue
            seen.add(pair_id)
            if line.get("error"):
                report.problems.append(f"{where}: {cid}: the API reported {line['error']}")
                continue
            response = line.get("response") or {}
            status = response.get("status_code")
            if status != 200:
                report.problems.append(f"{where}: {cid}: HTTP status {status}")
                continue
            verdict = parse_reply(response.get("body"))
            if verdict is None:
                report.problems.append(f"{where}: {cid}: no [[A]]/[[B]]/[[C]] verdict in the reply")
                continue
            readings.setdefault(pair_id, {})[order] = verdict
    found = []
    for pair_id in sorted(seen):
        orders = readings.get(pair_id, {})
        if set(orders) != set(ORDERS):
            report.incomplete.append(pair_id)
            continue
        found.append(combine(pair_id, orders["ab"], orders["ba"]))
    info = {"judge_id": spec.judge_id, "model": spec.model, "batch": path.name}
    report.stored = store.add_judge_verdicts(verdict_frame(found, info)) if found else 0
    if report.stored:
        refresh_calibrations(store, any_new=True)
    return report
