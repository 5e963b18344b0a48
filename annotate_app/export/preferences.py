"""The one preference export: decided pairs as prompt/chosen/rejected rows, as TRL's DPO and reward
trainers read them, written as JSONL, Parquet, a Hugging Face dataset folder, or Arena battles.

One shaping (``preference_rows``) and one set of writers (``export.files``) serve every format and
every option. Options change which rows come out, never the columns:

- ``source`` picks the label sources whose votes count;
- ``aggregate`` decides each pair from its votes (``labels.consensus``: mean, majority, bt);
- ``min_agreement`` / ``min_confidence`` drop disputed or unsure pairs;
- ``test_fraction`` + ``seed`` hold out whole prompts as a test split, so no prompt sits in both.

Ties, both-bad pairs, pairs only ever skipped, pairs with an open flag and pairs with an empty
response are left out, and the report says how many of each. An adjudicated label settles its pair
(``labels.adjudication``). The vote margin is exported as ``vote_margin``: TRL's
RewardTrainer reads a column named ``margin`` as a reward margin, which ours is not.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from annotate_app.analytics.leaderboard import source_list
from annotate_app.export.battles import export_battles
from annotate_app.export.files import (
    write_files_atomic,
    write_folder_atomic,
    write_jsonl,
    write_parquet,
    zip_folder,
)
from annotate_app.export.hf_folder import write_hf_folder
from annotate_app.export.options import EXPORT_FORMATS, SUFFIXES, ExportOptions, ExportReport
from annotate_app.ingest.formats import is_blank
from annotate_app.labels.adjudication import final_votes
from annotate_app.labels.consensus import pair_consensus
from annotate_app.store import Store

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
PREFERENCE_FIELDS = (
    ("model_chosen", pa.string()),
    ("model_rejected", pa.string()),
    ("pair_id", pa.string()),
    ("prompt_id", pa.string()),
    ("source", pa.string()),
    ("annotators", pa.list_(pa.string())),
    ("n_labels", pa.int64()),
    ("vote_margin", pa.float64()),  # |mean 5-point choice|, 0..2
    ("agreement", pa.float64()),
    ("confidence", pa.float64()),
)
PREFERENCE_COLUMNS = ("prompt", "chosen", "rejected", *(name for name, _ in PREFERENCE_FIELDS))


def preference_schema(conversational: bool) -> pa.Schema:
    """Plain strings, or chat messages for prompt/chosen/rejected (one shape per file)."""
    text = MESSAGES if conversational else pa.string()
    return pa.schema([("prompt", text), ("chosen", text), ("rejected", text), *PREFERENCE_FIELDS])


@dataclass
class PreferenceRows:
    """The export's rows per split, the shape of its text columns, and what was left out why."""

    splits: dict[str, list[dict]]
    conversational: bool
    dropped: dict[str, int] = field(default_factory=dict)

    def frame(self, split: str | None = None) -> pd.DataFrame:
        """One split (or every row, with a ``split`` column) as a DataFrame."""
        if split is not None:
            return pd.DataFrame(self.splits[split], columns=list(PREFERENCE_COLUMNS))
        parts = [
            pd.DataFrame(rows, columns=list(PREFERENCE_COLUMNS)).assign(split=name)
            for name, rows in self.splits.items()
        ]
        return pd.concat(parts, ignore_index=True)


def preference_rows(store: Store, options: ExportOptions | None = None) -> PreferenceRows:
    """The decided pairs that pass the options, shaped as export rows, split by prompt."""
    options = options or ExportOptions()
    options.check()
    sources = list(source_list(options.source))
    votes = final_votes(store.label_votes(sources))
    flagged = votes["pair_id"].isin(store.flagged_pair_ids())  # open flags wait for review
    decided = pair_consensus(votes[~flagged], options.aggregate)
    dropped = {
        "flagged": int(votes.loc[flagged, "pair_id"].nunique()),
        "ties": int((decided["outcome"] == "tie").sum()),
        "both-bad": int((decided["outcome"] == "both_bad").sum()),
        "skipped-only": store.skipped_only_pairs(sources),
    }
    decided = decided[decided["outcome"].isin(["a", "b"])]
    texts = store.pairs_frame(decided["pair_id"].tolist())
    decided = decided.merge(texts, on="pair_id", how="inner", validate="one_to_one")
    empty = decided["text_a"].map(is_blank) | decided["text_b"].map(is_blank)
    dropped["with an empty response"] = int(empty.sum())
    decided = decided[~empty]
    low_agreement = decided["agreement"] < options.min_agreement
    low_confidence = ~low_agreement & (decided["confidence"] < options.min_confidence)
    dropped["below min agreement"] = int(low_agreement.sum())
    dropped["below min confidence"] = int(low_confidence.sum())
    decided = decided[~low_agreement & ~low_confidence].sort_values("pair_id")
    conversational = bool((decided["n_turns"] > 1).any())
    split = _split(decided["prompt_id"], options.test_fraction, options.seed)
    splits: dict[str, list[dict]] = {name: [] for name in options.split_names()}
    for r, part in zip(decided.itertuples(index=False), split, strict=True):
        splits[part].append(_record(r, conversational))
    return PreferenceRows(splits, conversational, dropped)


