"""``annotate judge`` (label pairs with an AI judge, as a job, or write a Batch API request file),
``annotate import-batch`` and ``annotate judge-report``."""

from __future__ import annotations

import argparse
import json
import sys

from annotate_app.analytics.calibration import METHODS, judge_report, refit_calibration
from annotate_app.cli.support import CLIError, open_store
from annotate_app.export.files import json_value
from annotate_app.jobs import JobFailed, JobRunner
from annotate_app.judge.jobs import JudgeBusy, JudgeJobConfig, submit_judge_job
from annotate_app.judge.spec import JudgeSpec

BAR = 30
DEFAULT_TIMEOUT, DEFAULT_RETRIES = 60.0, 3


def _progress(job: dict) -> None:
    if not sys.stderr.isatty():
        return
    done = int(BAR * float(job.get("progress") or 0))
    line = f"\r[{'#' * done}{'.' * (BAR - done)}] {job.get('message') or job['status']}"
    print(line[:110].ljust(110), end="", file=sys.stderr, flush=True)


def cmd_judge(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise CLIError("--limit must be 1 or more")
    options = {}
    if args.judge.startswith("openai:"):
        options = {"timeout_s": args.timeout, "max_retries": args.retries}
    elif args.timeout != DEFAULT_TIMEOUT or args.retries != DEFAULT_RETRIES:
        raise CLIError("--timeout and --retries apply to openai:URL judges only")
    spec = JudgeSpec.parse(args.judge, model=args.model, **options)
    if args.batch_out:
        return _write_batch(args, spec)
    config = JudgeJobConfig(pairs=args.pairs, limit=args.limit, chunk_size=args.chunk_size)
    with open_store(args) as store:
        runner = JobRunner(store)
        try:
            job_id, n = submit_judge_job(store, runner, spec, config)
        except JudgeBusy as exc:
            raise CLIError(str(exc)) from None
        if job_id is None:
            print(f"nothing to judge: every {args.pairs} pair has a verdict from {spec.judge_id}")
            return 0
        print(f"judging {n} pairs with {spec.judge_id} (job {job_id}; Ctrl-C cancels)")
        try:
            job = runner.wait(job_id, on_progress=_progress)
        except JobFailed as exc:
            if sys.stderr.isatty():
                print(file=sys.stderr)
            judged = len(store.judge_verdicts(spec.judge_id))
            raise CLIError(
                f"{exc}\n  {judged} verdicts from {spec.judge_id} are stored; the rest stay "
                "queued and the next run resumes"
            ) from None
        if sys.stderr.isatty():
            print(file=sys.stderr)
    result = job.get("result") or {}
    print(
        f"judged {result.get('judged', 0)} pairs with {spec.judge_id}"
        + (f"; {result['unusable']} gave no usable verdict" if result.get("unusable") else "")
    )
    return 0


def _write_batch(args: argparse.Namespace, spec: JudgeSpec) -> int:
    from annotate_app.judge.batch import write_requests

    if spec.kind != "openai":
        raise CLIError("--batch-out needs an openai:URL judge and --model")
    with open_store(args) as store:
        n = write_requests(store, spec, args.batch_out, args.pairs, args.limit)
    print(
        f"wrote {2 * n} requests ({n} pairs, both orders) for {spec.judge_id} to {args.batch_out}; "
        "submit it to the Batch API, then 'annotate import-batch RESULTS --judge ... --model ...'"
    )
    return 0


def cmd_import_batch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from annotate_app.judge.batch import read_results

    if not Path(args.results).is_file():
        raise CLIError(f"{args.results}: no such file")
    spec = JudgeSpec.parse(args.judge, model=args.model)
    if spec.kind != "openai":
        raise CLIError("import-batch reads the results of an openai:URL judge (with --model)")
    with open_store(args) as store:
        report = read_results(store, spec, args.results)
    print(f"{spec.judge_id}: {report.summary()}")
    for problem in report.problems[:20]:
        print(f"  {problem}")
    if len(report.problems) > 20:
        print(f"  ... {len(report.problems) - 20} more")
    return 0


def cmd_tag_prompts(args: argparse.Namespace) -> int:
    from annotate_app.judge.http import HttpJudgeConfig
    from annotate_app.judge.protocol import JudgeUnavailable
    from annotate_app.judge.tagging import PromptTagger

    if args.limit is not None and args.limit < 1:
        raise CLIError("--limit must be 1 or more")
    spec = JudgeSpec.parse(args.judge, model=args.model)
    if spec.kind != "openai":
        raise CLIError("tag-prompts needs an openai:URL endpoint and --model")
    config = HttpJudgeConfig(
        url=spec.target or "",
        model=spec.model or "",
        timeout_s=args.timeout,
        max_retries=args.retries,
    )
    tagger = PromptTagger(config)
    with open_store(args) as store:
        prompts = store.untagged_prompts(tagger.tagger_id, args.limit)
        if not prompts:
            print(f"nothing to tag: every prompt has tags from {tagger.tagger_id}")
            return 0
        print(f"tagging {len(prompts)} prompts with {tagger.tagger_id}")
        try:
            report = tagger.tag_all(
                prompts,
                lambda pid, tags: store.save_prompt_tags(pid, tagger.tagger_id, tags.as_dict()),
            )
        except JudgeUnavailable as exc:
            done = store.prompt_taggers().get(tagger.tagger_id, 0)
            raise CLIError(
                f"{exc}\n  {done} prompts have tags from {tagger.tagger_id}; the next run resumes"
            ) from None
    print(
        f"tagged {report.tagged} prompts with {tagger.tagger_id}"
        + (f"; {report.n_refused} answers refused, left untagged" if report.n_refused else "")
    )
    for problem in report.refused[:20]:
        print(f"  {problem}")
    return 0


def cmd_judge_report(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        if args.fit:
            for judge_id in store.judge_ids():
                try:
                    version = refit_calibration(store, judge_id, args.fit)
                    print(f"stored {args.fit} calibration v{version} for {judge_id}")
                except ValueError as exc:
                    print(f"no calibration for {judge_id}: {exc}")
        report = judge_report(store)
    if args.json:
        print(json.dumps(json_value(report), indent=2, default=str, allow_nan=False))
        return 0
    if not report:
        print("no AI verdicts yet: run 'annotate judge' first")
        return 0
    print(
        f"{'judge':44} {'n':>5} {'agree':>6} {'95% CI':>13} {'kappa':>6} "
        f"{'logloss':>7} {'ECE':>5} {'consist':>7} calib"
    )
    for judge_id, m in report.items():
        calib = m["calibration"]
        calib_text = f"v{calib['version']} {calib['method']}" if calib else "-"
        if not m["n"]:
            print(f"{judge_id[:44]:44} {0:>5}  (no pairs with human labels yet) {calib_text}")
            continue
        lo, hi = m["agreement_ci95"]
        print(
            f"{judge_id[:44]:44} {m['n']:>5} {m['agreement']:>6.3f} {lo:>6.3f}-{hi:<6.3f} "
            f"{m['kappa']:>6.3f} {m['log_loss']:>7.3f} {m['ece']:>5.3f} "
            f"{m['consistency_rate']:>7.3f} {calib_text}"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("judge", help="label pairs with an AI judge (both orders, debiased)")
    p.add_argument(
        "--judge",
        default="local",
        metavar="SPEC",
        help="local (bundled SmolLM2), hf:PATH (any causal LM), or openai:URL (default local)",
    )
    p.add_argument("--model", help="the served model name, for an openai:URL judge")
    p.add_argument("--limit", type=int, metavar="N", help="judge at most N pairs")
    p.add_argument(
        "--pairs",
        choices=("all", "routed"),
        default="all",
        help="all pairs, or only those routed to the AI (default all)",
    )
    p.add_argument("--chunk-size", type=int, default=16, help="pairs per saved chunk (default 16)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"openai judges: seconds per request (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        metavar="N",
        help=f"openai judges: retries after a timeout or 5xx, with backoff (default {DEFAULT_RETRIES})",
    )
    p.add_argument(
        "--batch-out",
        metavar="REQUESTS.jsonl",
        help="openai judges: write an OpenAI Batch API request file (both orders) instead of "
        "judging now",
    )
    p.set_defaults(handler=cmd_judge)

    p = sub.add_parser(
        "import-batch", help="store the verdicts of an OpenAI Batch API results file"
    )
    p.add_argument("results", metavar="RESULTS.jsonl")
    p.add_argument("--judge", required=True, metavar="openai:URL", help="the judge the batch ran")
    p.add_argument("--model", required=True, help="the model the batch ran")
    p.set_defaults(handler=cmd_import_batch)

    p = sub.add_parser(
        "tag-prompts",
        help="tag each prompt with HyPER's metadata (subject, expertise, open-endedness, safety, "
        "complexity, format) by an openai:URL model, cached per prompt and model; the learned "
        "router reads them as features. Runs in this process (it waits on the network), not as a "
        "job",
        description="Tag each prompt that has no tags from this model yet with HyPER's six "
        "metadata tags (strict JSON; a malformed answer leaves the prompt untagged). The tags are "
        "cached per prompt and model, and the learned router reads them as features. Runs in this "
        "process, not as a background job: the work is waiting on the network.",
    )
    p.add_argument("--judge", required=True, metavar="openai:URL", help="the tagging endpoint")
    p.add_argument("--model", required=True, help="the served model name")
    p.add_argument("--limit", type=int, metavar="N", help="tag at most N untagged prompts")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds per request (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        metavar="N",
        help=f"retries after a timeout or 5xx, with backoff (default {DEFAULT_RETRIES})",
    )
    p.set_defaults(handler=cmd_tag_prompts)

    p = sub.add_parser("judge-report", help="how far each AI judge agrees with human labels")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument(
        "--fit", choices=METHODS, help="also fit and store a new calibration map version"
    )
    p.set_defaults(handler=cmd_judge_report)
