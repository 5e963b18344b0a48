"""The label page: answered with the keyboard, the next pair painted in the frame of the key press.

The page is one component (``ui/components/label_buffer``) holding the annotator's next few pairs,
each leased to them and rendered to inert HTML on the server. A key press paints the next pair in the
browser at once and puts the answer in an outbox; the outbox is sent to the server until every
answer's id is acknowledged. The exchange itself is ``ui/label_exchange.py``; the page sends it to
the ``/annotate/label/sync`` route (``ui/label_route.py``), which answers without rerunning
anything. This script paints the first screen, and is the fallback when the route refuses (no
route under AppTest or ``streamlit run``, or a session the route does not know):

- ``_sync`` (the component's callback, before the fragment reruns) records the outbox;
- the fragment then sends the acknowledgements, the topped-up buffer and the progress counts.
"""

from __future__ import annotations

import os
import time

import streamlit as st

from annotate_app import service
from annotate_app.settings import ProjectSettings
from annotate_app.ui import common, label_route
from annotate_app.ui.components.label_buffer import label_buffer
from annotate_app.ui.label_exchange import SyncRequest, exchange, page_data, storage_key

COMPONENT_KEY = "label-buffer"
TIMING_LOG = os.environ.get("ANNOTATE_TIMING_LOG")


def _sync() -> None:
    """Record the outbox the page sent; the acknowledgements go out with the next data."""
    started = time.perf_counter()
    who = common.account()
    if who is None:
        return
    sent = SyncRequest.parse((st.session_state.get(COMPONENT_KEY) or {}).get("sync"))
    st.session_state["label_reply"] = exchange(
        common.store(), who, ProjectSettings.load(common.store()), sent
    )
    st.session_state["label_have"] = sent.have
    st.session_state["label_sync_started"] = started


@st.fragment
def label_panel() -> None:
    who = common.require_account()
    store = common.store()
    reply = st.session_state.pop("label_reply", None)
    if reply is None:  # the first screen, or a rerun of the whole page
        have = st.session_state.get("label_have", frozenset())
        reply = page_data(store, who, ProjectSettings.load(store), have, None, [])
    data = {
        **reply,
        "store_key": storage_key(str(store.paths.db), who.name),
        "sync_url": label_route.ROUTE.lstrip("/") if service.running() else None,
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
