"""An annotator's own numbers: nothing here shows anyone else's labels."""

from __future__ import annotations

import streamlit as st

from annotate_app.annotation import assignment as queue
from annotate_app.ui import common

who = common.require_account()
store = common.store()
done = queue.progress(store, who.name)
st.title("My stats")
cols = st.columns(3)
cols[0].metric("Labeled today", done.done_today)
cols[1].metric("Labeled in total", done.done_total)
cols[2].metric("Left in my queue", done.left)
mine = store.annotators_frame()
mine = mine[mine["name"] == who.name]
if not mine.empty and mine.iloc[0]["labels"]:
    st.metric("Median seconds per label", f"{mine.iloc[0]['median_seconds']:.1f}")
