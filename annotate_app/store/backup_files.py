"""Backup and restore of a project file, whether or not the app is running.

While the app runs it owns the file and no other process may open it, so ``annotate backup`` leaves a
request in the project's work folder and the app's service thread makes the copy (see
``serve_requests``). Restore replaces the file and so needs the app stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from annotate_app.config import ProjectPaths
from annotate_app.store import ProjectLockedError, Store, StoreError
from annotate_app.store.backup import verify_project_file


@dataclass(frozen=True)
class RequestConfig:
    timeout_s: float = 120.0
    poll_s: float = 0.2


def requests_dir(paths: ProjectPaths) -> Path:
    return paths.work_dir / "requests"


def backup(paths: ProjectPaths, target: Path, config: RequestConfig | None = None) -> str:
    """Back up directly when the file is free, else through the running app. Returns how."""
    try:
        store = Store(paths)
    except ProjectLockedError as locked:
        return _backup_through_app(paths, target, config or RequestConfig(), locked)
    with store:
        store.backup_to(target)
    return "copied directly"


def _backup_through_app(
    paths: ProjectPaths, target: Path, config: RequestConfig, locked: ProjectLockedError
) -> str:
    folder = requests_dir(paths)
    folder.mkdir(parents=True, exist_ok=True)
    rid = uuid.uuid4().hex
    request = folder / f"{rid}.backup.json"
    tmp = request.with_suffix(".tmp")
    tmp.write_text(json.dumps({"target": str(Path(target).resolve())}), encoding="utf-8")
    os.replace(tmp, request)
    deadline = time.monotonic() + config.timeout_s
    while time.monotonic() < deadline:
        for suffix, ok in ((".done", True), (".error", False)):
            answer = folder / f"{rid}{suffix}"
            if answer.exists():
                text = answer.read_text(encoding="utf-8")
                answer.unlink()
                if not ok:
                    raise StoreError(f"the running app could not back up: {text}")
                return "copied by the running app"
        time.sleep(config.poll_s)
    request.unlink(missing_ok=True)
    raise StoreError(
        f"{locked}; it did not answer the backup request within {config.timeout_s:.0f} s "
        "(is it an annotate app of this version?)"
    )


def serve_requests(store: Store) -> int:
    """Answer pending backup requests; the app's service thread calls this. Returns how many."""
    folder = requests_dir(store.paths)
    if not folder.exists():
        return 0
    served = 0
    for request in sorted(folder.glob("*.backup.json")):
        rid = request.name.split(".", 1)[0]
        try:
            target = json.loads(request.read_text(encoding="utf-8"))["target"]
            store.backup_to(target)
            answer, text = folder / f"{rid}.done", target
        except Exception as exc:  # noqa: BLE001 - the requester gets the message
            answer, text = folder / f"{rid}.error", f"{type(exc).__name__}: {exc}"
        request.unlink(missing_ok=True)
        answer.write_text(text, encoding="utf-8")
        served += 1
    return served


def restore(paths: ProjectPaths, source: Path) -> Path:
    """Replace the project with a backup; the old file is kept beside it. Needs the app stopped.

    The backup is read end to end first (``verify_project_file``); a damaged one is refused and the
    project is not touched.
    """
    source = Path(source).resolve()
    if not source.is_file():
        raise StoreError(f"no backup file at {source}")
    if source.with_name(source.name + ".wal").exists():
        raise StoreError(
            f"{source} has a WAL beside it ({source.name}.wal): it is a project that was not "
            "closed, not a backup; open and close it once (or back it up) and restore that"
        )
    verify_project_file(source)
    Store(paths).close()  # fails with the lock message while the app runs
    staged = paths.db.with_name(f".{paths.db.name}.restoring")
    shutil.copyfile(source, staged)
    try:
        verify_project_file(staged)
    except StoreError:
        staged.unlink(missing_ok=True)
        raise
    kept = paths.db.with_name(f"{paths.db.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
    if paths.db.exists():
        shutil.move(paths.db, kept)
    wal = paths.db.with_name(paths.db.name + ".wal")
    if wal.exists():  # a WAL belongs to the file it was written for
        shutil.move(wal, kept.with_name(kept.name + ".wal"))
    os.replace(staged, paths.db)
    Store(paths).close()  # brings an older backup's schema up to date
    return kept
