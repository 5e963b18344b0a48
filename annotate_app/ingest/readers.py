"""File readers: JSONL, CSV and Parquet, each optionally gzipped, streamed with limits.

Every reader pulls the file through one counting stream, so memory stays near one line (or one
Parquet batch) whatever the file expands to. The stream enforces three limits (``ReadLimits``):
the expanded size of the file, the length of one line, and the number of rows. Passing one is an
``IngestError`` that names the file, the line and the limit, raised before anything is written.

Bytes are decoded strictly, line by line, so a bad byte is reported at its line rather than
silently replaced. A UTF-16 or UTF-32 file (told by its byte order mark) is refused with a message
saying to save it as UTF-8. Duplicate keys in one JSON object are an error naming the key. A
symbolic link is refused without being read: errors may quote a file's first line (its column
names), and a link could point at a file the person importing should not see.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from annotate_app.ingest.errors import IngestError, RowError

FILE_TYPES = ("jsonl", "csv", "parquet")
RowOrError = tuple[int, dict] | RowError
PARQUET_BATCH_ROWS = 1024
_CHUNK = 1 << 16
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


@dataclass(frozen=True)
class ReadLimits:
    """How much one imported file may hold. The project settings and ``annotate import`` flags
    raise them for files that are known to be large."""

    max_bytes: int = 2 << 30  # expanded (decompressed) size of the file
    max_line_bytes: int = 64 << 20  # one JSONL row, or one physical line of a CSV
    max_rows: int = 2_000_000

    def validate(self) -> None:
        for name in ("max_bytes", "max_line_bytes", "max_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be 1 or more, got {getattr(self, name)}")


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """'512M', '2G', '1500000', '64k' -> bytes (binary units)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not found:
        raise ValueError(f"not a size: {text!r} (use a number with an optional K, M or G)")
    return int(float(found[1]) * _UNITS[found[2]])


def format_size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


_LIMIT_FLAGS = {"max_bytes": "--max-bytes", "max_line_bytes": "--max-line-bytes"}


def _limit_error(name: str, line: int | None, what: str, limit: str, flag: str) -> IngestError:
    return IngestError(
        [
            RowError(
                name,
                line,
                None,
                f"{what} passes the limit of {limit}; nothing was read further "
                f"(raise it with 'annotate import {flag}' or the project's import limits)",
            )
        ]
    )


class _LimitedStream(io.RawIOBase):
    """Counts the bytes and lines that pass through, and stops at the first limit passed."""

    def __init__(self, source: BinaryIO, name: str, limits: ReadLimits) -> None:
        self.source = source
        self.name = name
        self.limits = limits
        self.total = 0
        self.line = 1  # the line the next byte belongs to
        self.line_bytes = 0  # bytes of that line read so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.source.read(min(len(buffer), _CHUNK))
        n = len(data)
        if not n:
            return 0
        self.total += n
        if self.total > self.limits.max_bytes:
            raise _limit_error(
                self.name,
                self.line,
                "the file's expanded size",
                format_size(self.limits.max_bytes),
                "--max-bytes",
            )
        self._count_lines(data)
        buffer[:n] = data
        return n

    def _count_lines(self, data: bytes) -> None:
        cap = self.limits.max_line_bytes
        parts = data.split(b"\n")
        if len(parts) > 1:
            lengths = [self.line_bytes + len(parts[0]), *map(len, parts[1:-1])]
            if max(lengths) > cap:
                self.line += next(i for i, n in enumerate(lengths) if n > cap)
                self._line_too_long()
            self.line += len(parts) - 1
            self.line_bytes = len(parts[-1])
        else:
            self.line_bytes += len(data)
        if self.line_bytes > cap:
            self._line_too_long()

    def _line_too_long(self) -> None:
        raise _limit_error(
            self.name,
            self.line,
            "the line's length",
            format_size(self.limits.max_line_bytes),
            "--max-line-bytes",
        )


def _file_error(name: str, problem: str, line: int | None = None) -> IngestError:
    return IngestError([RowError(name, line, None, problem)])


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
    raise _file_error(path.name, "unknown file type: expected .jsonl, .jsonl.gz, .csv or .parquet")


def _check_path(path: Path) -> None:
    if path.is_symlink():
        raise _file_error(
            path.name,
            "is a symbolic link; links are not followed, pass the file it points to instead",
        )
    if not path.exists():
        raise _file_error(path.name, f"no such file: {path}")
    if path.is_dir():
        raise _file_error(path.name, "is a folder, expected a file")
    if not path.is_file():
        raise _file_error(path.name, "is not a regular file (a device, pipe or socket)")


class _Source:
    """The open file, gunzipped when it starts with the gzip magic, behind the limits."""

    def __init__(self, path: Path, limits: ReadLimits) -> None:
        self.name = path.name
        self.raw = path.open("rb")
        self.gzipped = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(0)
        inner: BinaryIO = gzip.GzipFile(fileobj=self.raw) if self.gzipped else self.raw
        self.limited = _LimitedStream(inner, path.name, limits)
        self.stream = io.BufferedReader(self.limited, buffer_size=_CHUNK)
        try:
            self.head = self.stream.peek(64)[:64]
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise _file_error(path.name, f"broken gzip data: {exc}") from None

    def lines(self) -> Iterator[bytes]:
        """Lines with their ending, turning a broken gzip stream into a located error."""
        while True:
            try:
                line = self.stream.readline()
            except (OSError, EOFError, zlib.error) as exc:
                raise _file_error(
                    self.name, f"broken gzip data: {exc}", self.limited.line
                ) from None
            if not line:
                return
            yield line

    def close(self) -> None:
        self.raw.close()


