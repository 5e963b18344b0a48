"""The label page: answered with the keyboard, the next pair painted in the frame of the key press.

The page is one component (``ui/components/label_buffer``) holding the annotator's next few pairs,
each leased to them and rendered to inert HTML on the server. A key press paints the next pair in the
browser at once and puts the answer in an outbox; the outbox is sent to the server until every
answer's id is acknowledged. Here the server side of that exchange:

- ``_sync`` (the component's callback, before the fragment reruns) records the outbox through
  ``annotation.answers``: a resent id is acknowledged with the event recorded for it, never twice.
- the fragment then tops up the buffer to ``BUFFER_PAIRS`` and sends the acknowledgements, the
  buffer (texts only for pairs the page does not hold yet) and the progress counts.

An answer therefore reruns only this fragment, and the page never waits for it.
"""

from __future__ import annotations

import os
import time

import streamlit as st

from annotate_app.annotation import answers
from annotate_app.annotation import assignment as queue
from annotate_app.annotation.assignment import ASPECTS
from annotate_app.settings import ProjectSettings
from annotate_app.ui import common
from annotate_app.ui.components.label_buffer import label_buffer, pair_payload, storage_key

BUFFER_PAIRS = 5  # pairs leased to the annotator and already in their browser
COMPONENT_KEY = "label-buffer"
TIMING_LOG = os.environ.get("ANNOTATE_TIMING_LOG")
ADMIN_HINT = (
    "To give annotators more work: import more data on the Data page, raise overlap k in Project "
    "settings so each pair gets more annotators, or route more pairs to humans."
)
ANNOTATOR_HINT = "Ask an admin to import more data or to route more pairs to humans."


def _sync() -> None:
    """Record the outbox the page sent; the acknowledgements go out with the next data."""
    started = time.perf_counter()
    sent = (st.session_state.get(COMPONENT_KEY) or {}).get("sync")
    who = common.account()
    if not isinstance(sent, dict) or who is None:
        return
    outbox = sent.get("outbox") if isinstance(sent.get("outbox"), list) else []
    store = common.store()
    acks = answers.record(store, who.name, outbox, ProjectSettings.load(store)) if outbox else []
    st.session_state["label_acks"] = [a.as_dict() for a in acks]
    st.session_state["label_seq"] = sent.get("seq") if isinstance(sent.get("seq"), int) else None
    have = sent.get("have")
    st.session_state["label_have"] = set(have) if isinstance(have, list) else set()
    st.session_state["label_sync_started"] = started


@st.fragment
def label_panel() -> None:
    who = common.require_account()
    store = common.store()
    settings = ProjectSettings.load(store)
    held = queue.held_pairs(store, who.name, settings, BUFFER_PAIRS)
    have = st.session_state.get("label_have", set())
    done = queue.progress(store, who.name, settings)
    data = {
        "store_key": storage_key(str(store.paths.db), who.name),
        "admin": who.is_admin,
        "aspects": list(ASPECTS) if settings.aspects_enabled else [],
        "pairs": [pair_payload(store, p, side, p not in have) for p, side in held],
        "progress": {"today": done.done_today, "total": done.done_total, "left": done.left},
        "acks": st.session_state.pop("label_acks", []),
        "seq": st.session_state.get("label_seq"),
        "empty_hint": ADMIN_HINT if who.is_admin else ANNOTATOR_HINT,
    }
    label_buffer(key=COMPONENT_KEY, data=data, on_sync=_sync)
    _record_server_time()


def _record_server_time() -> None:
    """Outbox received to data ready on the server, appended to ``ANNOTATE_TIMING_LOG`` when set:
    the load benchmark's probe."""
    started = st.session_state.pop("label_sync_started", None)
    if started is not None and TIMING_LOG:
        with open(TIMING_LOG, "a", encoding="utf-8") as f:
            f.write(f"{(time.perf_counter() - started) * 1000:.2f}\n")


common.require_account()
with st.expander("Guidelines"):
    guidelines = ProjectSettings.load(common.store()).guidelines
    st.markdown(guidelines or "_No guidelines yet: an admin can add them in Project settings._")
label_panel()
