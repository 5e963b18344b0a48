"""The label page's component: a buffer of leased, pre-rendered pairs and an outbox of answers.

The browser side (``label_buffer.js``) paints the next pair on the key press and resends answers
until they are acknowledged; this module registers it once per process and shapes the data it gets.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from typing import Any

import streamlit as st

from annotate_app.store import Store
from annotate_app.ui.render import code_css, to_html

_FILES = resources.files(__package__)
# Earlier turns longer than this start collapsed; shorter ones are shown, as the last turn needs them.
COLLAPSE_HISTORY_CHARS = 1500
RENDER_CACHE_PAIRS = 4096

_component = st.components.v2.component(
    "annotate_app.label_buffer",
    html="",
    css=(_FILES / "label_buffer.css").read_text(encoding="utf-8") + "\n" + code_css(".lb .lb-md"),
    js=(_FILES / "label_buffer.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # in the page's own DOM: tests and probes see [data-testid=pair]
)

_cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()


def rendered_pair(store: Store, pair_id: str) -> dict[str, Any]:
    """A pair's prompt turns and both responses as inert HTML, in its own A/B order. Pair ids
    are content hashes, so the result is cached for the life of the process."""
    key = (str(store.paths.db), pair_id)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    turns, text_a, text_b = store.shown_pair(pair_id)
    earlier = sum(len(str(t.get("content", ""))) for t in turns[:-1])
    shaped = {
        "turns": [
            {"role": str(t.get("role", "user")), "html": to_html(str(t.get("content", "")))}
            for t in turns
        ],
        "a": to_html(text_a),
        "b": to_html(text_b),
        "collapse": earlier > COLLAPSE_HISTORY_CHARS,
    }
    with _cache_lock:
        _cache[key] = shaped
        while len(_cache) > RENDER_CACHE_PAIRS:
            _cache.popitem(last=False)
    return shaped


def pair_payload(store: Store, pair_id: str, side: str, with_html: bool) -> dict[str, Any]:
    """One buffered pair as the page gets it, left and right in the order this annotator sees.
    Without ``with_html`` only the id and side travel (the page already holds the text)."""
    if not with_html:
        return {"id": pair_id, "side": side, "left": None}
    shown = rendered_pair(store, pair_id)
    left, right = (shown["a"], shown["b"]) if side == "a" else (shown["b"], shown["a"])
    return {
        "id": pair_id,
        "side": side,
        "turns": shown["turns"],
        "left": left,
        "right": right,
        "collapse": shown["collapse"],
    }


def storage_key(db: str, annotator: str) -> str:
    """Where the page keeps this annotator's outbox for this project (no names in the browser)."""
    return hashlib.blake2b(f"{db}\x1f{annotator}".encode(), digest_size=12).hexdigest()


def label_buffer(*, key: str, data: dict[str, Any], on_sync: Callable[[], None]) -> Any:
    """Mount the component; ``on_sync`` runs when the page sends its outbox."""
    return _component(key=key, data=data, on_sync_change=on_sync, height="content")
