"""How export files reach the disk, in one place for every export.

- Every file is written under a temporary name beside its target and renamed once all of an
  export's files are complete, so a failure leaves no partial export and never truncates an
  existing file.
- JSON never receives NaN or infinity: they become null.
- Parquet gets an explicit Arrow schema, so text and model columns are ``string`` in every file
  (never ``large_string``, never ``null`` when a column happens to be empty).
- CSV cells that a spreadsheet would run as a formula are neutralised (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_files_atomic(targets: Mapping[Path, Callable[[Path], None]]) -> None:
    """Write each target through its function into a temporary file in the target's folder; rename
    them all onto the targets only when every one is complete."""
    written: dict[Path, Path] = {}
    try:
        for path, write in targets.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            written[path] = _temporary_name(path)
            write(written[path])
        for path, tmp in written.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in written.values():
            tmp.unlink(missing_ok=True)
        raise


def write_folder_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` with a temporary folder beside ``path``, then rename it to ``path``, which
    must not exist or be an empty folder."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} exists and is not empty; choose a new folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    tmp.mkdir()
    try:
        write(tmp)
        if path.exists():
            path.rmdir()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _temporary_name(path: Path) -> Path:
    """A fresh hidden name beside ``path``; the file is created by its writer, so it gets the usual
    permissions (a ``mkstemp`` file would stay private to its owner after the rename)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def json_value(value: object) -> object:
    """A value JSON can hold: NaN and infinities become null, numpy scalars and arrays plain."""
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def write_jsonl(records: Iterable[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(json_value(record), ensure_ascii=False, allow_nan=False) + "\n")


def write_json_array(records: Iterable[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        json.dump([json_value(r) for r in records], out, ensure_ascii=False, allow_nan=False)
        out.write("\n")


def write_parquet(records: list[dict], schema: pa.Schema, path: Path) -> None:
    clean = [json_value(r) for r in records]
    pq.write_table(pa.Table.from_pylist(clean, schema=schema), path)


def neutralise_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe; numbers
    and other cells are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with formula-like text cells neutralised and every text cell quoted
    (OWASP's advice): every CSV the app writes or serves for download goes through here."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_cell)
    return safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8")


def zip_folder(folder: Path) -> bytes:
    """Every file under ``folder`` in one zip, paths relative to ``folder``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.getvalue()
