"""Recorded verdicts: a judge's verdicts that were paid for elsewhere, imported as that judge's labels.

One row per (pair, judge): ``prompt`` (string or message list), ``response_a``, ``response_b``,
``judge`` (its name) and ``winner`` (``a`` | ``b`` | ``tie``) or ``p_a`` (P(A better), in [0, 1]).
Optional: ``winner_swapped`` / ``p_a_swapped``, the verdict with response_b shown first (still
naming the responses a/b), and ``rationale``.

A row becomes one AI label event of that judge, stored as our own judges store theirs: both orders
where given (``p_ab``: P(first wins) with A first; ``p_ba``: with B first), debiased ``p_a`` and the
consistency flag in the metadata. Pairs the project does not hold yet are added. Validation covers
the whole file before anything is written; a bad row is reported as ``file:line: field 'x': ...``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from annotate_app import ids
from annotate_app.ingest.errors import IngestError, RowError
from annotate_app.ingest.formats import ParsedRow, _Invalid, _optional_text, _prompt_turns, _text
from annotate_app.ingest.readers import read_rows
from annotate_app.judge.debias import choice_from_p_a, consistent, debiased_p_a

if TYPE_CHECKING:
    from annotate_app.ingest.importer import ImportReport

FORMAT = "verdicts"
WINNERS = {"a": 1.0, "b": 0.0, "tie": 0.5}
VERDICT_KEYS = ("winner", "p_a")


def is_verdict_row(row: dict) -> bool:
    """The shape is told by a ``judge`` column beside ``winner`` or ``p_a``."""
    return "judge" in row and any(k in row for k in VERDICT_KEYS)


@dataclass
class RecordedVerdict:
    turns: list[dict]
    response_a: str
    response_b: str
    judge: str
    p_ab: float  # P(A better) with A shown first
    p_a_swapped: float | None  # P(A better) with B shown first
    rationale: str | None
    line: int


def _probability(row: dict, winner_key: str, p_key: str, required: bool) -> float | None:
    """P(A better) from ``p_key`` (a number in [0, 1]) or ``winner_key`` (a, b or tie)."""
    p_raw = row.get(p_key)
    w_raw = row.get(winner_key)
    if p_raw is not None and p_raw != "":
        try:
            p = float(p_raw)
        except (TypeError, ValueError):
            raise _Invalid(p_key, f"expected a number in [0, 1], got {p_raw!r}") from None
        if isinstance(p_raw, bool) or math.isnan(p) or not 0.0 <= p <= 1.0:
            raise _Invalid(p_key, f"expected a number in [0, 1], got {p_raw!r}")
        if w_raw not in (None, ""):
            w = WINNERS.get(str(w_raw).strip().lower())
            if w is not None and w != 0.5 and (w > 0.5) != (p > 0.5):
                raise _Invalid(p_key, f"{p_key} {p} contradicts {winner_key} {w_raw!r}")
        return p
    if w_raw is not None and w_raw != "":
        w = WINNERS.get(str(w_raw).strip().lower()) if isinstance(w_raw, str) else None
        if w is None:
            raise _Invalid(winner_key, f"expected one of a, b, tie, got {w_raw!r}")
        return w
    if required:
        raise _Invalid(winner_key, f"missing (give {winner_key} as a, b or tie, or {p_key})")
    return None


def _prompt(row: dict) -> list[dict]:
    """A prompt is a string or a message list; in CSV a message list arrives as JSON text."""
    value = row.get("prompt")
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, list):
            row = {**row, "prompt": decoded}
    return _prompt_turns(row, "prompt")


def _parse(row: dict, line: int) -> RecordedVerdict:
    turns = _prompt(row)
    a, b = _text(row, "response_a"), _text(row, "response_b")
    if a == b:
        raise _Invalid(
            "response_b", "the two responses are identical, so there is nothing to compare"
        )
    judge = _text(row, "judge").strip()
    p_ab = _probability(row, "winner", "p_a", required=True)
    swapped = _probability(row, "winner_swapped", "p_a_swapped", required=False)
    rationale = _optional_text(row, "rationale")
    return RecordedVerdict(turns, a, b, judge, float(p_ab), swapped, rationale, line)


def verdict_content(row: dict) -> ParsedRow:
    """What a verdict row holds as content (the import's row check); raises the format's _Invalid."""
    v = _parse(row, 0)
    return content_rows([v])[0]


def parse_verdict(row: dict, file: str, line: int) -> RecordedVerdict | RowError:
    try:
        return _parse(row, line)
    except _Invalid as exc:
        return RowError(file, line, exc.field_name, exc.problem)


def read_verdicts(path: str | Path, limits=None) -> list[RecordedVerdict]:
    """Every row of a verdicts file, or IngestError with every bad row located."""
    path = Path(path)
    _, rows = read_rows(path) if limits is None else read_rows(path, limits)
    out: list[RecordedVerdict] = []
    errors: list[RowError] = []
    for item in rows:
        if isinstance(item, RowError):
            errors.append(item)
            continue
        line, row = item
        parsed = parse_verdict(row, path.name, line)
        (errors if isinstance(parsed, RowError) else out).append(parsed)
    if errors:
        raise IngestError(errors)
    if not out:
        raise IngestError([RowError(path.name, None, None, "the file has no verdict rows")])
    return out


def pair_key(v: RecordedVerdict) -> tuple[str, bool]:
    """(the project's pair id, whether the file's A is the stored B)."""
    pid = ids.prompt_id(v.turns)
    ra, rb = ids.response_id(pid, v.response_a), ids.response_id(pid, v.response_b)
    return ids.pair_id(ra, rb), ra > rb


def oriented(v: RecordedVerdict) -> tuple[str, float | None, float | None]:
    """(pair id, P(stored A better) with stored A shown first, the same with stored B first)."""
    pair, flipped = pair_key(v)
    if not flipped:
        return pair, v.p_ab, v.p_a_swapped
    # the stored A is the file's B: each reading turns around, and so do the orders
    first_a = None if v.p_a_swapped is None else 1.0 - v.p_a_swapped
    return pair, first_a, 1.0 - v.p_ab


def verdict_frame(verdicts: list[RecordedVerdict], source: str) -> pd.DataFrame:
    """Label-event rows (the judge job's columns), oriented to the stored A/B of each pair."""
    rows = []
    for v in verdicts:
        pair, first_a, first_b = oriented(v)
        both = first_a is not None and first_b is not None
        if both:
            p_a = debiased_p_a(first_a, 1.0 - first_b)
            agree = consistent(first_a, 1.0 - first_b)
        else:
            p_a, agree = (first_a if first_a is not None else first_b), None
        meta = {
            "judge_id": v.judge,
            "recorded": source,
            "line": v.line,
            "p_ab": first_a if both else None,
            "p_ba": 1.0 - first_b if both else None,
            "consistent": agree,
        }
        rows.append(
            {
                "pair_id": pair,
                "judge_id": v.judge,
                "choice": choice_from_p_a(p_a),
                "p_a": p_a,
                "rationale": v.rationale,
                "latency_ms": 0,
                "metadata": json.dumps(meta),
            }
        )
    columns = ["pair_id", "judge_id", "choice", "p_a", "rationale", "latency_ms", "metadata"]
    return pd.DataFrame(rows, columns=columns).astype(
        {"choice": "int16", "p_a": "float64", "latency_ms": "int64", "rationale": "object"}
    )


def content_rows(verdicts: list[RecordedVerdict]) -> list[ParsedRow]:
    """The prompts and responses the verdicts speak of, as the pairs import shape reads them."""
    return [ParsedRow(v.turns, [(v.response_a, None), (v.response_b, None)]) for v in verdicts]


def recorded_verdicts(spec: str, frame: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """``FILE`` or ``FILE#JUDGE`` -> (judge name, verdicts for the pairs of ``frame``: pair_id,
    p_a, p_ab, p_ba, consistent); pairs the file has no verdict for get none (p_a NaN)."""
    path, _, wanted = spec.partition("#")
    verdicts = read_verdicts(path)
    judges = sorted({v.judge for v in verdicts})
    if wanted:
        if wanted not in judges:
            raise ValueError(f"{path}: no verdicts of judge {wanted!r}; it holds {judges}")
        judges = [wanted]
    elif len(judges) > 1:
        raise ValueError(f"{path} holds several judges {judges}; name one: recorded:{path}#NAME")
    name = judges[0]
    rows = verdict_frame([v for v in verdicts if v.judge == name], Path(path).name)
    meta = rows["metadata"].map(json.loads)
    out = pd.DataFrame(
        {
            "pair_id": rows["pair_id"],
            "p_a": rows["p_a"],
            "p_ab": meta.map(lambda m: m["p_ab"]),
            "p_ba": meta.map(lambda m: m["p_ba"]),
            "consistent": meta.map(lambda m: m["consistent"]),
        }
    ).drop_duplicates("pair_id", keep="last")
    found = out.set_index("pair_id").reindex(frame["pair_id"]).reset_index()
    return f"{name} (recorded)", found


def import_verdicts(store, path: str | Path, limits=None) -> ImportReport:
    """Validate the whole file, then add the pairs it names and its verdicts as AI labels.

    Content and verdicts are written in two transactions: if the second fails, the pairs are in and
    a re-import adds exactly the missing verdicts (both inserts skip what is already stored)."""
    from annotate_app.analytics.calibration import refresh_calibrations
    from annotate_app.ingest.importer import ImportReport, _Collector
    from annotate_app.ingest.pairs import PairConfig

    path = Path(path)
    verdicts = read_verdicts(path, limits)
    collector = _Collector(path.name, PairConfig())
    for row in content_rows(verdicts):
        collector.add(row)
    counts = store.ingest_frames(*collector.finish()).as_dict()
    added = store.add_judge_verdicts(verdict_frame(verdicts, path.name))
    if added:
        refresh_calibrations(store, any_new=True)
    file_type = (
        "parquet" if path.suffix == ".parquet" else "csv" if ".csv" in path.suffixes else "jsonl"
    )
    return ImportReport(
        path.name,
        file_type,
        FORMAT,
        len(verdicts),
        {**counts, "verdicts": added},
        [],
    )
