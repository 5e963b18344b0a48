"""Import a file into a project: read, validate every row, normalise, pair, then write in one go.

Validation finishes before anything is written, and the write is one transaction, so a bad file
leaves the project exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from annotate_app import ids, settings
from annotate_app.accounts import names
from annotate_app.ingest.errors import IngestError, RowError
from annotate_app.ingest.folders import folder_rows
from annotate_app.ingest.formats import FORMATS, ParsedRow, detect_format, parse_row
from annotate_app.ingest.pairs import PairConfig, pair_up
from annotate_app.ingest.readers import ReadLimits, read_rows
from annotate_app.store import Store


@dataclass
class ImportOptions:
    format: str | None = None  # None: detect from the first row
    pairs: PairConfig = field(default_factory=PairConfig)
    skip_invalid: bool = False
    limits: ReadLimits | None = None  # None: the project's import limits (defaults without one)


@dataclass
class ImportReport:
    file: str
    file_type: str
    format: str
    rows: int
    added: dict[str, int]
    skipped: list[RowError]
    dropped_blank: int = 0  # rows left out because a response is blank (``formats.is_blank``)
    merged_role_runs: int = 0  # rows whose conversation had one role twice in a row, merged

    def summary(self) -> str:
        added = ", ".join(f"{v} {k}" for k, v in self.added.items())
        skipped = f"; skipped {len(self.skipped)} invalid rows" if self.skipped else ""
        blank = (
            f"; dropped {self.dropped_blank} rows with an empty response"
            if self.dropped_blank
            else ""
        )
        merged = (
            f"; merged repeated-role turns in {self.merged_role_runs} rows"
            if self.merged_role_runs
            else ""
        )
        return (
            f"{self.file}: {self.rows} rows as {self.format}; added {added}{skipped}{blank}{merged}"
        )


def render_turns(turns: list[dict]) -> str:
    """Flat text of a conversation: the bare prompt for one user turn, else role-tagged turns."""
    if len(turns) == 1 and turns[0]["role"] == "user":
        return turns[0]["content"]
    names = {"user": "User", "assistant": "Assistant", "system": "System"}
    return "\n\n".join(f"{names[t['role']]}: {t['content']}" for t in turns)


def _metadata_json(metadata: dict) -> str:
    """Extra columns as JSON. A lone surrogate (legal in JSON text, not storable anywhere) becomes
    '?', so an odd extra column never fails an import; the texts themselves are validated instead."""
    text = json.dumps(metadata, ensure_ascii=False, default=str)
    return text.encode("utf-8", errors="replace").decode("utf-8")


class _Collector:
    """Accumulates normalised rows as table records, deduplicating by content id as it goes."""

    def __init__(self, source: str, pairs: PairConfig) -> None:
        self.source = source
        self.pair_config = pairs
        self.prompts: dict[str, dict] = {}
        self.responses: dict[str, dict] = {}
        self.pairs: dict[str, dict] = {}
        self.labels: list[dict] = []
        self.pending: dict[str, list[str]] = {}  # multi-response: prompt -> response ids
        self.dropped_blank = 0
        self.model_lines: dict[str, int] = {}  # model name -> first line naming it
        self.merged_role_runs = 0

    def add(self, row: ParsedRow) -> None:
        if row.has_blank_response:
            self.dropped_blank += 1
            return
        self.merged_role_runs += bool(row.merged_runs)
        pid = ids.prompt_id(row.turns)
        self.prompts.setdefault(
            pid,
            {
                "id": pid,
                "text": render_turns(row.turns),
                "turns": json.dumps(row.turns, ensure_ascii=False),
                "n_turns": len(row.turns),
                "source": self.source,
                "category": row.category,
                "metadata": _metadata_json(row.metadata) if row.metadata else None,
            },
        )
        rids = []
        for text, model in row.responses:
            rid = ids.response_id(pid, text)
            self.responses.setdefault(
                rid, {"id": rid, "prompt_id": pid, "text": text, "model": model, "metadata": None}
            )
            rids.append(rid)
        if len(rids) == 1:
            self.pending.setdefault(pid, []).extend(rids)
            return
        pair = self._pair(pid, *sorted(rids))
        if row.labeled:
            self.labels.append(
                {
                    "pair_id": pair,
                    "annotator": f"import:{self.source}",
                    "choice": 1 if rids[0] == self.pairs[pair]["response_a"] else -1,
                    "metadata": None,
                }
            )

    def _pair(self, pid: str, a: str, b: str) -> str:
        key = ids.pair_id(a, b)
        self.pairs.setdefault(
            key,
            {"id": key, "prompt_id": pid, "response_a": a, "response_b": b, "source": self.source},
        )
        return key

    def finish(
        self, stored: dict[str, list[str]] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``stored``: responses the project already holds for these prompts, so that outputs of
        several models imported file by file are still paired with each other."""
        stored = stored or {}
        for pid, rids in self.pending.items():
            for a, b in pair_up(pid, stored.get(pid, []) + rids, self.pair_config):
                self._pair(pid, a, b)
        frames = [
            pd.DataFrame(list(self.prompts.values()), columns=list(_PROMPT_COLS)),
            pd.DataFrame(list(self.responses.values()), columns=list(_RESPONSE_COLS)),
            pd.DataFrame(list(self.pairs.values()), columns=list(_PAIR_COLS)),
            pd.DataFrame(self.labels, columns=list(_LABEL_COLS)),
        ]
        return tuple(f.astype({"n_turns": "int32"}) if "n_turns" in f else f for f in frames)


