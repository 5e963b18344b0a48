"""Project settings: guidelines, overlap, gold checks, aspects, leases, retraining, password.

The human budget and routing policy live on the Routing page, next to their preview.
"""

from __future__ import annotations

import streamlit as st

from annotate_app.accounts import auth
from annotate_app.annotation.assignment import LabelingSettings
from annotate_app.ui import common

who = common.require_admin()
store = common.store()
current = LabelingSettings.load(store)
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
    saved = st.form_submit_button("Save settings", type="primary")
if saved:
    new = LabelingSettings(
        overlap_k=int(overlap),
        gold_fraction=float(gold),
        aspects_enabled=bool(aspects),
        lease_minutes=int(lease),
        guidelines=guidelines,
        retrain_every=int(retrain),
        queue_seed=current.queue_seed,
    )
    try:
        new.save(store, who)
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.success("Settings saved.")

st.subheader("Project password")
has_password = bool(store.get_setting(auth.PROJECT_PASSWORD_KEY))
st.caption(
    "Accounts without their own password sign in with this one. "
    + ("A project password is set." if has_password else "No project password is set.")
)
with st.form("project-password"):
    password = st.text_input("New project password (empty clears it)", type="password")
    if st.form_submit_button("Set project password"):
        auth.set_project_password(store, who, password or None)
        st.success("Project password set." if password else "Project password cleared.")