def _record(pair, conversational: bool) -> dict:
    """One decided pair in the file's one shape: chat messages when any prompt of the export has
    several turns (TRL needs one shape per column), else plain strings."""
    a_wins = pair.outcome == "a"
    chosen, rejected = (pair.text_a, pair.text_b) if a_wins else (pair.text_b, pair.text_a)
    turns = _turns(pair.turns)
    if conversational:
        prompt: object = turns
        chosen = [{"role": "assistant", "content": chosen}]
        rejected = [{"role": "assistant", "content": rejected}]
    else:
        prompt = turns[-1]["content"]
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "model_chosen": _model(pair.model_a if a_wins else pair.model_b),
        "model_rejected": _model(pair.model_b if a_wins else pair.model_a),
        "pair_id": pair.pair_id,
        "prompt_id": pair.prompt_id,
        "source": ",".join(pair.sources),
        "annotators": list(pair.annotators),
        "n_labels": int(pair.n_labels),
        "vote_margin": float(pair.margin),
        "agreement": float(pair.agreement),
        "confidence": float(pair.confidence),
    }


def _turns(stored: object) -> list[dict]:
    return json.loads(stored) if isinstance(stored, str) else list(stored)


def _model(name: object) -> str | None:
    """A missing model name reads back from DuckDB as NaN or None; files hold null."""
    return name if isinstance(name, str) else None


def _split(prompt_ids: pd.Series, test_fraction: float, seed: int) -> np.ndarray:
    """'train'/'test' per row, holding out whole prompts (a seeded shuffle of the prompt ids)."""
    if test_fraction == 0 or prompt_ids.empty:
        return np.full(len(prompt_ids), "train", dtype=object)
    prompts = np.array(sorted(prompt_ids.unique()))
    np.random.default_rng(seed).shuffle(prompts)
    n_test = max(1, round(test_fraction * len(prompts))) if len(prompts) > 1 else 0
    test = set(prompts[:n_test])
    return np.where(prompt_ids.isin(test), "test", "train").astype(object)


def split_paths(path: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """One file per split: PATH itself for one split, else NAME-train.EXT, NAME-test.EXT."""
    if len(names) == 1:
        return {names[0]: path}
    return {name: path.with_name(f"{path.stem}-{name}{path.suffix}") for name in names}


def export_dataset(
    store: Store, path: str | Path, fmt: str, options: ExportOptions | None = None
) -> ExportReport:
    """Write the export in one format. Every file goes to a temporary name first and is renamed
    when all are complete, so a failure leaves no partial export and keeps any old file."""
    options = options or ExportOptions()
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if fmt == "battles":
        return export_battles(store, path, options)
    if fmt == "hf" and path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} exists and is not empty; choose a new folder")  # before work
    rows = preference_rows(store, options)
    schema = preference_schema(rows.conversational)
    counts = {name: len(part) for name, part in rows.splits.items()}
    if fmt == "hf":
        write_folder_atomic(path, lambda tmp: write_hf_folder(tmp, rows, schema, options))
        return ExportReport([str(path)], counts, rows.conversational, rows.dropped)
    targets = split_paths(path, options.split_names())

    def writer(part: list[dict]):
        if fmt == "dpo-jsonl":
            return lambda tmp: write_jsonl(part, tmp)
        return lambda tmp: write_parquet(part, schema, tmp)

    write_files_atomic({target: writer(rows.splits[name]) for name, target in targets.items()})
    return ExportReport(
        [str(t) for t in targets.values()], counts, rows.conversational, rows.dropped
    )


def export_bytes(store: Store, fmt: str, options: ExportOptions | None = None) -> tuple[bytes, str]:
    """The export as one download: the file itself, or a zip when it is a folder or several
    files. Returns (bytes, file name)."""
    options = options or ExportOptions()
    if fmt == "battles":  # a download form sets every option; only the source applies to votes
        options = ExportOptions(source=options.source)
    with tempfile.TemporaryDirectory() as tmp:
        stem = "battles" if fmt == "battles" else "preferences"
        target = Path(tmp) / "out" / f"{stem}{SUFFIXES.get(fmt, '')}"
        report = export_dataset(store, target, fmt, options)
        written = [Path(p) for p in report.paths]
        if len(written) == 1 and written[0].is_file():
            return written[0].read_bytes(), written[0].name
        return zip_folder(target.parent), "preferences.zip"


def download_name(fmt: str, options: ExportOptions) -> str:
    """The file name ``export_bytes`` gives this format and these options."""
    if fmt == "battles":
        return "battles.json"
    if fmt == "hf" or len(options.split_names()) > 1:
        return "preferences.zip"
    return f"preferences{SUFFIXES[fmt]}"
