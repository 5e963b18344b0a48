"""The label page: one pair at a time, answered with the keyboard.

The pair, the buttons and the progress bar live in one fragment, so an answer reruns only that
fragment: the next pair replaces the last without reloading the page. Answers are handled in button
callbacks bound to the pair that was on screen, so a late or repeated key press can never land on
the next pair. Responses are rendered as plain markdown: HTML in the data shows as text.

"Saved (label #N)" is shown only after the event N is committed; an answer the domain refuses (the
lease ran out and the pair went to someone else) or a failed write says "Not saved" and why.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import streamlit as st

from annotate_app.annotation import assignment as queue
from annotate_app.annotation.assignment import ASPECTS, Assignment, LabelingSettings
from annotate_app.annotation.dispatcher import LeaseLost
from annotate_app.ui import common

# (key, label, shown choice, both bad); the choice is about the shown A (left) vs B (right).
CHOICES = (
    ("1", "A much better", 2, False),
    ("2", "A better", 1, False),
    ("3", "Tie", 0, False),
    ("4", "B better", -1, False),
    ("5", "B much better", -2, False),
    ("6", "Both bad", None, True),
)
SKIP_KEY = "S"
UNDO_KEY = "U"
RESPONSE_HEIGHT = 420
ASPECT_OPTIONS = ("A", "Tie", "B")
TIMING_LOG = os.environ.get("ANNOTATE_TIMING_LOG")


def _notice(text: str, kind: str = "saved") -> None:
    st.session_state["label_notice"] = (kind, text)


def _on_screen(pair_id: str) -> bool:
    """True once per shown pair: the first answer wins, a repeated press is dropped."""
    if st.session_state.get("on_screen") != pair_id:
        return False
    st.session_state["on_screen"] = None
    return True


def _aspects(a: Assignment) -> dict[str, int]:
    picked = {}
    for aspect in ASPECTS:
        value = st.session_state.get(f"aspect-{aspect}-{a.pair_id}")
        if value is not None:
            shown = {"A": 1, "Tie": 0, "B": -1}[value]
            picked[aspect] = queue.stored_choice(shown, a.left_side)
    return picked


def _answer(annotator: str, a: Assignment, shown: int | None, both_bad: bool) -> None:
    if not _on_screen(a.pair_id):
        return
    st.session_state["answered_at"] = time.perf_counter()
    try:
        event = queue.submit(
            common.store(),
            annotator,
            a,
            shown_choice=shown,
            both_bad=both_bad,
            rationale=st.session_state.get(f"rationale-{a.pair_id}"),
            aspects=_aspects(a),
        )
    except LeaseLost as exc:
        _notice(f"Not saved: {exc}. Here is your next pair.", "error")
    except Exception as exc:  # noqa: BLE001 - the annotator must see that nothing was saved
        st.session_state["on_screen"] = a.pair_id
        _notice(f"Not saved: {exc}", "error")
    else:
        _notice(f"Saved (label #{event}).")


def _skip(annotator: str, a: Assignment) -> None:
    if not _on_screen(a.pair_id):
        return
    try:
        queue.skip(common.store(), annotator, a)
    except LeaseLost as exc:
        _notice(f"Skip not recorded: {exc}.", "error")
    except Exception as exc:  # noqa: BLE001 - the annotator must see that nothing was saved
        st.session_state["on_screen"] = a.pair_id
        _notice(f"Skip not recorded: {exc}", "error")
    else:
        _notice("Skipped.")


def _undo(annotator: str) -> None:
    undone = queue.undo(common.store(), annotator)
    if undone is None:
        _notice("Nothing to undo.", "info")
    elif undone.back:
        _notice("Undone: that pair is back.", "info")
    else:
        _notice("Undone: your skip is taken back, but that pair went to another annotator.", "info")


def _prompt(turns: list[dict]) -> None:
    earlier, last = turns[:-1], turns[-1]
    if earlier:
        with st.expander(f"Earlier turns ({len(earlier)})"):
            for turn in earlier:
                with st.chat_message(turn["role"]):
                    st.markdown(turn["content"])
    with st.chat_message(last["role"]):
        st.markdown(last["content"])


def _responses(a: Assignment) -> None:
    left, right = st.columns(2, gap="medium")
    for column, title, text in ((left, "A", a.left_text), (right, "B", a.right_text)):
        with column:
            st.markdown(f"**Response {title}**")
            with st.container(height=RESPONSE_HEIGHT, border=True):
                st.markdown(text)


def _extras(a: Assignment, settings: LabelingSettings) -> None:
    if settings.aspects_enabled:
        cols = st.columns(len(ASPECTS))
        for col, aspect in zip(cols, ASPECTS, strict=True):
            with col:
                st.segmented_control(
                    aspect.capitalize(), ASPECT_OPTIONS, key=f"aspect-{aspect}-{a.pair_id}"
                )
    st.text_input(
        "Rationale (optional)",
        key=f"rationale-{a.pair_id}",
        placeholder="Why? Optional; press Enter, then a choice key.",
    )


def _buttons(annotator: str, a: Assignment | None) -> None:
    for col, (key, label, shown, both_bad) in zip(st.columns(len(CHOICES)), CHOICES, strict=True):
        with col:
            st.button(
                label,
                key=f"choice-{key}",
                shortcut=key,
                width="stretch",
                type="primary" if shown is not None and shown != 0 else "secondary",
                disabled=a is None,
                on_click=_answer,
                args=(annotator, a, shown, both_bad),
            )
    skip, undo, keys = st.columns([1, 1, 4], vertical_alignment="center")
    with skip:
        st.button(
            "Skip",
            key="skip",
            shortcut=SKIP_KEY,
            width="stretch",
            disabled=a is None,
            on_click=_skip,
            args=(annotator, a),
        )
    with undo:
        st.button(
            "Undo last",
            key="undo",
            shortcut=UNDO_KEY,
            width="stretch",
            on_click=_undo,
            args=(annotator,),
        )
    with keys:
        st.caption(
            "Keys: **1** A much better · **2** A better · **3** tie · **4** B better · "
            f"**5** B much better · **6** both bad · **{SKIP_KEY}** skip · **{UNDO_KEY}** undo"
        )


def _empty_queue(is_admin: bool) -> None:
    st.success("You're done: no pairs are waiting for you right now.")
    if is_admin:
        st.markdown(
            "To give annotators more work: import more data on the **Data** page, raise "
            "**overlap k** in **Project settings** so each pair gets more annotators, or route "
            "more pairs to humans."
        )
    else:
        st.markdown("Ask an admin to import more data or to route more pairs to humans.")


@st.fragment
def label_panel() -> None:
    who = common.require_account()
    store = common.store()
    settings = LabelingSettings.load(store)
    a = queue.next_assignment(store, who.name, settings)
    if a is not None:
        # Latency runs from the first render of this pair, not from any rerun of the fragment.
        if st.session_state.get("shown", (None,))[0] != a.pair_id:
            st.session_state["shown"] = (a.pair_id, a.shown_at)
        a = replace(a, shown_at=st.session_state["shown"][1])
        st.session_state["on_screen"] = a.pair_id
    done = queue.progress(store, who.name, settings)
    # The last answer's outcome shares the progress line, so nothing below it moves.
    kind, text = st.session_state.pop("label_notice", ("", ""))
    status = f" · :red[{text}]" if kind == "error" else (f" · {text}" if text else "")
    st.progress(
        done.fraction,
        text=f"Today **{done.done_today}** · total **{done.done_total}** · "
        f"**{done.left}** left in your queue{status}",
    )
    if a is None:
        _empty_queue(who.is_admin)
    else:
        _prompt(a.turns)
        _responses(a)
        _extras(a, settings)
    _buttons(who.name, a)
    _record_server_time()


def _record_server_time() -> None:
    """Submit-to-next-pair-ready on the server (callback start to the end of the rerun that drew
    the next pair), appended to ``ANNOTATE_TIMING_LOG`` when set: the load benchmark's probe."""
    started = st.session_state.pop("answered_at", None)
    if started is not None and TIMING_LOG:
        with open(TIMING_LOG, "a", encoding="utf-8") as f:
            f.write(f"{(time.perf_counter() - started) * 1000:.2f}\n")


common.require_account()
with st.expander("Guidelines"):
    guidelines = LabelingSettings.load(common.store()).guidelines
    st.markdown(guidelines or "_No guidelines yet: an admin can add them in Project settings._")
label_panel()
