"""Accounts from the command line: add, list, disable, invite.

Whoever can open the project file can run these, so the command line acts as an admin: this is how
a new project gets its first admin (``annotate user add NAME --role admin --password-stdin``).
"""

from __future__ import annotations

import argparse
import json
import sys

from annotate_app.accounts import auth
from annotate_app.cli.support import CLIError, open_store

# The acting account for audit fields ("invited by"); it is not an account of the project.
COMMAND_LINE = auth.Account("command line", "admin")


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise CLIError("--password-stdin: no password on standard input")
    return password


def cmd_add(args: argparse.Namespace) -> int:
    password = _read_password() if args.password_stdin else None
    with open_store(args, must_exist=False) as store:
        account = auth.create_account(store, COMMAND_LINE, args.name, args.role, password)
    how = "with a password" if password else "without a password (name-only sign-in)"
    print(f"added {account.role} {account.name!r} {how}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        frame = store.annotators_frame()
        project_password = auth.project_password_set(store)
        with_password = {n for n in frame["name"] if auth.has_own_password(store, str(n))}
    accounts = [
        {
            "name": str(row["name"]),
            "role": str(row["role"]),
            "active": bool(row["active"]),
            "password": row["name"] in with_password or project_password,
            "labels": int(row["labels"]),
        }
        for _, row in frame.iterrows()
    ]
    if args.json:
        print(json.dumps(accounts, indent=2, ensure_ascii=False))
        return 0
    if not accounts:
        print("no accounts; add the first admin with 'annotate user add NAME --role admin'")
        return 0
    width = max(len(a["name"]) for a in accounts)
    for a in accounts:
        state = "active" if a["active"] else "disabled"
        password = "password" if a["password"] else "no password"
        # ascii(): a name is shown escaped, so no character in it can disguise the line
        print(f"{ascii(a['name'])[1:-1]:<{width}}  {a['role']:<9}  {state:<8}  {password}")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        auth.set_active(store, COMMAND_LINE, args.name, False)
    print(f"disabled {args.name!r}; their labels stay")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        token = auth.create_invite(store, COMMAND_LINE, args.role, args.hours, name=args.name)
    url = args.url.rstrip("/")
    print(f"invite for {args.name!r} ({args.role}), valid {args.hours:g} h, works once:")
    print(f"{url}/?invite={token}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="add, list, disable or invite accounts")
    actions = user.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser("add", help="add an account (the first admin of a new project too)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", choices=auth.ROLES, default="annotator")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the account's password from the first line of standard input",
    )
    p.set_defaults(handler=cmd_add)

    p = actions.add_parser("list", help="accounts, roles, and whether each needs a password")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_list)

    p = actions.add_parser("disable", help="disable an account (its labels stay)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=cmd_disable)

    p = actions.add_parser("invite", help="print a single-use invite link for a new account NAME")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", choices=auth.ROLES, default="annotator")
    p.add_argument("--hours", type=float, default=72.0, help="how long it works (default 72)")
    p.add_argument(
        "--url",
        default="http://127.0.0.1:8501",
        help="the app's address as annotators reach it (default http://127.0.0.1:8501)",
    )
    p.set_defaults(handler=cmd_invite)

    # `annotate user add NAME --db X` works as well as `annotate --db X user add NAME`
    for action in actions.choices.values():
        action.add_argument("--db", default=argparse.SUPPRESS, help="project DuckDB file")
