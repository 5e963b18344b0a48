"""Curated preference exports: aggregation of several annotators, agreement and confidence floors,
a train/test split by prompt, and the Hugging Face dataset folder.

The plain ``export`` module writes every decided pair as it stands; this one decides what a
training set should hold. Splits are by prompt, so no prompt sits in both train and test.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app.analytics.consensus import AGGREGATIONS, pair_consensus
from annotate_app.analytics.leaderboard import source_list
from annotate_app.export.files import zip_folder
from annotate_app.export.preferences import EXPORT_FORMATS, preference_record
from annotate_app.store import Store

ALL_FORMATS = (*EXPORT_FORMATS, "hf")


class MissingDependency(RuntimeError):
    """An optional package that this export needs is not installed."""


@dataclass
class ExportOptions:
    source: str = "all"  # human | ai | import | all
    aggregate: str = "mean"  # mean | majority | bt (see analytics.consensus)
    min_agreement: float = 0.0  # share of a pair's votes that match its decision
    min_confidence: float = 0.0  # P(chosen is better) under the aggregation
    test_fraction: float = 0.0  # share of prompts held out as the test split
    seed: int = 0

    def check(self) -> None:
        source_list(self.source)
        if self.aggregate not in AGGREGATIONS:
            raise ValueError(
                f"unknown aggregation {self.aggregate!r}; use {', '.join(AGGREGATIONS)}"
            )
        for name in ("min_agreement", "min_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")


@dataclass
class CuratedReport:
    paths: list[str]
    splits: dict[str, int]
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {split}" for split, n in self.splits.items())
        dropped = ", ".join(f"{n} {why}" for why, n in self.dropped.items() if n)
        return f"wrote {counts} preference rows to {', '.join(self.paths)}" + (
            f"; left out {dropped}" if dropped else ""
        )


def curated_rows(store: Store, options: ExportOptions) -> tuple[pd.DataFrame, dict[str, int]]:
    """Preference rows that pass the floors, with a ``split`` column, and why the rest fell out."""
    options.check()
    votes = store.label_votes(list(source_list(options.source)))
    decided = pair_consensus(votes, options.aggregate)
    dropped = {
        "both-bad": int((decided["outcome"] == "both_bad").sum()),
        "ties": int((decided["outcome"] == "tie").sum()),
    }
    decided = decided[decided["outcome"].isin(["a", "b"])]
    low_agreement = decided["agreement"] < options.min_agreement
    low_confidence = ~low_agreement & (decided["confidence"] < options.min_confidence)
    dropped["below min agreement"] = int(low_agreement.sum())
    dropped["below min confidence"] = int(low_confidence.sum())
    decided = decided[~low_agreement & ~low_confidence]
    texts = store.pairs_frame(decided["pair_id"].tolist()).set_index("pair_id")
    frame = _shape(decided.set_index("pair_id").join(texts, how="inner").reset_index())
    frame["split"] = _split(frame, options.test_fraction, options.seed)
    return frame, dropped


def export_preferences(
    store: Store, path: str | Path, fmt: str, options: ExportOptions | None = None
) -> CuratedReport:
    """Write the curated rows as dpo-jsonl, parquet (one file per split: NAME-train.EXT,
    NAME-test.EXT when there is a test split) or an HF dataset folder (one split per subset)."""
    options = options or ExportOptions()
    if fmt not in ALL_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(ALL_FORMATS)}")
    if fmt == "hf":
        _require_datasets()
    frame, dropped = curated_rows(store, options)
    splits = {name: part.drop(columns="split") for name, part in frame.groupby("split", sort=False)}
    splits = {
        name: splits.get(name, frame.iloc[:0].drop(columns="split")) for name in _names(options)
    }
    path = Path(path)
    if fmt == "hf":
        write_hf_dataset(splits, path)
        paths = [str(path)]
    else:
        paths = []
        for name, part in splits.items():
            target = (
                path if len(splits) == 1 else path.with_name(f"{path.stem}-{name}{path.suffix}")
            )
            _write_file(part, target, fmt)
            paths.append(str(target))
    return CuratedReport(paths, {k: len(v) for k, v in splits.items()}, dropped)


def write_hf_dataset(splits: dict[str, pd.DataFrame], path: Path) -> None:
    """A ``DatasetDict`` folder that ``datasets.load_from_disk`` opens."""
    datasets = _require_datasets()
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} exists and is not empty; choose a new folder")
    datasets.disable_progress_bars()  # a CLI line or a page, not a progress bar per split
    parts = {
        name: datasets.Dataset.from_pandas(part.reset_index(drop=True), preserve_index=False)
        for name, part in splits.items()
    }
    datasets.DatasetDict(parts).save_to_disk(str(path))


def export_bytes(store: Store, fmt: str, options: ExportOptions | None = None) -> tuple[bytes, str]:
    """The export as one download: the file itself, or a zip when it is a folder or several
    files. Returns (bytes, file name)."""
    suffix = {"dpo-jsonl": ".jsonl", "parquet": ".parquet"}.get(fmt, "")
    with tempfile.TemporaryDirectory() as tmp:
        report = export_preferences(store, Path(tmp) / f"preferences{suffix}", fmt, options)
        written = [Path(p) for p in report.paths]
        if len(written) == 1 and written[0].is_file():
            return written[0].read_bytes(), written[0].name
        return zip_folder(Path(tmp)), "preferences.zip"


def _shape(decided: pd.DataFrame) -> pd.DataFrame:
    """prompt/chosen/rejected in one shape for the whole file: chat messages when any prompt has
    several turns (TRL needs one shape per column), else plain strings."""
    conversational = bool((decided["n_turns"] > 1).any()) if len(decided) else False
    rows = []
    for r in decided.itertuples(index=False):
        rows.append(
            {
                **preference_record(r, r.outcome == "a", conversational),
                "pair_id": r.pair_id,
                "prompt_id": r.prompt_id,
                "source": ",".join(r.sources),
                "annotators": list(r.annotators),
                "n_labels": int(r.n_labels),
                "margin": float(r.margin),
                "agreement": float(r.agreement),
                "confidence": float(r.confidence),
            }
        )
    columns = [
        "prompt",
        "chosen",
        "rejected",
        "model_chosen",
        "model_rejected",
        "pair_id",
        "prompt_id",
        "source",
        "annotators",
        "n_labels",
        "margin",
        "agreement",
        "confidence",
    ]
    return pd.DataFrame(rows, columns=columns)


def _split(frame: pd.DataFrame, test_fraction: float, seed: int) -> np.ndarray:
    """'train'/'test' per row, holding out whole prompts (a seeded shuffle of the prompt ids)."""
    if test_fraction == 0 or frame.empty:
        return np.full(len(frame), "train", dtype=object)
    prompts = np.array(sorted(frame["prompt_id"].unique()))
    np.random.default_rng(seed).shuffle(prompts)
    n_test = max(1, round(test_fraction * len(prompts))) if len(prompts) > 1 else 0
    test = set(prompts[:n_test])
    return np.where(frame["prompt_id"].isin(test), "test", "train").astype(object)


def _names(options: ExportOptions) -> tuple[str, ...]:
    return ("train", "test") if options.test_fraction > 0 else ("train",)


def _write_file(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dpo-jsonl":
        with path.open("w", encoding="utf-8") as out:
            for row in frame.to_dict(orient="records"):
                out.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
    else:
        frame.to_parquet(path, index=False)


def _require_datasets():
    try:
        import datasets
    except ImportError:
        raise MissingDependency(
            "the hf format needs the 'datasets' package: pip install datasets"
        ) from None
    return datasets
