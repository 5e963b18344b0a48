"""``annotate``: the command line. Each command opens the project directly (no app may hold it).

Commands live in ``annotate_app.cli``, one module per area, each with ``register(subparsers)``.
Every error ends as one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from annotate_app.cli.support import CLIError, report_error

COMMAND_MODULES = (
    "annotate_app.cli.project",
    "annotate_app.cli.serve",
    "annotate_app.cli.route",
    "annotate_app.cli.backup",
    "annotate_app.cli.train",
    "annotate_app.cli.insight",
    "annotate_app.cli.judge",
    "annotate_app.cli.user",
    "annotate_app.cli.jobs",
)


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes end as one line that says where to look, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="annotate",
        description="Human-in-the-loop preference collection: import, label, judge, train, export.",
    )
    parser.add_argument(
        "--db", help="project DuckDB file (default: $ANNOTATE_DB, else data/project.duckdb)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # `annotate CMD --db X` works as well as `annotate --db X CMD`
    for command in sub.choices.values():
        command.add_argument("--db", default=argparse.SUPPRESS, help="project DuckDB file")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("annotate: interrupted", file=sys.stderr)
        return 130
    except CLIError as exc:
        return report_error(exc)
    except Exception as exc:  # noqa: BLE001 - the last line of defence keeps output to one line
        return report_error(exc)


if __name__ == "__main__":
    sys.exit(main())
