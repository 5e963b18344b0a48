"""Background jobs (judging, training, scoring, routing): state, progress and errors.

The server's poller keeps the ``jobs`` table current; this page only reads it, every few seconds.
"""

from __future__ import annotations

import streamlit as st

from annotate_app.ui import common

REFRESH_SECONDS = 2
COLUMNS = ["id", "kind", "status", "progress", "message", "error", "created_at", "finished_at"]

common.require_admin()
st.title("Jobs")


@st.fragment(run_every=REFRESH_SECONDS)
def jobs_table() -> None:
    jobs = common.store().list_jobs(limit=200)
    if jobs.empty:
        st.info("No jobs yet. Judging, training and scoring show their progress here.")
        return
    counts = jobs["status"].value_counts()
    st.caption(" · ".join(f"{status}: {n}" for status, n in counts.items()))
    st.dataframe(
        jobs[COLUMNS],
        hide_index=True,
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1),
            "error": st.column_config.TextColumn("error", width="large"),
        },
    )


jobs_table()
