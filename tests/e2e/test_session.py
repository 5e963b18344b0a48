"""Sessions in a real browser: a reload keeps the sign-in, a deep link opens its page after sign-in,
and after a sign-out a reload shows the sign-in page again.

Debian's chromium, driven by Playwright, against `annotate serve` on a loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import load_driver as ld

pytestmark = pytest.mark.e2e

if not ld.CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

COOKIE = "annotate_session"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("session")
    db = ld.build_project(folder / "p.duckdb", 6, ["alice"])
    from annotate_app.store import Store

    with Store(db) as store:
        store.upsert_annotator("boss", role="admin")
    proc, url = ld.start_server(db, folder / "work")
    try:
        yield url
    finally:
        ld.stop(proc)


@pytest.fixture(scope="module")
def browser(server: str):
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
        yield chromium
        chromium.close()


def _sign_in(page, name: str) -> None:
    page.wait_for_selector(ld.READY, timeout=60000)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for(timeout=60000)
    page.wait_for_selector(ld.READY, timeout=60000)


def _wait_for_cookie(context) -> dict:
    for _ in range(200):
        cookies = {c["name"]: c for c in context.cookies()}
        if COOKIE in cookies:
            return cookies[COOKIE]
        context.pages[0].wait_for_timeout(100)
    raise AssertionError("the session cookie never arrived")


def _signed_out_page(page) -> bool:
    page.wait_for_selector(ld.READY, timeout=60000)
    page.get_by_label("Name").wait_for(timeout=30000)
    return page.get_by_text("Signed in as").count() == 0


def test_reload_keeps_the_session(server: str, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server)
    _sign_in(page, "alice")
    cookie = _wait_for_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find(COOKIE) == -1, "scripts cannot read the token"
    page.reload()
    page.get_by_text("Signed in as alice").wait_for(timeout=60000)
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_label("Name").count() == 0
    context.close()


def test_deep_link_lands_on_its_page_after_sign_in(server: str, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/routing")
    assert _signed_out_page(page)
    assert page.url.endswith("/routing")
    _sign_in(page, "boss")
    page.get_by_role("heading", name="Routing", exact=True).wait_for(timeout=60000)
    assert page.url.endswith("/routing")
    assert page.get_by_text("Page not found").count() == 0
    context.close()


def test_sign_out_then_reload_shows_sign_in(server: str, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server)
    _sign_in(page, "alice")
    stolen = _wait_for_cookie(context)
    page.get_by_role("button", name="Sign out").click()
    assert _signed_out_page(page)
    page.reload()
    assert _signed_out_page(page), "the revoked token does not sign back in"
    context.close()

    other = browser.new_context()  # the old cookie replayed elsewhere is refused too
    other.add_cookies([{k: stolen[k] for k in ("name", "value", "domain", "path")}])
    page = other.new_page()
    page.goto(server)
    assert _signed_out_page(page)
    other.close()
