"""`annotate serve` holds its project from start to stop, with settings that hold from any folder.

Real processes on loopback ports: the first server opens the file before it listens, so a second
server (and a CLI writer) ends with one line naming it, and never starts a server of its own. Both
run from a folder whose `.streamlit/config.toml` asks for full tracebacks and the developer toolbar;
the command line wins, so a visitor's browser shows neither a Deploy button nor a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate_app.cli.serve import server_settings
from tests import load_driver as ld

HOSTILE_CONFIG = """
[client]
showErrorDetails = "full"
toolbarMode = "developer"
[browser]
gatherUsageStats = true
"""


def _annotate() -> str:
    return shutil.which("annotate", path=str(Path(sys.executable).parent))


@pytest.fixture
def first_server(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen, str]]:
    db = ld.build_project(tmp_path / "held.duckdb", 4, ["alice"])
    cwd = tmp_path / "elsewhere"
    (cwd / ".streamlit").mkdir(parents=True)
    (cwd / ".streamlit" / "config.toml").write_text(HOSTILE_CONFIG, encoding="utf-8")
    port = ld.free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [_annotate(), "--db", str(db), "serve", "--port", str(port), "--address", "127.0.0.1"],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "ANNOTATE_WORK_DIR": str(tmp_path / "work")},
        )
    try:
        url = ld.wait_healthy(proc, f"http://127.0.0.1:{port}", timeout_s=120)
    except RuntimeError:
        pytest.fail(f"annotate serve did not start:\n{log.read_text(errors='replace')}")
    try:
        yield db, cwd, proc, url
    finally:
        ld.stop(proc)


def test_second_server_and_cli_writer_get_one_line(first_server, tmp_path: Path) -> None:
    db, cwd, proc, url = first_server
    port = ld.free_port()
    env = {**os.environ, "ANNOTATE_WORK_DIR": str(tmp_path / "work")}
    second = subprocess.run(
        [_annotate(), "--db", str(db), "serve", "--port", str(port), "--address", "127.0.0.1"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"in use by PID {proc.pid}" in lines[0] and "serve" in lines[0]
    assert "Traceback" not in second.stdout + second.stderr
    with pytest.raises(OSError):  # the second never listened
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "p", "response_a": "a", "response_b": "b"}\n', encoding="utf-8")
    writer = subprocess.run(
        [_annotate(), "--db", str(db), "import", str(rows)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert writer.returncode == 2
    assert len(writer.stderr.strip().splitlines()) == 1
    assert f"PID {proc.pid}" in writer.stderr
    assert urllib.request.urlopen(f"{url}/_stcore/health", timeout=5).read() == b"ok"


def test_settings_protect_visitors_from_any_folder() -> None:
    settings = server_settings(8501, "127.0.0.1")
    assert settings["client.showErrorDetails"] in ("type", "none")
    assert settings["client.toolbarMode"] == "minimal"
    assert settings["browser.gatherUsageStats"] is False
    assert settings["server.maxUploadSize"] <= 200
    assert settings["server.enableXsrfProtection"] is True


@pytest.mark.e2e
def test_visitor_sees_no_deploy_button_or_developer_menu(first_server) -> None:
    if not ld.CHROMIUM.exists():
        pytest.skip("chromium not installed (run `make browser`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    _, _, _, url = first_server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(ld.READY, timeout=60000)
        page.get_by_label("Name").wait_for(timeout=30000)
        assert page.locator("[data-testid='stAppDeployButton']").count() == 0
        assert page.get_by_role("button", name="Deploy").count() == 0
        menu = page.locator("[data-testid='stMainMenu']")
        if menu.count():
            menu.click()
            text = page.locator("[data-testid='stMainMenuPopover']").inner_text()
            assert "Clear cache" not in text and "Developer" not in text
        browser.close()
