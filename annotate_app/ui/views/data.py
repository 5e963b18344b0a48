"""Upload a file and import it through the same ingest code as ``annotate import``.

Every row is validated first; the import happens only when the admin confirms a clean file, or
explicitly chooses to import the valid rows and skip the rest.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from annotate_app import settings
from annotate_app.ingest import (
    ImportOptions,
    IngestError,
    PairConfig,
    RowError,
    import_file,
    parse_file,
)
from annotate_app.ingest.formats import FORMATS
from annotate_app.ui import common

SHOWN_ERRORS = 500

common.require_admin()
store = common.store()
st.title("Data")
stats = store.stats()
st.caption(
    f"{stats['prompts']} prompts · {stats['responses']} responses · {stats['pairs']} pairs "
    f"({stats['labeled_pairs']} labeled)"
)


def _error_table(errors: list[RowError]) -> None:
    frame = pd.DataFrame(
        [{"line": e.line, "field": e.field, "problem": e.problem} for e in errors[:SHOWN_ERRORS]]
    )
    st.dataframe(frame, hide_index=True, use_container_width=True)
    if len(errors) > SHOWN_ERRORS:
        st.caption(f"... and {len(errors) - SHOWN_ERRORS} more")


upload = st.file_uploader(
    "JSONL, JSONL.gz, CSV or Parquet",
    type=["jsonl", "gz", "csv", "parquet"],
    help="Rows: prompt + response_a + response_b, prompt + chosen + rejected, HH dialogues "
    "(chosen + rejected), or prompt + response + model.",
)
cols = st.columns(2)
fmt = cols[0].selectbox("Format", ["detect", *FORMATS])
per_prompt = cols[1].number_input(
    "Pairs per prompt (multi-response; 0 = every combination)", min_value=0, value=0
)
if upload is not None:
    options = ImportOptions(
        format=None if fmt == "detect" else fmt,
        pairs=PairConfig(pairs_per_prompt=int(per_prompt) or None),
        limits=settings.load(store).read_limits(),
    )
    with tempfile.TemporaryDirectory(prefix="annotate-upload-") as folder:
        path = Path(folder) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            _, found, n_rows, _, errors = parse_file(path, options)
        except IngestError as exc:
            st.error(f"{upload.name} cannot be imported.")
            _error_table(exc.errors)
            st.stop()
        if errors:
            st.warning(f"{n_rows} rows read as {found}: **{len(errors)} invalid**.")
            _error_table(errors)
            go = st.button(f"Import the {n_rows - len(errors)} valid rows, skip the invalid ones")
        else:
            st.success(f"{n_rows} rows read as {found}; every row is valid.")
            go = st.button("Import", type="primary")
        if go:
            options.skip_invalid = bool(errors)
            report = import_file(store, path, options)
            st.success(report.summary())
