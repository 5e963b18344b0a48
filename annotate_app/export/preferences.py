"""Preference datasets out: prompt/chosen/rejected rows as TRL's DPO and reward trainers read them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from annotate_app.store import Store
from annotate_app.store.labels import SOURCES

EXPORT_FORMATS = ("dpo-jsonl", "parquet")


@dataclass
class ExportReport:
    path: str
    rows: int
    ties: int
    both_bad: int
    conversational: bool
    skipped: int = 0

    def summary(self) -> str:
        shape = "chat messages" if self.conversational else "plain strings"
        return (
            f"wrote {self.rows} preference rows to {self.path} ({shape}); left out {self.ties} ties, "
            f"{self.both_bad} both-bad and {self.skipped} skipped-only pairs"
        )


def _sources(source: str) -> list[str]:
    if source == "all":
        return list(SOURCES)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)} or all")
    return [source]


def _model(name: object) -> str | None:
    """A missing model name reads back from DuckDB as NaN; JSON needs null."""
    return name if isinstance(name, str) else None


def preference_record(pair, a_wins: bool, conversational: bool) -> dict:
    """prompt/chosen/rejected (+ model names) of one decided pair, in the file's one shape: chat
    messages when any prompt of the file has several turns (TRL needs one shape per column)."""
    chosen, rejected = (pair.text_a, pair.text_b) if a_wins else (pair.text_b, pair.text_a)
    turns = json.loads(pair.turns) if isinstance(pair.turns, str) else pair.turns
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
    }


def preference_rows(store: Store, source: str = "all") -> tuple[pd.DataFrame, int, int]:
    """The decided pairs as export rows, plus the counts of ties and both-bad pairs left out.

    Multi-turn prompts force the chat-message shape for every row, because TRL needs one shape per
    column.
    """
    labeled = store.export_rows(_sources(source))
    all_bad = labeled["n_both_bad"] == labeled["n_labels"]
    decided = labeled[~all_bad & labeled["mean_choice"].fillna(0).ne(0)]
    ties = int((~all_bad).sum() - len(decided))
    conversational = bool((labeled["n_turns"] > 1).any())
    rows = [
        {
            **preference_record(r, r.mean_choice > 0, conversational),
            "pair_id": r.pair_id,
            "source": ",".join(r.sources),
            "annotators": list(r.annotators),
            "n_labels": int(r.n_labels),
            "margin": float(abs(r.mean_choice)),
        }
        for r in decided.itertuples(index=False)
    ]
    return pd.DataFrame(rows), ties, int(all_bad.sum())


def export_dataset(store: Store, path: str | Path, fmt: str, source: str = "all") -> ExportReport:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    frame, ties, both_bad = preference_rows(store, source)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dpo-jsonl":
        with path.open("w", encoding="utf-8") as out:
            for row in frame.to_dict(orient="records"):
                # pandas turns a missing model name back into NaN, which is not JSON.
                row = {
                    k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()
                }
                out.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
    else:
        frame.to_parquet(path, index=False)
    conversational = bool(len(frame)) and isinstance(frame["prompt"].iloc[0], list)
    skipped = store.skipped_only_pairs(_sources(source))
    return ExportReport(str(path), len(frame), ties, both_bad, conversational, skipped)
