"""Background jobs (judging, training, scoring, routing): state, progress and errors; start a
training run now, and cancel a running job.

The server's poller keeps the ``jobs`` table current; the table here rereads it every few seconds.
"Train now" starts the same job as the automatic retrain (``reward.jobs.start_training``), and
Cancel is the runner's cancel, as ``annotate jobs cancel`` uses it.
"""

from __future__ import annotations

import streamlit as st

from annotate_app.reward.jobs import TRAIN, TrainingBusy, labels_since_active, start_training
from annotate_app.ui import common

REFRESH_SECONDS = 2
CANCEL_GRACE_S = 5.0  # the worker stops at its next progress report, or is killed after this
COLUMNS = ["id", "kind", "status", "progress", "message", "error", "created_at", "finished_at"]

common.require_admin()
services = common.services()
store = services.store
st.title("Jobs")


def _train_now() -> None:
    busy = store.active_job(TRAIN)
    left, right = st.columns([1, 3])
    clicked = left.button(
        "Train now",
        key="jobs-train",
        type="primary",
        disabled=busy is not None,
        help="Train the reward model on every label so far, score the open pairs and reorder the "
        "queue; the same job the app starts by itself every N new labels.",
    )
    if busy:
        right.caption(f"Training job {busy} is running; new labels count toward the next run.")
    else:
        right.caption(f"{labels_since_active(store)} labels arrived since the active model.")
    if clicked:
        try:
            job_id = start_training(store, services.runner)
        except (TrainingBusy, ValueError) as exc:
            st.warning(str(exc))
        else:
            st.success(f"Started training job {job_id}; its progress shows below.")


@st.fragment(run_every=REFRESH_SECONDS)
def jobs_table() -> None:
    jobs = store.list_jobs(limit=200)
    if jobs.empty:
        st.info("No jobs yet. Judging, training and scoring show their progress here.")
        return
    counts = jobs["status"].value_counts()
    st.caption(" · ".join(f"{status}: {n}" for status, n in counts.items()))
    unfinished = jobs[jobs["status"].isin(["queued", "running"])]
    if not unfinished.empty:
        pick, stop = st.columns([3, 1], vertical_alignment="bottom")
        job_id = pick.selectbox(
            "Unfinished job",
            list(unfinished["id"]),
            format_func=lambda j: f"{j} ({unfinished.set_index('id').loc[j, 'kind']})",
            key="jobs-cancel-pick",
        )
        if stop.button(
            "Cancel", key="jobs-cancel", help="Stop the job; nothing half done is kept."
        ):
            services.runner.cancel(job_id, grace=CANCEL_GRACE_S)
            st.toast(f"Job {job_id}: {store.get_job(job_id)['status']}")
            jobs = store.list_jobs(limit=200)
    st.dataframe(
        jobs[COLUMNS],
        hide_index=True,
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1),
            "error": st.column_config.TextColumn("error", width="large"),
        },
    )


_train_now()
jobs_table()
