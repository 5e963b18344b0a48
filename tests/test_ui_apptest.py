"""The Streamlit app through AppTest (no browser): sign-in, labeling, undo, skip, empty queue, admin.

The app opens the project once per process (st.cache_resource); each test clears that cache so the
next one opens its own file, and reads the results through the app's own Store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts import auth
from annotate_app.annotation import answers
from annotate_app.annotation.assignment import left_side_for
from annotate_app.config import REPO_ROOT
from annotate_app.ingest import import_file
from annotate_app.labels.scale import stored_choice
from annotate_app.store import Store
from annotate_app.ui import common

APP = str(REPO_ROOT / "annotate_app" / "ui" / "app.py")
ADMIN_PAGES = (
    "views/settings.py",
    "views/data.py",
    "views/annotators.py",
    "views/jobs.py",
    "views/review.py",
)


def _project(path: Path, n_pairs: int) -> Path:
    rows = [
        {"prompt": f"Q{i}?", "response_a": f"alpha {i}", "response_b": f"beta {i}"}
        for i in range(n_pairs)
    ]
    data = path.parent / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Store(path) as store:
        import_file(store, data)
        store.upsert_annotator("boss", role="admin")
        store.upsert_annotator("alice")
    return path


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = _project(tmp_path / "project.duckdb", 3)
    monkeypatch.setenv("ANNOTATE_DB", str(db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(tmp_path / "work"))
    yield db
    st.cache_resource.clear()  # closes the app's Store (on_release) and stops its job poller


def _app_store() -> Store:
    return common.services().store


def sign_in(name: str, password: str = "") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [t.value for t in at.title] == ["Sign in"]
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click()
    return at.run()


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _label_page(at: AppTest) -> dict:
    """What the label page's component was sent: the buffer, progress and acknowledgements."""
    found = at.get("bidi_component")
    assert len(found) == 1, "the label page is one component"
    return json.loads(found[0].proto.json)


def _record(at: AppTest, annotator: str, *items: dict) -> list[dict]:
    """Answers as the page's outbox sends them, through the code its sync callback runs."""
    acks = answers.record(_app_store(), annotator, list(items))
    at.run()
    return [a.as_dict() for a in acks]


def test_sign_in_refuses_unknown_names(app_db: Path) -> None:
    at = sign_in("mallory")
    assert not at.exception
    assert "unknown name" in at.error[0].value
    assert [t.value for t in at.title] == ["Sign in"]


def test_label_page_buffer_progress_undo_and_empty_queue(app_db: Path) -> None:
    at = sign_in("alice")
    assert not at.exception
    page = _label_page(at)
    assert len(page["pairs"]) == 3 and page["progress"] == {"today": 0, "total": 0, "left": 3}
    first = page["pairs"][0]
    store = _app_store()
    pair = store.get_pair(first["id"])
    shown_left = pair["text_a"] if first["side"] == "a" else pair["text_b"]
    assert first["left"] == f"<p>{shown_left}</p>\n", "left is what this annotator sees as A"
    assert first["side"] == left_side_for(first["id"], "alice"), "blind sides are stored per pair"

    label = {"cid": "cid-first-1", "kind": "label", "pair": first["id"], "side": first["side"]}
    assert _record(at, "alice", {**label, "choice": 2})[0]["status"] == "saved"
    event = store.label_events("alice").iloc[-1]
    assert (
        event["choice"] == stored_choice(2, first["side"]) and event["left_side"] == first["side"]
    )
    page = _label_page(at)
    assert first["id"] not in [p["id"] for p in page["pairs"]]
    assert page["progress"]["total"] == 1 and page["progress"]["left"] == 2 == len(page["pairs"])

    _record(at, "alice", {"cid": "cid-undo-01", "kind": "undo", "undoes": "cid-first-1"})
    page = _label_page(at)
    assert page["pairs"][0]["id"] == first["id"], "undo brings the pair back first"
    assert page["progress"] == {"today": 0, "total": 0, "left": 3}
    second, third = page["pairs"][1:]
    _record(
        at,
        "alice",
        {**label, "cid": "cid-again-1", "choice": -1, "rationale": "clearer"},
        {"cid": "cid-skip-01", "kind": "skip", "pair": second["id"], "side": second["side"]},
        {"cid": "cid-bad-001", "kind": "label", "pair": third["id"], "side": third["side"],
         "both_bad": True},
    )  # fmt: skip
    assert not at.exception
    assert list(store.label_events("alice")["kind"]) == ["label", "undo", "label", "skip", "label"]
    assert store.label_events("alice").iloc[2]["rationale"] == "clearer"
    page = _label_page(at)
    assert page["pairs"] == [] and page["progress"]["left"] == 0
    assert "Ask an admin" in page["empty_hint"]


def test_annotators_never_see_admin_pages(app_db: Path) -> None:
    at = sign_in("alice")
    for page in ADMIN_PAGES:
        with pytest.raises(ValueError):
            at.switch_page(page).run()


