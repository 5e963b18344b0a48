"""``annotate user add|list|disable|invite``: accounts from the command line, on a real project file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotate_app.accounts import auth
from annotate_app.cli import main
from annotate_app.cli.user import COMMAND_LINE
from annotate_app.store import Store


def annotate(db: Path, *args: str, stdin: str = "", monkeypatch=None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--db", str(db), *args])


def test_first_admin_then_accounts_list_disable_and_invite(tmp_path: Path, capsys, monkeypatch):
    db = tmp_path / "new.duckdb"
    assert annotate(db, "user", "list") == 1, "no project yet: list does not create one"
    assert "no project" in capsys.readouterr().err

    assert annotate(db, "user", "add", "root", "--role", "admin", "--password-stdin",
                    stdin="s3cret pass\n", monkeypatch=monkeypatch) == 0  # fmt: skip
    assert annotate(db, "user", "add", "alice", "--db", str(db)) == 0
    capsys.readouterr()
    assert annotate(db, "user", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["name"], a["role"], a["active"], a["password"]) for a in listed] == [
        ("root", "admin", True, True),
        ("alice", "annotator", True, False),
    ]
    with Store(db) as store:
        assert auth.sign_in(store, "root", "s3cret pass") == auth.Account("root", "admin")
        with pytest.raises(auth.AuthError):
            auth.sign_in(store, "root", "wrong")

    assert annotate(db, "user", "disable", "alice") == 0
    assert annotate(db, "user", "invite", "bob", "--url", "http://labels.example:8501/") == 0
    out = capsys.readouterr().out
    link = out.strip().splitlines()[-1]
    assert link.startswith("http://labels.example:8501/?invite=")
    token = link.split("invite=", 1)[1]
    with Store(db) as store:
        assert store.get_annotator("alice")["active"] is False
        assert auth.invited_name(store, token) == "bob"
        assert auth.redeem_invite(store, token, "bob", "pw-bob") == auth.Account("bob", "annotator")
    assert annotate(db, "user", "list") == 0
    table = capsys.readouterr().out
    assert "alice" in table and "disabled" in table and "bob" in table


@pytest.mark.parametrize(
    "name",
    ["ADMIN", "ad\u200bmin", "adm\u0456n", "alice\u202egnp.exe", "adm\x00in"],
    ids=["upper", "zero-width", "cyrillic", "bidi", "nul"],
)
def test_user_add_and_invite_refuse_look_alikes(tmp_path: Path, capsys, name: str) -> None:
    db = tmp_path / "p.duckdb"
    assert annotate(db, "user", "add", "admin", "--role", "admin") == 0
    assert annotate(db, "user", "add", "alice") == 0
    capsys.readouterr()
    for command in ("add", "invite"):
        assert annotate(db, "user", command, name) == 1
        err = capsys.readouterr().err
        assert err.startswith("annotate: error:") and len(err.strip().splitlines()) == 1, err
        assert "\x00" not in err and "\u202e" not in err and "\u200b" not in err
    with Store(db) as store:
        assert auth.account_names(store) == ["admin", "alice"]
        assert not [k for k in store.all_settings() if k.startswith(auth.INVITE_PREFIX)]


def test_password_stdin_needs_a_password(tmp_path: Path, capsys, monkeypatch) -> None:
    db = tmp_path / "p.duckdb"
    assert annotate(db, "user", "add", "x", "--password-stdin", monkeypatch=monkeypatch) == 1
    assert "no password" in capsys.readouterr().err
    if db.exists():
        with Store(db) as store:
            assert auth.account_names(store) == []


def test_exposure_check_refuses_name_only_projects_off_loopback(store: Store) -> None:
    with pytest.raises(auth.Unprotected, match="first visitor"):
        auth.check_exposure(store, "0.0.0.0")  # no accounts: the first visitor becomes admin
    store.upsert_annotator("root", role="admin", password_hash=auth.hash_password("pw"))
    store.upsert_annotator("alice")
    with pytest.raises(auth.Unprotected, match="'alice'.*--allow-no-passwords"):
        auth.check_exposure(store, "0.0.0.0")
    for address in ("127.0.0.1", "localhost", "::1", "127.0.1.1"):
        auth.check_exposure(store, address)
    auth.check_exposure(store, "0.0.0.0", allow_no_passwords=True)
    store.set_annotator_active("alice", False)  # a disabled name-only account cannot sign in
    auth.check_exposure(store, "10.0.0.5")
    store.set_annotator_active("alice", True)
    auth.set_project_password(store, auth.Account("root", "admin"), "team-secret")
    auth.check_exposure(store, "0.0.0.0")


def test_serve_on_a_public_address_refuses_a_name_only_project(tmp_path: Path) -> None:
    db = tmp_path / "open.duckdb"
    assert main(["--db", str(db), "user", "add", "admin", "--role", "admin"]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "annotate_app.cli", "--db", str(db), "serve"]
        + ["--address", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "refusing to serve on 0.0.0.0" in line and "'admin'" in line
    with Store(db) as store:  # the refused server let go of the project
        assert auth.account_names(store) == ["admin"]


def test_demo_prints_its_accounts_and_says_they_have_no_password(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--no-serve", "--db", str(tmp_path / "demo.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "demo accounts: admin (admin), alice (annotator), bob (annotator)" in out
    assert "no password" in out


def test_a_named_invite_link_fills_in_the_name_and_refuses_look_alikes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from annotate_app.config import REPO_ROOT
    from annotate_app.ui import common

    db = tmp_path / "p.duckdb"
    with Store(db) as store:
        auth.create_account(store, COMMAND_LINE, "admin", "admin")
        named = auth.create_invite(store, COMMAND_LINE, name="bob")
        plain = auth.create_invite(store, COMMAND_LINE)
    monkeypatch.setenv("ANNOTATE_DB", str(db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(tmp_path / "work"))
    app = str(REPO_ROOT / "annotate_app" / "ui" / "app.py")
    try:
        at = AppTest.from_file(app, default_timeout=30)
        at.query_params["invite"] = named
        at.run()
        assert at.text_input[0].value == "bob" and at.text_input[0].disabled
        at.text_input[1].input("pw-bob")
        at.button[0].click().run()
        assert not at.exception and not at.error
        look_alike = AppTest.from_file(app, default_timeout=30)
        look_alike.query_params["invite"] = plain
        look_alike.run()
        look_alike.text_input[0].input("B\u043eb")  # Cyrillic o
        look_alike.text_input[1].input("pw")
        look_alike.button[0].click().run()
        assert "looks like the existing 'bob'" in look_alike.error[0].value
        names = auth.account_names(common.store())  # the app's own open project
    finally:
        st.cache_resource.clear()  # closes the app's project
    assert names == ["admin", "bob"]
