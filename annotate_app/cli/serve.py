"""Starting the Streamlit app on a project, and the bundled demo project."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from annotate_app import demo_data, settings
from annotate_app.accounts import auth
from annotate_app.cli.support import CLIError, project_paths
from annotate_app.config import DEMO_DB, ProjectPaths
from annotate_app.ingest import ImportOptions, import_file
from annotate_app.store import Store

APP = Path(__file__).resolve().parent.parent / "ui" / "app.py"
DEMO_ACCOUNTS = (("admin", "admin"), ("alice", "annotator"), ("bob", "annotator"))


# Streamlit settings that protect visitors, passed on the command line so they hold whatever the
# current folder (a .streamlit/config.toml is read only from there): a visitor sees an exception's
# type, never its traceback, paths or the server's command line; no Deploy button or developer menu;
# no usage statistics leave the machine; uploads are capped.
SERVER_SETTINGS: dict[str, object] = {
    "server.headless": True,
    "server.fileWatcherType": "none",
    "server.runOnSave": False,
    "server.maxUploadSize": 200,  # MB
    "server.enableXsrfProtection": True,
    "browser.gatherUsageStats": False,
    "client.showErrorDetails": "type",
    "client.toolbarMode": "minimal",
    "global.developmentMode": False,
}


# A full garbage collection after every rerun costs each answer on the label page about 28 ms of
# CPU on our heap (measured 201 vs 173 ms per answer, two servers alternating presses in one run);
# Python's own generational collector still runs.
PERFORMANCE_SETTINGS: dict[str, object] = {"runner.postScriptGC": False}


def server_settings(port: int, address: str) -> dict[str, object]:
    return {
        **SERVER_SETTINGS,
        **PERFORMANCE_SETTINGS,
        "server.port": port,
        "server.address": address,
    }


@asynccontextmanager
async def _lifespan(_app: object) -> AsyncIterator[None]:
    """The server's life is the project's: on shutdown, close it (which checkpoints the WAL)."""
    from annotate_app import service

    try:
        yield
    finally:
        service.stop()


def serve(paths: ProjectPaths, port: int, address: str, allow_no_passwords: bool = False) -> int:
    """Open the project and hold it, then run the Streamlit server in this process until stopped.

    Holding the file from before the server listens means a second server, or a CLI writer, fails
    at once with one line naming this process, and no visitor ever reaches a half-started app.
    """
    from annotate_app import service

    services = service.start(paths)  # ProjectLockedError (one line) when another holds the file
    if services.lost_labels:
        print(f"annotate: warning: {services.lost_labels}", file=sys.stderr, flush=True)
    try:  # a project anyone can enter by typing a name stays on loopback unless told otherwise
        auth.check_exposure(services.store, address, allow_no_passwords)
    except auth.Unprotected:
        service.stop()
        raise
    atexit.register(service.stop)  # a stop that skips the server's shutdown hook still checkpoints
    os.environ["ANNOTATE_DB"] = str(paths.db)
    os.environ["ANNOTATE_WORK_DIR"] = str(paths.work_dir)
    print(f"serving {paths.db} on http://{address}:{port}", flush=True)
    import streamlit as st

    sys.argv = [str(APP), "--db", str(paths.db)]  # the page scripts read --db from here
    from annotate_app.ui import label_route, session_cookie

    routes = session_cookie.routes() + label_route.routes()
    app = st.App(str(APP), lifespan=_lifespan, routes=routes)
    app.run(config=server_settings(port, address))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    paths = project_paths(args)
    if not paths.db.exists():
        raise CLIError(f"no project at {paths.db}; run 'annotate --db {paths.db} init' first")
    return serve(paths, args.port, args.address, args.allow_no_passwords)


def create_demo(paths: ProjectPaths) -> None:
    """The demo project: the bundled responses and gold, accounts, guidelines, the queue settings
    that fill the agreement panels, and the recorded labels and judge verdicts."""
    with Store(paths) as store:
        for f in (demo_data.RESPONSES, demo_data.GOLD):
            print(import_file(store, f, ImportOptions()).summary())
        for name, role in DEMO_ACCOUNTS:
            if store.get_annotator(name) is None:
                store.upsert_annotator(name, role=role)
        settings.update(
            store,
            guidelines=demo_data.GUIDELINES.read_text(encoding="utf-8"),
            overlap_k=demo_data.DEMO_OVERLAP_K,
            gold_fraction=demo_data.DEMO_GOLD_FRACTION,
        )
        added = demo_data.recorded_labels(store)
    if added:
        print(f"added {added} recorded labels and judge verdicts (alice, bob, judge:recorded-demo)")
    accounts = ", ".join(f"{name} ({role})" for name, role in DEMO_ACCOUNTS)
    print(f"demo project: {paths.db}")
    print(f"demo accounts: {accounts}; they have no password: sign in by typing the name")


def cmd_demo(args: argparse.Namespace) -> int:
    paths = ProjectPaths.resolve(args.db or DEMO_DB)
    create_demo(paths)
    if args.no_serve:
        return 0
    return serve(paths, args.port, args.address, args.allow_no_passwords)


def _add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--allow-no-passwords",
        action="store_true",
        help="serve on a non-loopback address even if accounts sign in by name alone",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the labeling app on this project")
    _add_server_options(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser(
        "demo", help="create the demo project (./annotate-demo.duckdb, or --db PATH) and serve it"
    )
    _add_server_options(p)
    p.add_argument("--no-serve", action="store_true", help="only create the demo project")
    p.set_defaults(handler=cmd_demo)
