"""The Streamlit entry point: `streamlit run annotate_app/ui/app.py -- --db PROJECT.duckdb`.

Every page is one module and one line in ``PAGES`` (``ui/pages.py``); the router shows a signed-out
visitor only the sign-in page, an annotator the labeling pages, and an admin everything.
"""

from __future__ import annotations

import streamlit as st

from annotate_app.ui import common
from annotate_app.ui.pages import PAGES, SIGN_IN


def _signed_out() -> st.Page:
    """Every page's URL shows the sign-in page to a signed-out visitor, so a deep link (``/routing``)
    keeps its URL through the sign-in and opens its page right after it."""
    sign_in = SIGN_IN.build(default=True)
    stand_ins = [
        st.Page(SIGN_IN.target(), title=SIGN_IN.title, icon=SIGN_IN.icon, url_path=path)
        for path in {spec.build().url_path for spec in PAGES} - {sign_in.url_path}
    ]
    return st.navigation([sign_in, *sorted(stand_ins, key=lambda p: p.url_path)], position="hidden")


def navigation() -> st.Page:
    who = common.account()
    if who is None:
        return _signed_out()
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        if spec.admin and not who.is_admin:
            continue
        sections.setdefault(spec.section, []).append(spec.build(default=spec is PAGES[0]))
    with st.sidebar:
        st.caption(f"Signed in as **{who.name}** ({who.role})")
        st.button("Sign out", on_click=common.sign_out, key="sign-out")
        common.hand_over_session_cookie()
        lost = common.services().lost_labels
        if lost and who.is_admin:
            st.error(f"Labels were lost: {lost}.")
    return st.navigation(sections)


# An emoji icon becomes an inline SVG in the browser; a material icon would be fetched from Google.
st.set_page_config(page_title="annotate", page_icon="⚖️", layout="wide")
common.services()  # open the project (and start the job poller) before any page runs
navigation().run()
