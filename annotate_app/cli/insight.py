"""Insight and outputs: the model leaderboard, reward-model export, and the audit log."""

from __future__ import annotations

import argparse
import json

from annotate_app.analytics.leaderboard import Leaderboard, LeaderboardConfig, leaderboard
from annotate_app.cli.support import open_store
from annotate_app.export.audit import AUDIT_FORMATS, export_audit_log
from annotate_app.export.model import export_model
from annotate_app.labels.sources import SOURCES


def _print_board(board: Leaderboard) -> None:
    ratings = board.ratings
    if ratings.empty:
        print("no battles yet: the leaderboard needs labels on pairs of two different named models")
        return
    print(
        f"{'rank':>4}  {'model':<28} {'rating':>7}  {'95% CI':>15}  {'battles':>7}  {'W-T-L':>13}"
    )
    for r in ratings.itertuples():
        ci = f"{r.ci_low:.0f}..{r.ci_high:.0f}" if r.ci_low == r.ci_low else "-"
        marks = ("  few battles" if r.few_battles else "") + ("  unranked" if r.unranked else "")
        print(
            f"{r.rank:>4}  {r.model:<28} {r.rating:>7.0f}  {ci:>15}  {r.battles:>7}  "
            f"{f'{r.wins}-{r.ties}-{r.losses}':>13}{marks}"
        )
    print("rank: 1 + models whose lower 95% bound is above this model's upper bound (Arena)")
    for note in board.notes():
        print(f"note: {note}")
    human = board.human_position
    if human["n"]:
        print(
            f"human position bias: the left response won {human['left_win_rate']:.1%} of "
            f"{human['n']} decided labels (95% CI {human['ci_low']:.1%}..{human['ci_high']:.1%})"
        )
    for judge, bias in board.judge_position.items():
        print(
            f"judge {judge} position bias: prefers the first shown {bias['first_position_rate']:.1%}"
            f" of the time over {bias['n']} verdicts"
        )


def cmd_leaderboard(args: argparse.Namespace) -> int:
    config = LeaderboardConfig(source=args.source, bootstrap_rounds=args.rounds, seed=args.seed)
    with open_store(args) as store:
        board = leaderboard(store, config)
    if args.json:
        print(json.dumps(board.to_json(), indent=2))
    else:
        _print_board(board)
    return 0


def cmd_export_model(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        dest = export_model(store, args.version, args.path)
    print(
        f"wrote reward model {args.version} to {dest}: open it with "
        "AutoModelForSequenceClassification.from_pretrained(PATH, trust_remote_code=True)"
    )
    return 0


def cmd_audit_log(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        n = export_audit_log(store, args.path, args.format)
    print(f"wrote {n} label events to {args.path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="rank the responses' models by Bradley-Terry rating")
    p.add_argument("--source", choices=(*SOURCES, "all"), default="all", help="label source")
    p.add_argument("--rounds", type=int, default=200, help="bootstrap rounds (default 200)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_leaderboard)

    p = sub.add_parser(
        "export-model",
        help="write a reward-model version as a Hugging Face folder to PATH",
    )
    p.add_argument("version", metavar="VERSION", help="a model version id, or 'active'")
    p.add_argument("path", metavar="PATH", help="new folder to create")
    p.set_defaults(handler=cmd_export_model)

    p = sub.add_parser("audit-log", help="write every label event (the audit log) to a file")
    p.add_argument("path", metavar="PATH", help="a .csv or .parquet file")
    p.add_argument("--format", choices=AUDIT_FORMATS, help="default: from the file suffix")
    p.set_defaults(handler=cmd_audit_log)