_PROMPT_COLS = ("id", "text", "turns", "n_turns", "source", "category", "metadata")
_RESPONSE_COLS = ("id", "prompt_id", "text", "model", "metadata")
_PAIR_COLS = ("id", "prompt_id", "response_a", "response_b", "source")
_LABEL_COLS = ("pair_id", "annotator", "choice", "metadata")


def parse_file(
    path: Path, options: ImportOptions
) -> tuple[str, str, int, _Collector, list[RowError]]:
    """Read and validate the whole file without touching a project."""
    if options.format is not None and options.format not in FORMATS:
        raise IngestError(
            [
                RowError(
                    path.name,
                    None,
                    None,
                    f"unknown format {options.format!r}; use one of {FORMATS}",
                )
            ]
        )
    reader = folder_rows if path.is_dir() and not path.is_symlink() else read_rows
    file_type, rows = reader(path, options.limits)
    collector = _Collector(path.name, options.pairs)
    errors: list[RowError] = []
    fmt = options.format
    n_rows = 0
    for item in rows:
        n_rows += 1
        if isinstance(item, RowError):
            errors.append(item)
            continue
        line, row = item
        if fmt is None:
            fmt = detect_format(row)
            if fmt is None:
                raise IngestError(
                    [
                        RowError(
                            path.name,
                            line,
                            None,
                            f"cannot tell the format from columns {sorted(row)}; expected "
                            "prompt+response_a+response_b, prompt+chosen+rejected, chosen+rejected "
                            "(HH dialogues) or prompt+response+model; or pass --format",
                        )
                    ]
                )
        parsed = parse_row(row, fmt, path.name, line)
        if isinstance(parsed, RowError):
            errors.append(parsed)
        else:
            collector.add(parsed)
            for _, model in parsed.responses:
                if model is not None:
                    collector.model_lines.setdefault(model, line)
    if fmt is None:
        errors = errors or [RowError(path.name, None, None, "the file has no rows")]
        raise IngestError(errors)
    check_model_names(path.name, collector.model_lines)
    return file_type, fmt, n_rows, collector, errors


def check_model_names(
    file: str, model_lines: dict[str, int], stored: list[str] | tuple[str, ...] = ()
) -> None:
    """Refuse model names that look like a different one in this file or the project (``ADMIN``
    and ``admin``, a Cyrillic letter): they would split one model's results, or pass one model
    off as another. Names are stored as given; ``names.normalise`` gives their displayed form."""
    clashes = names.look_alikes(model_lines, stored)
    if clashes:
        raise IngestError(
            [
                RowError(
                    file,
                    model_lines[name],
                    "model",
                    f"the model name {name!r} looks like {other!r}; spell one model one way",
                )
                for name, other in clashes.items()
            ]
        )


def import_file(
    store: Store, path: str | Path, options: ImportOptions | None = None
) -> ImportReport:
    options = options or ImportOptions()
    if options.limits is None:
        options = replace(options, limits=settings.load(store).read_limits())
    path = Path(path)
    file_type, fmt, n_rows, collector, errors = parse_file(path, options)
    if errors and not options.skip_invalid:
        raise IngestError(errors, skippable=True)
    if fmt == "verdicts":  # a judge's labels as well as pairs: an import of its own, all or nothing
        from annotate_app.ingest.verdicts import import_verdicts

        return import_verdicts(store, path, options.limits)
    check_model_names(path.name, collector.model_lines, store.review_models())
    stored = store.response_ids_by_prompt(list(collector.pending)) if collector.pending else {}
    counts = store.ingest_frames(*collector.finish(stored))
    return ImportReport(
        path.name,
        file_type,
        fmt,
        n_rows,
        counts.as_dict(),
        errors,
        dropped_blank=collector.dropped_blank,
        merged_role_runs=collector.merged_role_runs,
    )
