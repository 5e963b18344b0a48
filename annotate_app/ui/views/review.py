"""Review (admin): find pairs by text, model, label source, label state and dispute; open one to read
every label, verdict and rationale on it; settle it with a final (adjudicated) label that the export
uses; and work through the queue of flagged pairs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotate_app.labels.scale import SCALE
from annotate_app.labels.sources import SOURCES
from annotate_app.store.flags import REASON_TITLES
from annotate_app.store.review import LABEL_STATES, ReviewFilter
from annotate_app.ui import common

PROMPT_CHARS = 90  # of the prompt, in the list and the pair picker
OUTCOME_WORDS = {"a": "A wins", "b": "B wins", "tie": "tie", "both_bad": "both bad"}
CHOICE_WORDS = {c.shown: c.label for c in SCALE if c.shown is not None}
OPEN_KEY = "review-open"


def _short(text: object, limit: int = PROMPT_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _vote_words(row: pd.Series) -> str:
    if row["kind"] == "skip":
        return "skipped"
    if bool(row["both_bad"]):
        return "Both bad"
    return CHOICE_WORDS.get(int(row["choice"]), str(row["choice"]))


def _filters(store) -> ReviewFilter:
    text = st.text_input("Search prompt and responses", key="rv-text")
    a, b, c = st.columns(3)
    model = a.selectbox("Model", ["any", *store.review_models()], key="rv-model")
    source = b.selectbox(
        "Labeled by source",
        ["any", *SOURCES],
        key="rv-source",
        help="human: annotators here; ai: the judge; import: labels that came with a file (gold); "
        "adjudicated: an admin's final label.",
    )
    state = c.selectbox("Label state", LABEL_STATES, key="rv-state")
    d, e = st.columns(2)
    disputed = d.toggle(
        "Disputed only",
        key="rv-disputed",
        help="People voted on both sides, or people and the judge decided differently.",
    )
    flagged = e.toggle("Flagged only", key="rv-flagged")
    return ReviewFilter(
        text=text,
        model=None if model == "any" else model,
        source=None if source == "any" else source,
        state=state,
        disputed=disputed,
        flagged=flagged,
    )


def _flag_queue(store) -> None:
    flags = store.open_flags()
    st.subheader(f"Flagged pairs ({flags['pair_id'].nunique() if len(flags) else 0})")
    if flags.empty:
        st.caption("No open flags. Annotators flag broken, unsafe or unjudgeable pairs.")
        return
    flags = flags.assign(reason=flags["reason"].map(REASON_TITLES))
    st.dataframe(
        flags[["pair_id", "annotator", "reason", "note", "created_at"]],
        hide_index=True,
        key="rv-flags",
    )


def _pair_detail(store, who, pair_id: str) -> None:
    pair = store.get_pair(pair_id)
    if pair is None:
        st.warning("That pair is no longer in the project.")
        return
    st.subheader("Prompt")
    with st.container(border=True):
        st.markdown(pair["prompt"])
    left, right = st.columns(2)
    for col, side in ((left, "a"), (right, "b")):
        with col:
            st.markdown(
                f"**Response {side.upper()}** · `{pair.get(f'model_{side}') or 'no model'}`"
            )
            with st.container(border=True, height=320):
                st.markdown(pair[f"text_{side}"])
    history = store.pair_label_history(pair_id)
    st.subheader("Labels, verdicts and rationales")
    if history.empty:
        st.caption("Nobody has labeled this pair yet.")
    else:
        shown = history.assign(
            label=history.apply(_vote_words, axis=1),
            rationale=history["rationale"].fillna(""),
            p_a=history["p_a"].astype("float64"),  # blank, not "None", for people's labels
        )
        st.dataframe(
            shown[["source", "annotator", "label", "rationale", "p_a", "created_at"]],
            hide_index=True,
            key="rv-history",
            column_config={
                "p_a": st.column_config.NumberColumn(
                    "judge P(A better)", format="%.2f", help="The judge's debiased probability."
                )
            },
        )
    flags = store.flag_history(pair_id)
    if not flags.empty:
        st.markdown("**Flags**")
        st.dataframe(
            flags.assign(reason=flags["reason"].map(REASON_TITLES)),
            hide_index=True,
            key="rv-flag-history",
        )
    with st.form(f"adjudicate-{pair_id}"):
        st.markdown("**Final label** (the export uses it instead of the votes above)")
        choice = st.radio(
            "Decision",
            [c.label for c in SCALE],
            index=2,
            horizontal=True,
            key=f"rv-choice-{pair_id}",
        )
        rationale = st.text_input("Why (kept with the label)", key=f"rv-why-{pair_id}")
        if st.form_submit_button("Save final label", type="primary"):
            picked = next(c for c in SCALE if c.label == choice)
            store.adjudicate(
                pair_id,
                who.name,
                choice=picked.shown,
                both_bad=picked.both_bad,
                rationale=rationale,
            )
            st.success(f"Saved the final label: {choice}. Its open flags are resolved.")
    if store.open_flags()["pair_id"].eq(pair_id).any():
        note = st.text_input("Resolution note", key=f"rv-resolve-note-{pair_id}")
        if st.button(
            "Resolve flags without a final label",
            key=f"rv-resolve-{pair_id}",
            help="The pair goes back into the export with the votes it has.",
        ):
            store.resolve_flag(pair_id, who.name, note)
            st.rerun()


who = common.require_admin()
store = common.store()
st.title("Review")
_flag_queue(store)
st.subheader("Find pairs")
try:
    flt = _filters(store)
    listed = store.review_pairs(flt)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
if listed.empty:
    st.info("No pairs match." if store.stats()["pairs"] else "No pairs yet: import data first.")
    st.stop()
st.caption(
    f"{len(listed)} pairs shown (at most {flt.limit}) · {int(listed['disputed'].sum())} disputed"
    f" · {int((listed['open_flags'] > 0).sum())} flagged"
)
table = listed.assign(
    prompt=listed["prompt"].map(_short),
    people=listed["people_outcome"].map(OUTCOME_WORDS),
    judge=listed["judge_outcome"].map(OUTCOME_WORDS),
    final=listed["adjudicated"].map(OUTCOME_WORDS),
)
st.dataframe(
    table[
        [
            "prompt",
            "model_a",
            "model_b",
            "people_labels",
            "people",
            "judge_labels",
            "judge",
            "final",
            "disputed",
            "open_flags",
        ]
    ],
    hide_index=True,
    key="rv-list",
    column_config={
        "people_labels": st.column_config.NumberColumn("people labels"),
        "judge_labels": st.column_config.NumberColumn("judge verdicts"),
        "open_flags": st.column_config.NumberColumn("open flags"),
    },
)
titles = dict(zip(listed["pair_id"], listed["prompt"].map(_short), strict=True))
opened = st.selectbox(
    "Open a pair",
    list(titles),
    format_func=lambda pid: f"{titles[pid]}  ({pid[:8]})",
    key=OPEN_KEY,
)
if opened:
    _pair_detail(store, who, opened)
