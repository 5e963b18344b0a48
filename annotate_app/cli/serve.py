"""Starting the Streamlit app on a project, and the bundled demo project."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from annotate_app.cli.support import CLIError, project_paths
from annotate_app.config import DEMO_DIR, REPO_ROOT, ProjectPaths
from annotate_app.ingest import ImportOptions, import_file
from annotate_app.store import Store

APP = Path(__file__).resolve().parent.parent / "ui" / "app.py"
DEMO_DB = REPO_ROOT / "data" / "demo.duckdb"
DEMO_ACCOUNTS = (("admin", "admin"), ("alice", "annotator"), ("bob", "annotator"))


def streamlit_command(db: Path, port: int, address: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--",
        "--db",
        str(db),
    ]


def serve(paths: ProjectPaths, port: int, address: str) -> int:
    """Check the project opens (a clear lock message if not), then hand the process to Streamlit."""
    Store(paths).close()
    print(f"serving {paths.db} on http://{address}:{port}", flush=True)
    env = {**os.environ, "ANNOTATE_DB": str(paths.db), "ANNOTATE_WORK_DIR": str(paths.work_dir)}
    cmd = streamlit_command(paths.db, port, address)
    os.execve(cmd[0], cmd, env)
    return 0  # not reached: execve replaces the process


def cmd_serve(args: argparse.Namespace) -> int:
    paths = project_paths(args)
    if not paths.db.exists():
        raise CLIError(f"no project at {paths.db}; run 'annotate --db {paths.db} init' first")
    return serve(paths, args.port, args.address)


def create_demo(paths: ProjectPaths) -> None:
    files = [DEMO_DIR / "responses.jsonl", DEMO_DIR / "gold.jsonl"]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise CLIError(f"demo data not found ({', '.join(missing)}); run from a source checkout")
    with Store(paths) as store:
        for f in files:
            print(import_file(store, f, ImportOptions()).summary())
        for name, role in DEMO_ACCOUNTS:
            if store.get_annotator(name) is None:
                store.upsert_annotator(name, role=role)
        store.set_setting("guidelines", (DEMO_DIR / "guidelines.md").read_text(encoding="utf-8"))


def cmd_demo(args: argparse.Namespace) -> int:
    paths = ProjectPaths.resolve(args.db or DEMO_DB)
    create_demo(paths)
    if args.no_serve:
        return 0
    return serve(paths, args.port, args.address)


def _add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the labeling app on this project")
    _add_server_options(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("demo", help="create the demo project (data/demo.duckdb) and serve it")
    _add_server_options(p)
    p.add_argument("--no-serve", action="store_true", help="only create the demo project")
    p.set_defaults(handler=cmd_demo)
