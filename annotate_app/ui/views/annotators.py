"""Accounts: labels done, median time and gold accuracy per annotator; add, invite, disable, enable;
the session idle timeout."""

from __future__ import annotations

import streamlit as st

from annotate_app.accounts import auth
from annotate_app.analytics.agreement import gold_accuracy
from annotate_app.ui import common

who = common.require_admin()
store = common.store()
st.title("Annotators")
frame = store.annotators_frame()
# An account with no labels has no median: a blank cell, not the word "None".
frame["median_seconds"] = frame["median_seconds"].astype("float64")
gold = gold_accuracy(store.overlap_votes()).set_index("annotator")
frame["gold_labeled"] = [int(gold["n_gold"].get(n, 0)) for n in frame["name"]]
frame["gold_accuracy"] = [gold["accuracy"].get(n) for n in frame["name"]]
st.dataframe(
    frame,
    hide_index=True,
    column_config={
        "median_seconds": st.column_config.NumberColumn("median s/label", format="%.1f"),
        "gold_labeled": st.column_config.NumberColumn("gold labeled"),
        "gold_accuracy": st.column_config.ProgressColumn("gold accuracy", min_value=0, max_value=1),
    },
)

left, right = st.columns(2)
with left, st.form("add-account", clear_on_submit=True):
    st.subheader("Add an account")
    name = st.text_input("Name", max_chars=auth.MAX_NAME)
    role = st.selectbox("Role", auth.ROLES, index=1)
    password = st.text_input("Password (optional)", type="password")
    if st.form_submit_button("Add", type="primary"):
        try:
            auth.create_account(store, who, name, role, password or None)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.success(f"Added {name}.")
            st.rerun()
with right, st.form("toggle-account"):
    st.subheader("Disable or enable")
    target = st.selectbox("Account", list(frame["name"]))
    active = st.toggle("Active", value=True)
    if st.form_submit_button("Apply") and target:
        try:
            auth.set_active(store, who, target, active)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.rerun()

invite, idle = st.columns(2)
with invite, st.form("invite"):
    st.subheader("Invite link")
    st.caption("Works once, until it expires. Only a hash of it is stored: copy it now.")
    invite_role = st.selectbox("Role", auth.ROLES, index=1, key="invite-role")
    invite_name = st.text_input(
        "For the name (optional)",
        max_chars=auth.MAX_NAME,
        help="Fixes the account name now, checked like every name; empty: the invitee chooses.",
    )
    hours = st.number_input("Valid for (hours)", min_value=1, max_value=24 * 30, value=72)
    if st.form_submit_button("Create link"):
        try:
            token = auth.create_invite(
                store, who, invite_role, float(hours), name=invite_name or None
            )
        except ValueError as exc:
            st.error(str(exc))
        else:
            base = (st.context.url or "").split("?", 1)[0]
            st.code(f"{base}?invite={token}", language=None)
with idle, st.form("idle"):
    st.subheader("Sessions")
    minutes = st.number_input(
        "Sign out after this many idle minutes",
        min_value=1,
        max_value=24 * 60,
        value=auth.idle_minutes(store),
    )
    if st.form_submit_button("Save"):
        auth.set_idle_minutes(store, who, int(minutes))
        st.success("Saved.")
