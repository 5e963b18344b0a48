"""Upload a file and import it through the same ingest code as ``annotate import``.

Every row is validated first; the import happens only when the admin confirms a clean file, or
explicitly chooses to import the valid rows and skip the rest. Every download of the project's
outputs sits here too: the preference dataset (with the safe default: labels given by people only,
and judge verdicts only when every judge has been measured against people), the audit log and the
reward model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from annotate_app import settings
from annotate_app.analytics.agreement import judge_agreement
from annotate_app.export.audit import AUDIT_FORMATS, audit_log_bytes
from annotate_app.export.model import EXPORT_MODEL, model_zip, start_model_zip
from annotate_app.export.options import EXPORT_FORMATS, ExportOptions
from annotate_app.export.preferences import export_bytes, preference_rows
from annotate_app.ingest import (
    ImportOptions,
    IngestError,
    PairConfig,
    RowError,
    import_file,
    parse_file,
)
from annotate_app.ingest.formats import FORMATS
from annotate_app.labels.consensus import AGGREGATIONS
from annotate_app.labels.sources import PEOPLE
from annotate_app.ui import common

SHOWN_ERRORS = 500
IMPORTED_KEY = (
    "data-imported"  # the last import's report, shown after the rerun that refreshes counts
)
# A judge counts as measured once this many pairs carry both its verdict and people's decision: the
# Wilson interval of its agreement is then about +-0.3 wide or narrower.
MIN_MEASURED_PAIRS = 10
_FORMAT_NAMES = {
    "dpo-jsonl": "JSONL (TRL / DPO)",
    "parquet": "Parquet",
    "hf": "HF dataset (zip)",
    "battles": "Battles (JSON, for model ratings)",
}
MODEL_ZIP_REFRESH_S = 2  # how often the page looks whether the model's zip is ready
EXPORT_CHOICES = {fmt: _FORMAT_NAMES.get(fmt, fmt) for fmt in EXPORT_FORMATS}

common.require_admin()
store = common.store()
st.title("Data")
stats = store.stats()
st.caption(
    f"{stats['prompts']} prompts · {stats['responses']} responses · {stats['pairs']} pairs "
    f"({stats['labeled_pairs']} labeled)"
)
_done = st.session_state.pop(IMPORTED_KEY, None)
if _done is not None:
    added, summary = _done
    if added:
        st.success(summary)
    else:
        st.info(
            f"Already present: every prompt, response and pair of this file was imported before. "
            f"({summary})"
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
            try:  # what only the project can tell (a model name like one it holds) shows up here
                report = import_file(store, path, options)
            except IngestError as exc:
                st.error(f"{upload.name} cannot be imported.")
                _error_table(exc.errors)
                st.stop()
            st.session_state[IMPORTED_KEY] = (sum(report.added.values()), report.summary())
            st.rerun()  # the counts at the top of the page include what was just added


def _measured_judges() -> tuple[list[str], pd.DataFrame]:
    """The judges with verdicts, and each one's agreement with people where it has been measured."""
    judges = store.judge_ids()
    measured = judge_agreement(store.overlap_votes())
    return judges, measured[measured["n_pairs"] >= MIN_MEASURED_PAIRS]


def _preparing(job: dict | None) -> bool:
    return job is not None and job["status"] in ("queued", "running")


def _model_download(version: str) -> None:
    """The zip is written by a worker job (writing it loads the model); while the job runs, the
    panel looks again every few seconds."""
    preparing = _preparing(store.latest_job(EXPORT_MODEL, "version", version))
    every = MODEL_ZIP_REFRESH_S if preparing else None
    st.fragment(run_every=every)(_model_zip_panel)(version, preparing)


def _model_zip_panel(version: str, was_preparing: bool) -> None:
    services = common.services()
    job = store.latest_job(EXPORT_MODEL, "version", version)
    if was_preparing and not _preparing(job):
        st.rerun()  # the job ended: a full run draws the result and stops the polling
    ready = model_zip(services.runner, job) if job else None
    if ready is not None:
        st.download_button(
            "Download reward model (Hugging Face folder, zipped)",
            data=ready.read_bytes,
            file_name=ready.name,
            key="data-model-download",
            on_click="ignore",
            type="primary",
        )
        return
    if _preparing(job):
        st.caption(f"Preparing the zip: {job.get('message') or job['status']}…")
        return
    if job is not None and job["status"] == "failed":
        st.warning(f"The last try failed: {(job.get('error') or 'no message').splitlines()[0]}")
    if st.button("Prepare the model download", key="data-model-prepare"):
        try:
            start_model_zip(store, services.runner, version)
        except (ValueError, FileNotFoundError) as exc:
            st.error(str(exc))
        else:
            st.rerun()  # a full run: the panel polls while the job runs


