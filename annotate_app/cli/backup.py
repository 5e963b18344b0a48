"""``annotate backup`` and ``annotate restore``."""

from __future__ import annotations

import argparse
from pathlib import Path

from annotate_app.cli.support import CLIError, project_paths
from annotate_app.store.backup_files import backup, restore


def cmd_backup(args: argparse.Namespace) -> int:
    paths = project_paths(args)
    if not paths.db.exists():
        raise CLIError(f"no project at {paths.db}")
    how = backup(paths, Path(args.path))
    print(f"backed up {paths.db} to {Path(args.path).resolve()} ({how})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    paths = project_paths(args)
    kept = restore(paths, Path(args.path))
    print(f"restored {paths.db} from {args.path}; the previous file is kept as {kept}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backup", help="write a consistent copy of the project (works while the app runs)"
    )
    p.add_argument("path", metavar="PATH", help="the backup file to write")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser("restore", help="replace the project with a backup (stop the app first)")
    p.add_argument("path", metavar="PATH", help="a file written by 'annotate backup'")
    p.set_defaults(handler=cmd_restore)
