"""Every page renders without an exception or an error box on every small project.

The projects are the edge cases a first campaign hits (``tests/small_projects.py``). Each is built
once for the module; every page in ``ui/pages.py`` PAGES is opened on each by an admin through
AppTest, which runs no JavaScript (tests/e2e/test_page_tour.py opens them in a browser).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from annotate_app.accounts.auth import Account
from annotate_app.config import ProjectPaths
from annotate_app.ui.pages import PAGES
from tests.small_projects import ADMIN, PROJECTS, build

UI_DIR = Path(__file__).resolve().parents[1] / "annotate_app" / "ui"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ProjectPaths]:
    return {name: build(name, tmp_path_factory.mktemp(name)) for name in PROJECTS}


def _page_test(spec) -> AppTest:
    if spec.page.endswith(".py"):
        return AppTest.from_file(str(UI_DIR / spec.page), default_timeout=60)
    module, function = spec.page.split(":")

    def draw(module: str, function: str) -> None:
        import importlib

        getattr(importlib.import_module(module), function)()

    return AppTest.from_function(draw, args=(module, function), default_timeout=60)


def _problems(at: AppTest) -> list[str]:
    found = [f"exception: {e.message} {''.join(e.stack_trace)[-1500:]}" for e in at.exception]
    found += [f"error box: {e.value}" for e in at.error]
    return found


@pytest.fixture(autouse=True)
def _error_details() -> Iterator[None]:
    """Show a failing page's traceback in the assertion (the app hides it from visitors)."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def open_project(
    request: pytest.FixtureRequest, projects, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ProjectPaths]:
    paths = projects[request.param]
    monkeypatch.setenv("ANNOTATE_DB", str(paths.db))
    monkeypatch.setenv("ANNOTATE_WORK_DIR", str(paths.work_dir))
    yield paths
    st.cache_resource.clear()  # closes the app's Store so the next project opens its own file


@pytest.mark.parametrize("open_project", list(PROJECTS), indirect=True)
def test_every_page_renders_on_every_small_project(open_project: ProjectPaths) -> None:
    problems = {}
    for spec in PAGES:
        at = _page_test(spec)
        at.session_state["account"] = Account(name=ADMIN, role="admin")
        at.run()
        if _problems(at):
            problems[spec.title] = _problems(at)
        elif not at.main.children:
            problems[spec.title] = ["nothing drawn"]
    assert not problems, json.dumps(problems, indent=1, default=str)[:6000]
