"""Project lifecycle: init, import, stats, export."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from annotate_app.cli.support import CLIError, open_store, project_paths
from annotate_app.export.options import EXPORT_FORMATS, ExportOptions
from annotate_app.export.preferences import export_dataset
from annotate_app.ingest import ImportOptions, PairConfig, import_file
from annotate_app.ingest.errors import shown
from annotate_app.ingest.formats import FORMATS
from annotate_app.ingest.readers import ReadLimits, parse_size
from annotate_app.labels.consensus import AGGREGATIONS
from annotate_app.labels.sources import HUMAN_SOURCES, PEOPLE, SOURCES
from annotate_app.settings import load as load_settings
from annotate_app.store import Store


def cmd_init(args: argparse.Namespace) -> int:
    paths = project_paths(args)
    existed = paths.db.exists()
    Store(paths).close()
    print(f"{'opened existing' if existed else 'created'} project {paths.db}")
    return 0


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


LIMIT_FLAGS = {
    "max_bytes": ("SIZE", _size, "largest expanded (decompressed) file size, e.g. 4G"),
    "max_line_bytes": ("SIZE", _size, "longest line, e.g. 256M"),
    "max_rows": ("N", int, "most rows in one file"),
}


def cmd_import(args: argparse.Namespace) -> int:
    if args.pairs_per_prompt is not None and args.pairs_per_prompt < 1:
        raise CLIError("--pairs-per-prompt must be 1 or more")
    options = ImportOptions(
        format=args.format,
        pairs=PairConfig(pairs_per_prompt=args.pairs_per_prompt, seed=args.seed),
        skip_invalid=args.skip_invalid,
    )
    missing = [p for p in args.paths if not (Path(p).is_file() or Path(p).is_dir())]
    if missing:  # before opening, so a typo does not leave an empty project behind
        raise CLIError(f"{shown(missing[0])}: no such file; nothing was imported")
    with open_store(args, must_exist=False) as store:
        limits = load_settings(store).read_limits()  # the project's, raised by the flags
        options.limits = replace(
            limits, **{k: v for k in LIMIT_FLAGS if (v := getattr(args, k)) is not None}
        )
        for path in args.paths:
            report = import_file(store, path, options)
            print(report.summary())
            for err in report.skipped[:20]:
                print(f"  skipped {err}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        stats = store.stats()
        if args.json:
            # imported here: the analytics stack (scikit-learn) would slow every other command's start
            from annotate_app.analytics.agreement import agreement_summary
            from annotate_app.analytics.dashboard import routing_summary

            stats["agreement"] = agreement_summary(store)
            stats["routing"] = routing_summary(store)
    if args.json:
        print(json.dumps(stats, indent=2, default=str))
        return 0
    print(f"prompts    {stats['prompts']}")
    print(f"responses  {stats['responses']}")
    print(
        f"pairs      {stats['pairs']} ({stats['labeled_pairs']} labeled, {stats['open_pairs']} open)"
    )
    for source, n in stats["labels"].items():
        print(f"labels     {n} {source}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    options = ExportOptions(
        source=args.source,
        aggregate=args.aggregate,
        min_agreement=args.min_agreement,
        min_confidence=args.min_confidence,
        test_fraction=args.test_fraction,
        seed=args.seed,
    )
    try:
        options.check()
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    with open_store(args) as store:
        try:
            report = export_dataset(store, args.path, args.format, options)
        except (ValueError, FileExistsError) as exc:
            raise CLIError(f"{exc}; nothing was written") from None
    print(report.summary())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create an empty project (or check an existing one)")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser(
        "import",
        help="import JSONL, JSONL.gz, CSV or Parquet files, or Hugging Face dataset folders",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=FORMATS, help="skip detection and read rows as this format")
    p.add_argument(
        "--pairs-per-prompt",
        type=int,
        metavar="K",
        help="multi-response: sample K pairs per prompt",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for pair sampling (default 0)")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows and report the rest"
    )
    for name, (metavar, parse, what) in LIMIT_FLAGS.items():
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=parse,
            metavar=metavar,
            help=f"{what} (default: the project's import limit, else {getattr(ReadLimits(), name):,})",
        )
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("stats", help="counts of prompts, responses, pairs and labels")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("export", help="write the labeled pairs as a preference dataset")
    p.add_argument("path", metavar="PATH")
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="dpo-jsonl",
        help="dpo-jsonl, parquet, hf (Hub-layout dataset folder) or battles (Arena clean_battle "
        "JSON); default dpo-jsonl",
    )
    p.add_argument(
        "--source",
        choices=(*SOURCES, PEOPLE, "all"),
        default="all",
        help=f"whose votes count ({PEOPLE}: {', '.join(HUMAN_SOURCES)}); default all",
    )
    p.add_argument(
        "--aggregate", choices=AGGREGATIONS, default="mean", help="how votes decide a pair"
    )
    p.add_argument("--min-agreement", type=float, default=0.0, metavar="F", help="0..1")
    p.add_argument("--min-confidence", type=float, default=0.0, metavar="F", help="0..1")
    p.add_argument(
        "--test-fraction", type=float, default=0.0, metavar="F", help="prompts held out as test"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for the train/test split")
    p.set_defaults(handler=cmd_export)
