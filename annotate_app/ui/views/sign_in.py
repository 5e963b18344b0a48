"""Sign in: with the project's OpenID Connect provider when one is configured, else by name and
password; an invite link (``?invite=TOKEN``) creates an account instead.

Failed attempts count against the name and this browser session (``auth.SignInGuard``).
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from annotate_app.accounts import auth
from annotate_app.ui import common


def oidc_configured() -> bool:
    """``st.login`` works only with an ``[auth]`` section in secrets.toml; without one it must not
    be offered."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def _external(store) -> None:
    # Streamlit adds is_logged_in only once it has read the [auth] section itself
    if st.user.get("is_logged_in", False):
        try:
            common.signed_in(auth.sign_in_external(store, str(st.user.get("email", ""))))
        except auth.AuthError as exc:
            st.error(str(exc))
            st.button("Sign out of the provider", on_click=st.logout)
        else:
            st.rerun()
        return
    if st.button("Sign in with your organisation", type="primary"):
        try:
            st.login()
        except Exception as exc:  # noqa: BLE001 - e.g. Authlib missing: say so, don't crash
            st.error(f"OpenID Connect sign-in is configured but failed: {exc}")


def _invite(store, token: str) -> None:
    reserved = auth.invited_name(store, token)
    st.info(
        f"You were invited as {reserved!r}: choose a password for your new account."
        if reserved
        else "You were invited: choose a name and a password for your new account."
    )
    with st.form("invite"):
        name = st.text_input(
            "Name", value=reserved or "", max_chars=auth.MAX_NAME, disabled=bool(reserved)
        )
        password = st.text_input("Password", type="password", max_chars=auth.MAX_PASSWORD)
        submitted = st.form_submit_button("Create account", type="primary")
    if submitted:
        try:
            common.signed_in(auth.redeem_invite(store, token, name, password))
        except auth.AuthError as exc:
            st.error(str(exc))
        else:
            st.query_params.clear()
            st.rerun()


def _password(store) -> None:
    if store.stats()["annotators"] == 0:
        st.info(
            "This project has no accounts yet: the first name you sign in with becomes its admin."
        )
    with st.form("sign-in"):
        name = st.text_input("Name", max_chars=auth.MAX_NAME)
        password = st.text_input(
            "Password",
            type="password",
            max_chars=auth.MAX_PASSWORD,
            help="Leave empty unless your project or account has one.",
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            who = auth.sign_in(
                store,
                name,
                password,
                guard=common.services().guard,
                session=common.session_key(),
            )
        except auth.AuthError as exc:
            st.error(str(exc))
        else:
            common.signed_in(who)
            st.rerun()


st.title("Sign in")
store = common.store()
reason = st.session_state.pop("signed_out_because", None)
if reason:
    st.warning(reason)
token = st.query_params.get("invite")
if token:
    _invite(store, token)
elif oidc_configured():
    _external(store)
else:
    _password(store)
