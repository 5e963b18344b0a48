"""Hugging Face dataset folders as import input: the Hub layout (``data/<split>-*.parquet``, as our
own ``hf`` export writes it) or a ``save_to_disk`` folder (``dataset_dict.json`` or ``state.json``
beside Arrow files). Every split is imported; rows are numbered across the folder's data files in
name order, so an error's row number points at one row of the folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from annotate_app.ingest.errors import IngestError, RowError
from annotate_app.ingest.readers import ReadLimits, RowOrError, read_rows


def folder_kind(path: Path) -> str:
    """'hf-parquet' or 'hf-arrow', or an IngestError naming what a dataset folder must hold."""
    if any(_data_files(path, "*.parquet")):
        return "hf-parquet"
    if any(_data_files(path, "*.arrow")):
        return "hf-arrow"
    raise IngestError(
        [
            RowError(
                path.name,
                None,
                None,
                "is a folder without dataset files; expected a Hugging Face dataset folder "
                "(data/*.parquet, or the Arrow files of datasets' save_to_disk)",
            )
        ]
    )


def _data_files(path: Path, pattern: str) -> list[Path]:
    return sorted(
        p
        for p in path.rglob(pattern)
        if p.is_file() and not p.is_symlink() and "cache" not in p.name
    )


def folder_rows(path: Path, limits: ReadLimits | None = None) -> tuple[str, Iterator[RowOrError]]:
    """(kind, rows) of every data file in the folder, numbered 1.. across files."""
    limits = limits or ReadLimits()
    kind = folder_kind(path)
    if kind == "hf-parquet":
        files = _data_files(path, "*.parquet")
        return kind, _renumbered(read_rows(f, limits)[1] for f in files)
    return kind, _renumbered(_arrow_rows(f, path, limits) for f in _data_files(path, "*.arrow"))


def _renumbered(parts: Iterator[Iterator[RowOrError]]) -> Iterator[RowOrError]:
    number = 0
    for rows in parts:
        for item in rows:
            number += 1
            if isinstance(item, RowError):
                yield RowError(item.file, number, item.field, item.problem)
            else:
                yield number, item[1]


def _arrow_rows(file: Path, folder: Path, limits: ReadLimits) -> Iterator[RowOrError]:
    import pyarrow as pa

    name = f"{folder.name}/{file.relative_to(folder)}"
    if file.stat().st_size > limits.max_bytes:
        raise IngestError(
            [
                RowError(
                    name, None, None, f"larger than the import limit of {limits.max_bytes} bytes"
                )
            ]
        )
    try:
        source = pa.memory_map(str(file))
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:
            reader = pa.ipc.open_file(source)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = iter(reader)
        count = 0
        for batch in batches:
            for row in batch.to_pylist():
                count += 1
                if count > limits.max_rows:
                    raise IngestError(
                        [RowError(name, count, None, f"more than {limits.max_rows:,} rows")]
                    )
                yield count, row
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError([RowError(name, None, None, f"unreadable Arrow file: {exc}")]) from None
