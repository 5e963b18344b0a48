"""One exchange of the label page with the server, without Streamlit.

The page sends ``{seq, outbox, have}``: a sequence number, every answer not yet acknowledged, and
the pairs whose text it already holds. ``exchange`` records the outbox (``annotation.answers``,
each page id once), tops the annotator's buffer up to ``BUFFER_PAIRS`` leased pairs, and answers
``{seq, acks, pairs, progress, admin, aspects, empty_hint}``: the text travels only for pairs the
page does not hold yet. Both ways in share it: the ``/annotate/label/sync`` route
(``ui/label_route.py``), which answers off Streamlit's rerun path, and the label page's fragment
(``ui/views/label.py``), which paints the first screen and is the fallback when the route refuses.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from annotate_app.accounts.auth import Account
from annotate_app.annotation import answers
from annotate_app.annotation import assignment as queue
from annotate_app.annotation.assignment import ASPECTS
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.ui.render import to_html

BUFFER_PAIRS = 5  # pairs leased to the annotator and already in their browser
# Earlier turns longer than this start collapsed; shorter ones are shown, as the last turn needs them.
COLLAPSE_HISTORY_CHARS = 1500
RENDER_CACHE_PAIRS = 4096
# A pair whose text is not held yet is fetched with the annotator's next ones: one query for 16
# pairs costs about as much as one for a single pair (``Store.shown_pairs``).
FETCH_AHEAD_PAIRS = 16
MAX_HAVE = 1000  # pair ids a page may say it holds (it keeps about 60)
ADMIN_HINT = (
    "To give annotators more work: import more data on the Data page, raise overlap k in Project "
    "settings so each pair gets more annotators, or route more pairs to humans."
)
ANNOTATOR_HINT = "Ask an admin to import more data or to route more pairs to humans."


@dataclass(frozen=True)
class SyncRequest:
    """What the page sent, checked: anything malformed becomes empty, never an error."""

    seq: int | None = None
    outbox: list[Any] = field(default_factory=list)
    have: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, sent: Any) -> SyncRequest:
        if not isinstance(sent, dict):
            return cls()
        seq = sent.get("seq")
        outbox = sent.get("outbox")
        have = sent.get("have")
        return cls(
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
            outbox=outbox if isinstance(outbox, list) else [],
            have=frozenset(h for h in have[:MAX_HAVE] if isinstance(h, str))
            if isinstance(have, list)
            else frozenset(),
        )


def exchange(
    store: Store, who: Account, settings: ProjectSettings, sent: SyncRequest
) -> dict[str, Any]:
    """Record the page's outbox, top up its buffer, and return the page's new data. The buffer is
    topped up before the answers' commit, so the new leases go in that same commit."""

    def top_up() -> None:
        queue.held_pairs(store, who.name, settings, BUFFER_PAIRS)

    acks = answers.record(store, who.name, sent.outbox, settings, top_up) if sent.outbox else []
    return page_data(store, who, settings, sent.have, sent.seq, [a.as_dict() for a in acks])


def page_data(
    store: Store,
    who: Account,
    settings: ProjectSettings,
    have: frozenset[str] | set[str],
    seq: int | None,
    acks: list[dict[str, Any]],
) -> dict[str, Any]:
    """The buffer (text only for pairs not in ``have``), progress, and the acknowledgements."""
    held = queue.held_pairs(store, who.name, settings, BUFFER_PAIRS)
    _fetch_texts(store, who.name, settings, [p for p, _ in held if p not in have])
    done = queue.progress(store, who.name, settings)
    return {
        "seq": seq,
        "acks": acks,
        "pairs": [pair_payload(store, p, side, p not in have) for p, side in held],
        "progress": {"today": done.done_today, "total": done.done_total, "left": done.left},
        "admin": who.is_admin,
        "aspects": list(ASPECTS) if settings.aspects_enabled else [],
        "empty_hint": ADMIN_HINT if who.is_admin else ANNOTATOR_HINT,
    }


_cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()  # rendered pairs
_texts: OrderedDict[tuple[str, str], tuple[list[dict], str, str]] = OrderedDict()  # fetched ahead
_cache_lock = threading.Lock()


def _fetch_texts(
    store: Store, annotator: str, settings: ProjectSettings, needed: list[str]
) -> None:
    """Fetch the texts of the pairs about to be rendered that are neither rendered nor fetched,
    together with the annotator's next pairs, in one query."""
    db = str(store.paths.db)
    with _cache_lock:
        missing = [p for p in needed if (db, p) not in _cache and (db, p) not in _texts]
    if not missing:
        return
    ahead = queue.upcoming_pairs(store, annotator, settings, FETCH_AHEAD_PAIRS)
    with _cache_lock:
        wanted = missing + [p for p in ahead if (db, p) not in _cache and p not in missing]
    fetched = store.shown_pairs(wanted[: len(missing) + FETCH_AHEAD_PAIRS])
    with _cache_lock:
        for pair, texts in fetched.items():
            _texts[(db, pair)] = texts
        while len(_texts) > RENDER_CACHE_PAIRS:
            _texts.popitem(last=False)


def rendered_pair(store: Store, pair_id: str) -> dict[str, Any]:
    """A pair's prompt turns and both responses as inert HTML, in its own A/B order. Pair ids
    are content hashes, so the result is cached for the life of the process."""
    key = (str(store.paths.db), pair_id)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
        texts = _texts.pop(key, None)
    turns, text_a, text_b = texts if texts is not None else store.shown_pair(pair_id)
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
