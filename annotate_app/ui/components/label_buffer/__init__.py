"""The label page's component: a buffer of leased, pre-rendered pairs and an outbox of answers.

The browser side (``label_buffer.js``) paints the next pair on the key press and resends answers
until they are acknowledged; this module registers it once per process. The data it gets is shaped
by ``ui/label_exchange.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import streamlit as st

from annotate_app.ui.render import code_css

_FILES = resources.files(__package__)

_component = st.components.v2.component(
    "annotate_app.label_buffer",
    html="",
    css=(_FILES / "label_buffer.css").read_text(encoding="utf-8") + "\n" + code_css(".lb .lb-md"),
    js=(_FILES / "label_buffer.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # in the page's own DOM: tests and probes see [data-testid=pair]
)


def label_buffer(*, key: str, data: dict[str, Any], on_sync: Callable[[], None]) -> Any:
    """Mount the component; ``on_sync`` runs when the page sends its outbox."""
    return _component(key=key, data=data, on_sync_change=on_sync, height="content")
