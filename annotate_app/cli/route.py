"""Routing: ``annotate route`` (decide who labels each open pair) and the routing mode of
``annotate simulate``."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from annotate_app.cli.support import CLIError, open_store
from annotate_app.routing.budget import BudgetConfig
from annotate_app.routing.policies import POLICIES

PREVIEW_ROWS = 30


def _budget(value: str) -> float:
    try:
        budget = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from exc
    if budget < 0 or (budget > 1 and budget != int(budget)):
        raise argparse.ArgumentTypeError("use a fraction in [0, 1] or a whole number of labels")
    return budget


def cmd_route(args: argparse.Namespace) -> int:
    from annotate_app.routing import plan as routing_plan

    with open_store(args) as store:
        config = routing_plan.load_config(store)
        if args.policy:
            config.policy = replace(config.policy, name=args.policy)
        budget_changes = {
            k: v
            for k, v in (
                ("human_budget", args.human_budget),
                ("expected_pairs", args.expected_pairs),
                ("cost_human", args.cost_human),
                ("cost_judge", args.cost_judge),
            )
            if v is not None
        }
        config.budget = BudgetConfig(**{**config.budget.__dict__, **budget_changes})
        if args.epsilon is not None:
            config.policy.router = replace(config.policy.router, epsilon=args.epsilon)
        if args.no_escalation:
            config.escalate = False
        plan = routing_plan.preview(store, config)
        _print_plan(plan, args.preview)
        if args.preview:
            print("preview only: nothing was written (run without --preview to apply)")
            return 0
        run_id = routing_plan.apply(store, plan)
        routing_plan.save_config(store, config)
    print(
        f"applied routing run {run_id}; policy and budget saved as the project's routing settings"
    )
    return 0


def _print_plan(plan, show_rows: bool) -> None:
    mix = plan.mix()
    cfg = plan.config
    print(
        f"policy {cfg.policy.name}, human budget {cfg.budget.human_budget:g} "
        f"({plan.spend.budget_labels} labels in all, {plan.allowance} allowed now); "
        f"judge {plan.calibration}"
    )
    print(
        f"routes: {mix['human']} human, {mix['ai']} ai, {mix['hold']} hold"
        f"{f' ({plan.n_escalated} escalated)' if plan.n_escalated else ''}"
    )
    s = plan.spend
    print(
        f"spend so far: {s.human_labels} human labels = {s.human_cost:.2f}, "
        f"{s.judge_calls} judge verdicts = {s.judge_cost:.2f}, total {s.total:.2f}"
    )
    if not plan.importances.empty:
        top = ", ".join(f"{k} {v:+.2f}" for k, v in plan.importances.head(5).items())
        print(f"learned router, top features: {top}")
    if show_rows and len(plan.routes):
        rows = plan.routes.sort_values("priority", ascending=False).head(PREVIEW_ROWS)
        for r in rows.itertuples():
            print(f"  {r.pair_id[:12]}  {r.route:<5}  {r.priority:6.2f}  {r.reason}")
        if len(plan.routes) > PREVIEW_ROWS:
            print(f"  ... {len(plan.routes) - PREVIEW_ROWS} more")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def simulate_routing(args: argparse.Namespace) -> int:
    """``annotate simulate DATA --routing POLICIES``: replay DATA through the routing policies."""
    from annotate_app.reward.config import HeadChoiceConfig
    from annotate_app.simulation.routing import (
        RoutingSimConfig,
        budget_to_match_all_human,
        simulate,
        summary_table,
        write_html,
    )

    for path in [args.data, args.test] if args.test else [args.data]:
        if not Path(path).exists():
            raise CLIError(f"no such file: {path}")
    try:
        budgets = [float(b) for b in _csv(args.human_budgets)]
    except ValueError as exc:
        raise CLIError(f"--human-budgets: {exc}") from exc
    config = RoutingSimConfig(
        policies=_csv(args.routing),
        human_budgets=budgets,
        judge=args.judge,
        second_judge=args.second_judge,
        seeds=args.seeds,
        first_seed=args.first_seed,
        rounds=args.rounds,
        limit=args.limit,
        test_frac=args.test_fraction,
        rm=not args.no_rm,
        head_choice=HeadChoiceConfig(enabled=not args.no_head_choice),
    )
    with open_store(args, must_exist=False) as store:
        result = simulate(store, args.data, args.test, config)
    table = summary_table(result)
    result["summary"] = table.to_dict(orient="records")
    print(f"\njudge: {result['judge']}  |  reward model: {result['reward_model']}")
    print(result["reference"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for metric in ("rm_accuracy", "label_accuracy"):
        match = budget_to_match_all_human(result, metric)
        print(f"smallest budget within 1 point of all-human ({metric}): {match}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
        print(f"wrote {args.json}")
    if args.html:
        write_html(result, Path(args.html))
        print(f"wrote {args.html}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("route", help="route open pairs to humans, the AI judge, or hold")
    p.add_argument("--policy", choices=POLICIES, help="routing policy (default: the saved one)")
    p.add_argument(
        "--human-budget",
        type=_budget,
        metavar="F",
        help="human labels: a fraction of pairs (0-1) or a whole count",
    )
    p.add_argument("--expected-pairs", type=int, metavar="N", help="pace the budget over N pairs")
    p.add_argument("--cost-human", type=float, metavar="C", help="cost of one human label")
    p.add_argument("--cost-judge", type=float, metavar="C", help="cost of one judge verdict")
    p.add_argument(
        "--epsilon", type=float, help="learned: share of human budget explored at random"
    )
    p.add_argument("--no-escalation", action="store_true", help="do not escalate AI labels")
    p.add_argument(
        "--preview", action="store_true", help="print the routes with reasons; write nothing"
    )
    p.set_defaults(handler=cmd_route)


def add_routing_simulation_options(p: argparse.ArgumentParser) -> None:
    """The routing mode's options of ``annotate simulate``."""
    p.add_argument(
        "--routing",
        metavar="POLICIES",
        help="routing mode: comma-separated policies from "
        f"{', '.join(POLICIES)}, oracle (the ceiling: humans get the pairs the judge gets wrong)",
    )
    p.add_argument("--human-budgets", default="0,0.1,0.25,0.5,1", metavar="F,F,...")
    p.add_argument(
        "--judge",
        default="simulated:0.7",
        help="judge spec (local, hf:PATH, openai:URL), simulated:ACC (synthetic) or "
        "recorded:FILE (a verdicts file replayed)",
    )
    p.add_argument(
        "--second-judge",
        metavar="SPEC",
        help="another judge whose agreement with --judge is a router feature",
    )
    p.add_argument("--rounds", type=int, default=4, help="paced routing rounds per run")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N pairs of DATA")
    p.add_argument(
        "--no-rm",
        action="store_true",
        help="skip training the reward model on each row's labels (rm_accuracy left empty)",
    )
