"""The documented nginx config (docs/nginx-annotate.conf) in front of a real `annotate serve`.

nginx runs on loopback ports with a throw-away self-signed certificate; only the listen addresses,
the upstream port and the certificate paths of the shipped file are rewritten. Checked: the security
headers, the HTTP to HTTPS redirect, and a real browser that signs in and labels through the proxy
(the websocket upgrade) with no Content-Security-Policy violation, and gets a Secure session cookie.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate_app.config import REPO_ROOT
from tests import load_driver as ld

CONFIG = REPO_ROOT / "docs" / "nginx-annotate.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

if NGINX is None:  # pragma: no cover - depends on the machine
    pytest.skip("nginx not installed (run `make browser`)", allow_module_level=True)
if shutil.which("openssl") is None:  # pragma: no cover
    pytest.skip("openssl not installed (needed for a test certificate)", allow_module_level=True)

MAIN = """
daemon off;
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/annotate.conf;
}}
"""


def _rewrite(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{old!r} is not once in {CONFIG.name}"
        text = text.replace(old, new)
    return text


def _wait_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"nginx did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder = tmp_path_factory.mktemp("proxy")
    db = ld.build_project(folder / "p.duckdb", 6, ["alice"])
    app, app_url = ld.start_server(db, folder / "work")
    nginx_dir = folder / "nginx"
    nginx_dir.mkdir()
    cert, key = nginx_dir / "cert.pem", nginx_dir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    https_port, http_port = ld.free_port(), ld.free_port()
    app_port = app_url.rsplit(":", 1)[1]
    conf = _rewrite(
        CONFIG.read_text(encoding="utf-8"),
        {
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "server 127.0.0.1:8501;": f"server 127.0.0.1:{app_port};",
            "/etc/ssl/annotate/fullchain.pem": str(cert),
            "/etc/ssl/annotate/privkey.pem": str(key),
        },
    )
    (nginx_dir / "annotate.conf").write_text(conf, encoding="utf-8")
    user = "user root;" if os.geteuid() == 0 else ""
    main = nginx_dir / "nginx.conf"
    main.write_text(MAIN.format(dir=nginx_dir, user=user), encoding="utf-8")
    log = nginx_dir / "error.log"
    proxy = subprocess.Popen(
        [NGINX, "-p", str(nginx_dir), "-c", str(main), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_port(https_port, proxy, log)
        yield f"https://127.0.0.1:{https_port}", http_port
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)
        ld.stop(app)


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the throw-away test certificate
    return context


def test_security_headers_and_redirect(proxied) -> None:
    url, http_port = proxied
    with urllib.request.urlopen(url + "/", context=_insecure(), timeout=30) as response:
        assert response.status == 200
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert (
        "script-src 'self'" in csp
        and "unsafe-eval" not in csp
        and "unsafe-inline" not in csp.split("style-src")[0]
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "nginx/" not in (headers["Server"] or "")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(f"http://127.0.0.1:{http_port}/routing", timeout=30)
    assert caught.value.code == 301
    assert caught.value.headers["Location"].startswith("https://127.0.0.1")


@pytest.mark.e2e
def test_the_app_works_through_the_proxy(proxied) -> None:
    if not ld.CHROMIUM.exists():
        pytest.skip("chromium not installed (run `make browser`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, _ = proxied
    violations: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(ld.CHROMIUM), args=ld.LAUNCH_ARGS)
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(url)
        page.wait_for_selector(ld.READY, timeout=60000)
        page.get_by_label("Name").fill("alice")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("left in your queue").wait_for(timeout=60000)
        page.wait_for_selector(ld.READY, timeout=60000)
        before = page.locator("[data-testid='stMain']").inner_text()
        page.keyboard.press("1")  # an answer travels over the proxied websocket
        page.wait_for_function(
            "() => /total 1\\b/.test(document.querySelector(\"[data-testid='stMain']\").innerText)",
            timeout=60000,
        )
        assert page.locator("[data-testid='stMain']").inner_text() != before
        for _ in range(100):
            cookies = {c["name"]: c for c in context.cookies()}
            if "annotate_session" in cookies:
                break
            page.wait_for_timeout(100)
        assert cookies["annotate_session"]["secure"], "HTTPS at the proxy makes the cookie Secure"
        browser.close()
    # The one thing the policy refuses is the page icon Streamlit fetches from Google's font CDN:
    # refusing it keeps every request on the app's own host.
    assert [v for v in violations if "fonts.gstatic.com" not in v] == []
