"""Reward model and active learning: train, select, simulate."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from annotate_app.active.acquisition import STRATEGIES
from annotate_app.active.bandit import AUTO, BanditConfig
from annotate_app.active.select import DEFAULT_STRATEGY, ActiveConfig
from annotate_app.cli.route import add_routing_simulation_options, simulate_routing
from annotate_app.cli.support import CLIError, open_store
from annotate_app.jobs import JobFailed, JobRunner
from annotate_app.reward.config import HeadChoiceConfig, TrainConfig

DEFAULT_SIM_STRATEGIES = "random,entropy,bald,balpm,auto"


def _progress(job: dict) -> None:
    if sys.stderr.isatty():
        print(
            f"\r[{job['progress']:4.0%}] {job.get('message') or ''}"[:100].ljust(100),
            end="",
            file=sys.stderr,
        )


def _wait(runner: JobRunner, job_id: str) -> dict:
    try:
        job = runner.wait(job_id, on_progress=_progress)
    except JobFailed as exc:
        raise CLIError(f"{exc} (the previous model, if any, stays active)") from None
    finally:
        if sys.stderr.isatty():
            print(file=sys.stderr)
    return job


def _active(args: argparse.Namespace) -> ActiveConfig:
    if args.k is not None and args.k < 1:
        raise CLIError("--k must be 1 or more")
    active = ActiveConfig(strategy=args.strategy)
    return replace(active, batch=args.k) if args.k is not None else active


def cmd_train(args: argparse.Namespace) -> int:
    from annotate_app.reward.jobs import TRAIN, start_training

    config = TrainConfig(mode=args.mode)
    config.encoder.device = config.finetune.device = args.device
    if args.encoder:
        config.encoder.path = config.finetune.base = args.encoder
    if args.max_steps is not None:
        config.finetune.max_steps = args.max_steps
    with open_store(args) as store:
        runner = JobRunner(store)  # adopts the jobs of a process that is gone
        left = store.active_job(TRAIN)
        if left:  # only an adopted orphan can run while this command holds the project
            print(f"following training job {left}, left running by a process that is gone")
            runner.wait(left, on_progress=_progress, raise_on_failure=False)
        job = _wait(runner, start_training(store, runner, config, _active(args)))
        model = store.active_model()
    result = job["result"] or {}
    metrics = result.get("metrics", {})
    print(
        f"model {model['id']} ({model['mode']}) active; trained on {metrics.get('n_train')} pairs "
        f"in {model['train_seconds']:.1f}s"
    )
    if metrics.get("n_heldout"):
        print(
            f"held-out ({metrics['n_heldout']} pairs): accuracy {metrics['accuracy']:.3f}, "
            f"log-loss {metrics['log_loss']:.3f}, ECE {metrics['ece']:.3f}"
        )
    else:
        print("held-out: too few labeled pairs to hold any out; no metrics yet")
    choice = metrics.get("head_choice")
    if choice:
        print(f"head: {choice['head']}; {choice['reason']}")
    print(f"scored the open pairs; {result.get('selected', 0)} chosen by '{args.strategy}'")
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    from annotate_app.reward.jobs import start_selection

    with open_store(args) as store:
        runner = JobRunner(store)
        job = _wait(runner, start_selection(store, runner, _active(args)))
    print(
        f"{job['result']['selected']} pairs put first in the human queue by '{args.strategy}' "
        f"(model {job['result']['version']})"
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.routing and args.strategies:
        raise CLIError("choose one mode: --strategies (active learning) or --routing (routing)")
    if args.routing:
        return simulate_routing(args)
    args.strategies = args.strategies or DEFAULT_SIM_STRATEGIES
    from annotate_app.simulation.strategies import SimulationConfig, run_simulation

    try:
        budgets = [int(b) for b in args.budgets.split(",")]
    except ValueError:
        raise CLIError(
            f"--budgets must be comma-separated integers, got {args.budgets!r}"
        ) from None
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    known = [*STRATEGIES, AUTO]
    unknown = [s for s in strategies if s not in known]
    if unknown:
        raise CLIError(f"unknown strategies {unknown}; choose from {', '.join(known)}")
    if args.folds and args.test:
        raise CLIError("choose one out-of-sample test: --test FILE or --folds K")
    if args.folds == 1:
        raise CLIError("--folds needs at least 2 folds")
    config = SimulationConfig(
        data=args.data,
        test=args.test,
        strategies=strategies,
        budgets=sorted(budgets),
        seeds=args.seeds,
        first_seed=args.first_seed,
        batch=args.batch,
        test_fraction=args.test_fraction,
        folds=args.folds,
        bandit=BanditConfig(
            explore_ramp=args.auto_explore_ramp, eliminate=not args.auto_keep_worse
        ),
        head_choice=HeadChoiceConfig(enabled=not args.no_head_choice),
    )
    with open_store(args, must_exist=False) as store:
        report = run_simulation(store, JobRunner(store), config, on_progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
    if args.html:
        from annotate_app.simulation.strategies import learning_curve_html

        learning_curve_html(report, args.html)
    print(report["table"])
    if report["in_sample"]:
        print(report["warning"], file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    strategies = ", ".join([*STRATEGIES, AUTO])
    p = sub.add_parser("train", help="train a reward model on the labels, score and select")
    p.add_argument("--mode", choices=("head", "finetune"), default="head")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--encoder", help="encoder (head) or base model (finetune) path; default MiniLM")
    p.add_argument("--max-steps", type=int, help="finetune: stop after this many optimizer steps")
    p.add_argument(
        "--strategy",
        default=DEFAULT_STRATEGY,
        choices=[*STRATEGIES, AUTO],
        help=f"acquisition after training (default {DEFAULT_STRATEGY})",
    )
    p.add_argument("--k", type=int, help="batch size put first in the queue (default 50)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("select", help="choose the next pairs to label with the active model")
    p.add_argument(
        "--strategy",
        default=DEFAULT_STRATEGY,
        choices=[*STRATEGIES, AUTO],
        help=f"one of {strategies} (default {DEFAULT_STRATEGY})",
    )
    p.add_argument("--k", type=int, help="batch size (default 50)")
    p.set_defaults(handler=cmd_select)

    p = sub.add_parser(
        "simulate",
        help="replay a labeled dataset: acquisition strategies (--strategies, the default mode) "
        "or routing policies (--routing)",
    )
    p.add_argument("data", metavar="DATA", help="labeled file in any import format")
    p.add_argument(
        "--test",
        help="labeled test file never used to choose; without it (or --folds) the "
        "comparison is in-sample and every output says so",
    )
    p.add_argument(
        "--folds",
        type=int,
        default=0,
        help="without --test: nested folds; seed i is scored on fold i mod K by the strategy the "
        "other folds chose (run K or more seeds)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="held-out share when there is no --test (default 0.2)",
    )
    p.add_argument(
        "--strategies",
        help=f"strategies mode: comma-separated, from {strategies} "
        f"(default {DEFAULT_SIM_STRATEGIES}); 'value' reads recorded verdicts from judge_NAME "
        "fields (P chosen wins) of chosen/rejected JSONL rows",
    )
    p.add_argument(
        "--budgets",
        default="100,200,400,800",
        help="label counts to measure at; the first is "
        "the random seed set (default 100,200,400,800)",
    )
    p.add_argument("--seeds", type=int, default=5, help="paired seeds (default 5, both modes)")
    p.add_argument("--first-seed", type=int, default=0, help="run fresh seeds from this one on")
    p.add_argument("--batch", type=int, default=100, help="labels acquired per round (default 100)")
    p.add_argument(
        "--auto-explore-ramp",
        type=int,
        default=BanditConfig.explore_ramp,
        help="auto: batches by which exploration reaches half its most; 0 explores fully from "
        f"the first batch (default {BanditConfig.explore_ramp})",
    )
    p.add_argument(
        "--auto-keep-worse",
        action="store_true",
        help="auto: keep exploring strategies proven worse than random (the app drops them)",
    )
    p.add_argument(
        "--no-head-choice",
        action="store_true",
        help="both modes: fit the default head alone, unscaled, instead of choosing its variant "
        "and logit scale by CV as the train job does (about 20 times fewer head fits)",
    )
    add_routing_simulation_options(p)
    p.add_argument("--json", metavar="OUT")
    p.add_argument("--html", metavar="PLOT.html")
    p.set_defaults(handler=cmd_simulate)