def test_admin_pages_render_and_act(app_db: Path, tmp_path: Path) -> None:
    at = sign_in("boss")
    assert not at.exception
    for page in ADMIN_PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
    store = _app_store()

    at.switch_page("views/settings.py").run()
    at.number_input[0].set_value(2)
    at.toggle[0].set_value(True)
    at.text_area[0].input("# Be kind")
    at.button[0].click().run()
    assert not at.exception
    assert store.get_setting("overlap_k") == 2 and store.get_setting("aspects_enabled") is True
    assert store.get_setting("guidelines") == "# Be kind"

    at.switch_page("views/annotators.py").run()
    frame = at.dataframe[0].value
    assert set(frame["name"]) == {"boss", "alice"}
    at.text_input[0].input("zoe")
    at.button[0].click().run()
    assert store.get_annotator("zoe")["role"] == "annotator"

    at.switch_page("views/data.py").run()
    bad = b'{"prompt": "p", "response_a": "x", "response_b": "y"}\n{"prompt": "q"}\n'
    at.file_uploader[0].upload("more.jsonl", bad).run()
    errors = at.dataframe[0].value
    assert list(errors.columns) == ["line", "field", "problem"] and errors["line"].tolist() == [2]
    before = store.stats()["pairs"]
    assert store.stats()["pairs"] == before, "nothing is imported before the admin confirms"
    _button(at, "Import the 1 valid rows, skip the invalid ones").click().run()
    assert not at.exception
    assert store.stats()["pairs"] == before + 1

    store.create_job("demo-1", "demo", {"n": 1})
    at.switch_page("views/jobs.py").run()
    jobs = at.dataframe[0].value
    assert isinstance(jobs, pd.DataFrame) and jobs["id"].tolist() == ["demo-1"]


def test_aspects_and_guidelines_show_when_enabled(app_db: Path) -> None:
    store = _app_store()
    store.set_setting("aspects_enabled", True)
    store.set_setting("guidelines", "Prefer **honest** answers.")
    at = sign_in("alice")
    assert any("honest" in m.value for m in at.expander[0].markdown)
    page = _label_page(at)
    assert page["aspects"] == ["helpfulness", "harmlessness", "honesty"]
    first = page["pairs"][0]
    item = {"cid": "cid-aspect-1", "kind": "label", "pair": first["id"], "side": first["side"]}
    _record(at, "alice", {**item, "choice": 0, "aspects": {"honesty": 1}})  # shown A is honest
    assert not at.exception
    event = store.label_events("alice").iloc[-1]
    assert json.loads(event["aspects"]) == {"honesty": 1 if event["left_side"] == "a" else -1}


def test_page_specs_take_scripts_or_lazy_functions() -> None:
    script = common.PageSpec("views/label.py", "Label", ":material/check:", "Labeling")
    assert script.target() == "views/label.py" and script.url_path is None
    lazy = common.PageSpec("gc:collect", "Judge calibration", ":material/check:", "Admin")
    assert lazy.url_path == "judge-calibration"
    draw = lazy.target()
    assert callable(draw) and draw() is None


def test_disabled_or_idle_sessions_are_signed_out(app_db: Path) -> None:
    at = sign_in("alice")
    assert _label_page(at)["progress"]["left"] == 3
    auth.set_active(_app_store(), auth.Account("boss", "admin"), "alice", False)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"], "disabling ends the session at once"
    assert any("disabled" in w.value for w in at.warning)
    auth.set_active(_app_store(), auth.Account("boss", "admin"), "alice", True)
    at = sign_in("alice")
    at.session_state["last_seen"] -= 61 * 60  # the default timeout is 60 idle minutes
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert any("inactivity" in w.value for w in at.warning)


def test_sign_in_attempts_lock_out_and_no_oidc_without_secrets(app_db: Path) -> None:
    auth.create_account(_app_store(), auth.Account("boss", "admin"), "erin", password="right")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not any("organisation" in b.label for b in at.button), "no st.login without [auth]"
    for _ in range(auth.AttemptLimits().max_failures):
        at.text_input[0].input("erin")
        at.text_input[1].input("guess")
        at.button[0].click().run()
        assert "wrong password" in at.error[0].value
    at.text_input[0].input("erin")
    at.text_input[1].input("right")
    at.button[0].click().run()
    assert "too many" in at.error[0].value, "the right password is refused during the lockout"
    assert [t.value for t in at.title] == ["Sign in"]


def test_oidc_sign_in_is_offered_when_the_project_configures_it(app_db: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret",
        "client_id": "annotate",
        "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert any("organisation" in b.label for b in at.button), "st.login offered with [auth]"
    assert not at.text_input, "no password form when the project uses its identity provider"


def test_an_invite_link_creates_an_account_once(app_db: Path) -> None:
    token = auth.create_invite(_app_store(), auth.Account("boss", "admin"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["invite"] = token
    at.run()
    at.text_input[0].input("newbie")
    at.text_input[1].input("pw-newbie")
    at.button[0].click().run()
    assert not at.exception
    assert _label_page(at)["progress"]["left"] == 3
    assert _app_store().get_annotator("newbie")["role"] == "annotator"
    again = AppTest.from_file(APP, default_timeout=30)
    again.query_params["invite"] = token
    again.run()
    again.text_input[0].input("second")
    again.text_input[1].input("pw")
    again.button[0].click().run()
    assert "not valid" in again.error[0].value