st.divider()
st.subheader("Export")
judges, measured = _measured_judges()
unmeasured = sorted(set(judges) - set(measured["judge"]))
include_ai = False
if judges:
    include_ai = st.toggle(
        "Include AI judge verdicts",
        key="data-export-ai",
        disabled=bool(unmeasured),
        help="Off: only labels from people (annotators, imported gold, adjudications). A judge is "
        f"included only once it has been measured against people on {MIN_MEASURED_PAIRS}+ pairs.",
    )
    if unmeasured:
        st.caption(
            f"Judge verdicts stay out: {', '.join(unmeasured)} "
            f"{'has' if len(unmeasured) == 1 else 'have'} not been measured against people on "
            f"{MIN_MEASURED_PAIRS} pairs yet."
        )
    else:
        st.caption(
            " · ".join(
                f"{r.judge}: agrees with people on {r.agreement:.0%} of {r.n_pairs} pairs"
                for r in measured.itertuples()
            )
        )
fmt_col, test_col = st.columns(2)
export_fmt = fmt_col.selectbox(
    "Format", list(EXPORT_CHOICES), format_func=EXPORT_CHOICES.get, key="data-export-fmt"
)
test_fraction = test_col.slider(
    "Test split (share of prompts)", 0.0, 0.5, 0.0, 0.05, key="data-export-test"
)
with st.expander("How a pair with several votes is decided"):
    agg_col, agree_col, conf_col = st.columns(3)
    aggregate = agg_col.selectbox(
        "Aggregate the votes",
        AGGREGATIONS,
        key="data-export-aggregate",
        help="mean: the mean of the votes' strengths; majority: the most common side; bt: "
        "Bradley-Terry over all votes, weighted by each voter's agreement with the rest.",
    )
    min_agreement = agree_col.slider(
        "Minimum agreement", 0.0, 1.0, 0.0, 0.05, key="data-export-agree",
        help="Leave out pairs where fewer than this share of the votes side with the decision.",
    )  # fmt: skip
    min_confidence = conf_col.slider(
        "Minimum confidence", 0.0, 1.0, 0.0, 0.05, key="data-export-conf",
        help="Leave out pairs whose chosen side is better with less than this probability.",
    )  # fmt: skip
export_options = ExportOptions(
    source="all" if include_ai else PEOPLE,
    aggregate=aggregate,
    min_agreement=float(min_agreement),
    min_confidence=float(min_confidence),
    test_fraction=float(test_fraction),
)
if export_fmt == "battles":
    st.caption("Battles: every vote as one model-against-model battle, for an Arena-style rating.")
else:
    export_rows = preference_rows(store, export_options)
    flagged = export_rows.dropped.get("flagged", 0)
    left_out = ", ".join(f"{n} {why}" for why, n in export_rows.dropped.items() if n)
    st.caption(
        f"{sum(len(rows) for rows in export_rows.splits.values())} preference rows"
        + (f"; left out {left_out}" if left_out else "")
        + (" (flagged pairs come back after review)" if flagged else "")
    )
if st.button("Prepare the download", key="data-export-prepare"):
    data, name = export_bytes(store, export_fmt, export_options)
    st.download_button(
        f"Download {name}", data, file_name=name, key="data-export-download", type="primary"
    )

audit_col, model_col = st.columns(2)
with audit_col:
    st.markdown("**Audit log**")
    audit_fmt = st.selectbox("Audit log format", AUDIT_FORMATS, key="data-audit-format")
    st.download_button(
        "Download audit log (every label event)",
        data=lambda: audit_log_bytes(store.audit_log_frame(), audit_fmt),
        file_name=f"label-events.{audit_fmt}",
        key="data-audit-download",
        on_click="ignore",
    )
with model_col:
    st.markdown("**Reward model**")
    versions = store.model_versions_frame()
    if versions.empty:
        st.caption("No reward model trained yet: train one on the Jobs page.")
    else:
        version = st.selectbox(
            "Reward model version", list(versions["id"])[::-1], key="data-model-version"
        )
        _model_download(str(version))
