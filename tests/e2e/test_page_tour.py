"""Every page in a real browser on the small projects, reached through the app's own sidebar.

AppTest (tests/test_pages_render.py) runs no JavaScript, so a component or chart that throws in the
browser, a page that blanks after navigation, or a script error in the console is invisible to it.
Here an annotator first opens the label page in Debian's chromium against `annotate serve`: the pair
is painted, or where nothing is left for her, the empty-queue message shows. Then an admin signs in
and clicks through every page in ``ui/pages.py`` PAGES, ending back on the label page. Each page
must draw its content and finish running with no exception element, no error box, no uncaught
error, no console error, and no request to a host other than the server's.

With ``ANNOTATE_SHOTS=FOLDER`` set, a full-page screenshot of every (project, page) is saved there
as ``<project>-<page>.png``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from annotate_app.ui.common import PageSpec
from annotate_app.ui.pages import PAGES
from tests import load_driver as ld
from tests.small_projects import ADMIN, build

pytestmark = pytest.mark.e2e

if not ld.CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("chromium not installed (run `make browser`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

# The projects toured, and what alice's label page shows on each: a pair, or the empty-queue message
# (nothing imported, or she labeled every pair already).
TOUR = {
    "empty": "done",
    "one-pair": "pair",
    "one-verdict": "pair",
    "same-length-prompts": "done",
    "one-model-version": "pair",
}
LABEL = PAGES[0]  # the default page: where a sign-in lands
PAIR = "[data-testid='pair']"
EMPTY = "[data-testid='label-empty']"
SHOTS = os.environ.get("ANNOTATE_SHOTS")
SERVER_HOST = "127.0.0.1"
# Schemes that carry their bytes in the URL or the page itself: no host is asked for anything.
LOCAL_SCHEMES = {"data", "blob", "about"}
# Streamlit shows a skeleton while an element's code loads (plotly's, on first use): every skeleton
# gone, and every chart with its SVG.
CHARTS_DRAWN = (
    "() => !document.querySelector(\"[data-testid='stSkeleton']\") &&"
    " [...document.querySelectorAll(\"[data-testid='stPlotlyChart']\")]"
    ".every((chart) => chart.querySelector('.main-svg'))"
)


@dataclass
class Watch:
    """What the browser reported since the last ``take``: uncaught errors, console errors, and
    requests (and websockets) to any host but the server's."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)
        page.on("request", lambda request: self._fetched(request.url))
        page.on("websocket", lambda socket: self._fetched(socket.url))

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console: {message.text} ({where})")

    def _fetched(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in LOCAL_SCHEMES and parsed.hostname != SERVER_HOST:
            self.foreign.append(url)

    def take(self) -> list[str]:
        found = self.errors + [f"requested from another host: {url}" for url in self.foreign]
        self.errors.clear()
        self.foreign.clear()
        return found


@dataclass(frozen=True)
class Served:
    project: str
    url: str


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=list(TOUR))
def served(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Served]:
    paths = build(request.param, tmp_path_factory.mktemp(request.param))
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc, url = ld.start_server(paths.db, paths.work_dir, env=offline)
    try:
        yield Served(request.param, url)
    finally:
        ld.stop(proc)


def _open(browser, served: Served, name: str):
    """A fresh browser session signed in as ``name``, on the page a sign-in lands on."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto(served.url)
    page.wait_for_selector(ld.READY, timeout=60000)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for(timeout=60000)
    return context, page, watch


def _navigate(page, spec: PageSpec) -> None:
    """Click the page's sidebar link, first opening the rest of a long list as a user would."""
    links = page.locator("[data-testid='stSidebarNav'] a", has_text=spec.title)
    more = page.get_by_test_id("stSidebarNavViewButton").filter(has_text="more")
    if not links.count() and more.count():
        more.click()
    links.first.click(timeout=30000)


def _content(page, spec: PageSpec):
    """What shows that the page drew itself: the label component's pair or empty-queue message,
    else the page's heading in the main area."""
    if spec is LABEL:
        return page.locator(f"{PAIR}:visible, {EMPTY}:visible").first
    heading = re.compile(re.escape(spec.title), re.IGNORECASE)
    return page.locator("[data-testid='stMain'] h1", has_text=heading).first


def _shot(page, name: str) -> None:
    """The whole page: the viewport is stretched to the main area's height, which scrolls inside
    the app instead of the document."""
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    tall = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll(\"[data-testid='stMain'] *\")]"
        ".map((e) => e.scrollHeight), document.body.scrollHeight)"
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def _check(page, watch: Watch, spec: PageSpec, shot: str) -> list[str]:
    """Wait for the page to draw and finish running, then list everything wrong with it; ``shot``
    names its screenshot."""
    found = []
    try:
        _content(page, spec).wait_for(state="visible", timeout=60000)
        page.wait_for_selector(ld.READY, timeout=60000)
    except sync_api.TimeoutError:
        found.append("the page did not draw its content or kept running")
    try:
        page.wait_for_function(CHARTS_DRAWN, timeout=30000)
    except sync_api.TimeoutError:
        found.append("a chart did not draw")
    for box in page.get_by_test_id("stException").all():
        found.append(f"exception: {box.inner_text()[:1500]}")
    for box in page.get_by_test_id("stAlertContentError").all():
        found.append(f"error box: {box.inner_text()[:500]}")
    found += watch.take()
    _shot(page, shot)
    return found


def _annotator_problems(browser, served: Served) -> list[str]:
    """alice's label page: the pair painted, or the empty-queue message where nothing is left
    for her. She goes first: the admin's own label page leases pairs, which would empty her
    queue."""
    context, page, watch = _open(browser, served, "alice")
    found = _check(page, watch, LABEL, f"{served.project}-label-as-annotator")
    if TOUR[served.project] == "done":
        shown = page.locator(EMPTY).inner_text()
        if "You're done" not in shown:
            found.append(f"no empty-queue message: {shown!r}")
    elif not page.locator(PAIR).is_visible():
        found.append(f"no pair painted: {page.locator(EMPTY).inner_text()!r}")
    context.close()
    return found


def _admin_problems(browser, served: Served) -> dict[str, list[str]]:
    """The admin's tour: the page a sign-in lands on, every other page, then the label page again
    (its component drawn afresh after navigation). Problems by page title."""
    context, page, watch = _open(browser, served, ADMIN)
    problems: dict[str, list[str]] = {}
    for step, spec in enumerate((LABEL, *PAGES[1:], LABEL)):
        if step:
            _navigate(page, spec)
        slug = re.sub(r"\W+", "-", spec.title.lower())
        found = _check(page, watch, spec, f"{served.project}-{slug}")
        if found:
            problems.setdefault(spec.title, []).extend(found)
    context.close()
    return problems


def test_every_page_in_the_browser(served: Served, browser) -> None:
    problems = {"label page as annotator": _annotator_problems(browser, served)}
    problems |= _admin_problems(browser, served)
    problems = {where: found for where, found in problems.items() if found}
    assert not problems, json.dumps({served.project: problems}, indent=1)[:6000]
