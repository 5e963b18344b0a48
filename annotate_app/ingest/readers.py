"""File readers: JSONL (optionally gzipped), CSV and Parquet, each yielding (line, row) or an error.

Readers decode bytes strictly so a bad byte is reported at its line rather than silently replaced.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from annotate_app.ingest.errors import IngestError, RowError

FILE_TYPES = ("jsonl", "csv", "parquet")
RowOrError = tuple[int, dict] | RowError

csv.field_size_limit(sys.maxsize)


def detect_file_type(path: Path, head: bytes) -> str:
    name = path.name.lower().removesuffix(".gz")
    if head.startswith(b"PAR1") or name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    raise IngestError(
        [
            RowError(
                path.name,
                None,
                None,
                "unknown file type: expected .jsonl, .jsonl.gz, .csv or .parquet",
            )
        ]
    )


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IngestError(
                [RowError(path.name, None, None, f"broken gzip data: {exc}")]
            ) from None
    return raw


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise IngestError(
            [RowError(path.name, line, None, f"undecodable bytes (expected UTF-8): {exc.reason}")]
        ) from None


def _jsonl_rows(name: str, raw: bytes) -> Iterator[RowOrError]:
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield RowError(name, number, None, f"undecodable bytes (expected UTF-8): {exc.reason}")
            continue
        try:
            row = json.loads(text)
        except RecursionError:
            yield RowError(name, number, None, "JSON nested too deeply")
            continue
        except ValueError as exc:
            yield RowError(name, number, None, f"broken JSON: {exc}")
            continue
        if not isinstance(row, dict):
            yield RowError(name, number, None, f"expected a JSON object, got {type(row).__name__}")
            continue
        yield number, row


def _csv_rows(path: Path, raw: bytes) -> Iterator[RowOrError]:
    reader = csv.DictReader(io.StringIO(_decode(path, raw), newline=""))
    start = 2
    try:
        for row in reader:
            if None in row:
                yield RowError(path.name, start, None, "more values than header columns")
            elif any(v is None for v in row.values()):
                yield RowError(path.name, start, None, "fewer values than header columns")
            else:
                yield start, dict(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        yield RowError(path.name, reader.line_num, None, f"broken CSV: {exc}")


def _parquet_rows(path: Path, raw: bytes) -> Iterator[RowOrError]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise IngestError([RowError(path.name, None, None, f"unreadable Parquet: {exc}")]) from None
    yield from enumerate(table.to_pylist(), start=1)


def read_rows(path: Path) -> tuple[str, Iterator[RowOrError]]:
    """(file type, rows). File-level problems raise IngestError at once; row problems are yielded."""
    if not path.exists():
        raise IngestError([RowError(path.name, None, None, f"no such file: {path}")])
    if path.is_dir():
        raise IngestError([RowError(path.name, None, None, "is a folder, expected a file")])
    raw = _read_bytes(path)
    kind = detect_file_type(path, raw[:64])
    if kind == "parquet":
        return kind, _parquet_rows(path, raw)
    if kind == "csv":
        return kind, _csv_rows(path, raw)
    return kind, _jsonl_rows(path.name, raw)
