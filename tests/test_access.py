"""Access control in the domain layer: roles, invites, sign-in attempt limits, live account checks."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from annotate_app.accounts import auth
from annotate_app.ingest import import_file
from annotate_app.settings import ProjectSettings
from annotate_app.store import Store
from annotate_app.ui.pages import PAGES, SIGN_IN
from tests.seed import human_label

UI = Path(auth.__file__).resolve().parents[1] / "ui"
ADMIN = auth.Account("root", "admin")
ALICE = auth.Account("alice", "annotator")


@pytest.fixture
def project(store: Store, tmp_path: Path) -> Store:
    rows = [{"prompt": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}"} for i in range(3)]
    data = tmp_path / "p.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, data)
    store.upsert_annotator("root", role="admin")
    store.upsert_annotator("alice")
    pairs = list(store.pairs_frame()["pair_id"])
    human_label(store, pairs[0], "alice", 1)
    human_label(store, pairs[1], "bob", -1)
    return store


def _calls_require_admin(nodes: list[ast.stmt]) -> bool:
    """Whether these statements call ``common.require_admin()`` themselves (not in a nested def)."""
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "require_admin"
                and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == "common"
            ):
                return True
    return False


def _pages() -> list[tuple[str, str, bool]]:
    """(page, title, admin) of every page the router knows, and the sign-in page."""
    return [(spec.page, spec.title, spec.admin) for spec in (*PAGES, SIGN_IN)]


def test_every_admin_page_checks_the_role_itself() -> None:
    """The router lists admin pages only for admins; each admin page checks again on every run
    (``ui.common.require_admin``), so a forgotten menu rule or a direct URL still shows nothing."""
    pages = _pages()
    admin_pages = [page for page, _, admin in pages if admin]
    assert len(admin_pages) >= 9
    for page in admin_pages:
        if page.endswith(".py"):
            tree = ast.parse((UI / page).read_text(encoding="utf-8"))
            body = tree.body
        else:
            module, function = page.split(":")
            path = UI.parent.parent / (module.replace(".", "/") + ".py")
            tree = ast.parse(path.read_text(encoding="utf-8"))
            body = next(
                n.body for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function
            )
        assert _calls_require_admin(body), f"{page} does not call common.require_admin()"
    labeling = {title for _, title, admin in pages if not admin}
    assert labeling <= {"Label", "My stats", "Sign in"}, f"annotator pages changed: {labeling}"


def test_admin_actions_in_the_domain_layer_refuse_annotators(project, tmp_path) -> None:
    calls = (
        lambda by: auth.create_invite(project, by),
        lambda by: auth.create_account(project, by, "newbie"),
        lambda by: auth.set_active(project, by, "alice", True),
        lambda by: auth.set_idle_minutes(project, by, 5),
        lambda by: auth.set_project_password(project, by, None),
        lambda by: ProjectSettings(overlap_k=2).save(project, by),
    )
    before = project.all_settings()
    for call in calls:
        with pytest.raises(PermissionError):
            call(ALICE)
    assert project.all_settings() == before and project.get_annotator("newbie") is None
    for call in calls:
        call(ADMIN)  # the same calls work for an admin
    assert project.get_annotator("newbie") is not None


def test_invite_links_work_once_and_expire(project) -> None:
    token = auth.create_invite(project, ADMIN, role="annotator", hours=1)
    stored = json.dumps(project.all_settings())
    assert token not in stored, "only the token's hash is stored"
    dan = auth.redeem_invite(project, token, "dan", "pw-dan")
    assert dan == auth.Account("dan", "annotator")
    assert auth.sign_in(project, "dan", "pw-dan") == dan
    with pytest.raises(auth.AuthError, match="not valid"):
        auth.redeem_invite(project, token, "dan2", "pw")
    with pytest.raises(auth.AuthError, match="not valid"):
        auth.redeem_invite(project, "guessed-token", "eve", "pw")
    taken = auth.create_invite(project, ADMIN)
    with pytest.raises(auth.AuthError, match="taken"):
        auth.redeem_invite(project, taken, "alice", "pw")
    old = auth.create_invite(project, ADMIN, hours=1)
    key = auth.INVITE_PREFIX + __import__("hashlib").sha256(old.encode()).hexdigest()
    invite = project.get_setting(key)
    invite["expires_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    project.set_setting(key, invite)
    with pytest.raises(auth.AuthError, match="expired"):
        auth.redeem_invite(project, old, "late", "pw")
    with pytest.raises(auth.AuthError, match="not valid"):
        auth.redeem_invite(project, old, "late", "pw")
    assert project.get_annotator("late") is None


def test_sign_in_attempts_are_limited_per_name_and_session(project) -> None:
    auth.create_account(project, ADMIN, "erin", password="right")
    guard = auth.SignInGuard(auth.AttemptLimits(max_failures=3, window_s=60, lockout_s=600))
    for _ in range(3):
        with pytest.raises(auth.AuthError, match="wrong password"):
            auth.sign_in(project, "erin", "guess", guard=guard, session="s1")
    with pytest.raises(auth.AuthError, match="too many"):
        auth.sign_in(project, "erin", "right", guard=guard, session="s2")  # the name is locked
    with pytest.raises(auth.AuthError, match="too many"):
        auth.sign_in(project, "alice", None, guard=guard, session="s1")  # so is the session
    assert auth.sign_in(project, "alice", None, guard=guard, session="s3") == ALICE
    # The lockout ends.
    later = guard.limits.lockout_s + 1
    guard.check(["name:erin"], now=__import__("time").monotonic() + later)
    # Failures spread wider than the window never add up to a lockout.
    spread = auth.SignInGuard(auth.AttemptLimits(max_failures=2, window_s=10, lockout_s=600))
    spread.failed(["name:x"], now=0.0)
    spread.failed(["name:x"], now=20.0)
    spread.check(["name:x"], now=21.0)


def test_passwords_are_bcrypt_and_bounded(project) -> None:
    # "!" is outside bcrypt's alphabet, so the password can never appear in a hash by chance
    hashed = auth.hash_password("pw!")
    assert hashed.startswith("$2") and "pw!" not in hashed
    assert auth.check_password("pw!", hashed) and not auth.check_password("pW!", hashed)
    assert not auth.check_password("pw", "not a hash")
    with pytest.raises(ValueError, match="at most 72"):
        auth.hash_password("x" * 73)


def test_a_disabled_or_demoted_account_loses_access_at_once(project) -> None:
    auth.create_account(project, ADMIN, "fay", role="admin")
    fay = auth.Account("fay", "admin")
    assert auth.current_account(project, fay) == fay
    project.upsert_annotator("fay", role="annotator")
    assert auth.current_account(project, fay) == auth.Account("fay", "annotator")
    auth.set_active(project, ADMIN, "fay", False)
    assert auth.current_account(project, fay) is None
    with pytest.raises(auth.AuthError, match="disabled"):
        auth.sign_in_external(project, "fay")
    with pytest.raises(auth.AuthError, match="no account"):
        auth.sign_in_external(project, "stranger@example.org")
    assert auth.sign_in_external(project, "alice") == ALICE
