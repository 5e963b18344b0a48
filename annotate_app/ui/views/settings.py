"""Project settings: guidelines, overlap, gold checks, aspects, leases, retraining, import limits,
password. Every field is one of ``annotate_app.settings.ProjectSettings``, checked there on save.

The human budget and routing policy live on the Routing page, next to their preview; the session
idle timeout and accounts on the Annotators page.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from annotate_app.accounts import auth
from annotate_app.ingest.readers import format_size
from annotate_app.settings import ProjectSettings
from annotate_app.ui import common

MiB = 1 << 20


def _bytes(mib: int, stored: int) -> int:
    """The stored byte count unless the admin changed the MiB shown (which rounds it down)."""
    return stored if mib == max(1, stored // MiB) else mib * MiB


who = common.require_admin()
store = common.store()
current = ProjectSettings.load(store)
st.title("Project settings")
with st.form("settings"):
    guidelines = st.text_area("Guidelines (markdown)", current.guidelines, height=240)
    cols = st.columns(3)
    overlap = cols[0].number_input(
        "Overlap k",
        min_value=1,
        max_value=20,
        value=current.overlap_k,
        help="How many different annotators label each pair.",
    )
    gold = cols[1].slider(
        "Gold fraction",
        0.0,
        0.5,
        float(current.gold_fraction),
        step=0.01,
        help="Share of pairs that are gold checks (pairs imported with a label), mixed in unannounced.",
    )
    lease = cols[2].number_input(
        "Lease minutes",
        min_value=1,
        max_value=24 * 60,
        value=current.lease_minutes,
        help="How long a pair stays reserved for the annotator it was shown to.",
    )
    aspects = st.toggle(
        "Aspect ratings (helpfulness, harmlessness, honesty)", value=current.aspects_enabled
    )
    retrain = st.number_input(
        "Retrain the reward model every N new labels (0 = only on demand)",
        min_value=0,
        value=current.retrain_every,
        help="A retrain rescores the open pairs and reorders the human queue (active learning).",
    )
    st.markdown("**Import limits** (per file; `annotate import --max-...` raises them for one run)")
    limits = st.columns(3)
    max_mib = limits[0].number_input(
        "Expanded size (MiB)",
        min_value=1,
        value=max(1, current.import_max_bytes // MiB),
        help="A compressed file is measured as it expands; a gzip bomb stops here. "
        f"Now {format_size(current.import_max_bytes)}.",
    )
    line_mib = limits[1].number_input(
        "Longest line (MiB)",
        min_value=1,
        value=max(1, current.import_max_line_bytes // MiB),
        help="One JSONL row, or one physical line of a CSV.",
    )
    max_rows = limits[2].number_input("Rows", min_value=1, value=current.import_max_rows)
    saved = st.form_submit_button("Save settings", type="primary")
if saved:
    new = dataclasses.replace(
        current,
        overlap_k=int(overlap),
        gold_fraction=float(gold),
        aspects_enabled=bool(aspects),
        lease_minutes=int(lease),
        guidelines=guidelines,
        retrain_every=int(retrain),
        import_max_bytes=_bytes(int(max_mib), current.import_max_bytes),
        import_max_line_bytes=_bytes(int(line_mib), current.import_max_line_bytes),
        import_max_rows=int(max_rows),
    )
    try:
        new.save(store, who)
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.success("Settings saved.")

st.subheader("Project password")
st.caption(
    "Accounts without their own password sign in with this one. "
    + (
        "A project password is set."
        if auth.project_password_set(store)
        else "No project password is set."
    )
)
with st.form("project-password"):
    password = st.text_input("New project password (empty clears it)", type="password")
    if st.form_submit_button("Set project password"):
        auth.set_project_password(store, who, password or None)
        st.success("Project password set." if password else "Project password cleared.")