def _check_bom(name: str, head: bytes) -> None:
    for bom, encoding in _BOMS.items():
        if head.startswith(bom):
            raise _file_error(
                name,
                f"the file is {encoding} (byte order mark {bom.hex(' ')}); save it as UTF-8 "
                "and import it again",
            )


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    row = dict(pairs)
    if len(row) != len(pairs):  # rare: find which key came twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return row


# one decoder for every line: json.loads with a hook would build a new decoder per call
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def _jsonl_rows(source: _Source) -> Iterator[RowOrError]:
    name = source.name
    for number, line in enumerate(source.lines(), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield RowError(name, number, None, f"undecodable bytes (expected UTF-8): {exc.reason}")
            continue
        try:
            row = _DECODER.decode(text)
        except RecursionError:
            yield RowError(name, number, None, "JSON nested too deeply")
            continue
        except DuplicateKey as exc:
            yield RowError(
                name, number, exc.key, "the key appears twice in one JSON object (which one?)"
            )
            continue
        except ValueError as exc:
            yield RowError(name, number, None, f"broken JSON: {exc}")
            continue
        if not isinstance(row, dict):
            yield RowError(name, number, None, f"expected a JSON object, got {type(row).__name__}")
            continue
        yield number, row


def _decoded_lines(source: _Source) -> Iterator[str]:
    for number, line in enumerate(source.lines(), start=1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _file_error(
                source.name, f"undecodable bytes (expected UTF-8): {exc.reason}", number
            ) from None


def _csv_rows(source: _Source) -> Iterator[RowOrError]:
    name = source.name
    csv.field_size_limit(min(sys.maxsize, source.limited.limits.max_line_bytes))
    reader = csv.DictReader(_decoded_lines(source))
    start = 2
    try:
        for row in reader:
            if None in row:
                yield RowError(name, start, None, "more values than header columns")
            elif any(v is None for v in row.values()):
                yield RowError(name, start, None, "fewer values than header columns")
            else:
                yield start, dict(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        yield RowError(name, reader.line_num, None, f"broken CSV: {exc}")


def _parquet_rows(source: _Source, path: Path, limits: ReadLimits) -> Iterator[RowOrError]:
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="annotate-parquet-") as folder:
        if source.gzipped:  # Parquet needs to seek: expand it (within the limits) to a file
            target = Path(folder) / "expanded.parquet"
            with target.open("wb") as out:
                shutil.copyfileobj(source.stream, out, _CHUNK)
            path = target
        source.close()
        try:
            parquet = pq.ParquetFile(path)
            meta = parquet.metadata
            expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
            raise _file_error(source.name, f"unreadable Parquet: {exc}") from None
        if meta.num_rows > limits.max_rows:
            raise _rows_error(source.name, limits)
        if expanded > limits.max_bytes:
            raise _limit_error(
                source.name,
                None,
                f"the file's expanded size ({format_size(expanded)})",
                format_size(limits.max_bytes),
                "--max-bytes",
            )
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                for row in batch.to_pylist():
                    number += 1
                    yield number, row
        except Exception as exc:  # noqa: BLE001 - a corrupt page shows only when it is read
            raise _file_error(source.name, f"unreadable Parquet: {exc}", number + 1) from None


def _rows_error(name: str, limits: ReadLimits, line: int | None = None) -> IngestError:
    return IngestError(
        [
            RowError(
                name,
                line,
                None,
                f"the file has more than {limits.max_rows:,} rows, the limit; nothing was read "
                "further (raise it with 'annotate import --max-rows' or the project's import "
                "limits)",
            )
        ]
    )


def _counted(name: str, rows: Iterator[RowOrError], limits: ReadLimits) -> Iterator[RowOrError]:
    for n, item in enumerate(rows, start=1):
        if n > limits.max_rows:
            raise _rows_error(name, limits, item.line if isinstance(item, RowError) else item[0])
        yield item


def _closing(source: _Source, rows: Iterator[RowOrError]) -> Iterator[RowOrError]:
    try:
        yield from rows
    finally:
        source.close()


def read_rows(path: Path, limits: ReadLimits | None = None) -> tuple[str, Iterator[RowOrError]]:
    """(file type, rows). File-level problems raise IngestError at once; row problems are yielded;
    a limit passed while reading raises IngestError from the iterator."""
    limits = limits or ReadLimits()
    limits.validate()
    _check_path(path)
    source = _Source(path, limits)
    try:
        _check_bom(path.name, source.head)
        kind = detect_file_type(path, source.head)
    except IngestError:
        source.close()
        raise
    if kind == "parquet":
        rows = _parquet_rows(source, path, limits)
    elif kind == "csv":
        rows = _csv_rows(source)
    else:
        rows = _jsonl_rows(source)
    return kind, _closing(source, _counted(path.name, rows, limits))
