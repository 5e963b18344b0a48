"""What an export is asked for (format and options) and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from annotate_app.analytics.leaderboard import source_list
from annotate_app.labels.consensus import AGGREGATIONS

ExportFormat = Literal["dpo-jsonl", "parquet", "hf", "battles"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
SUFFIXES = {"dpo-jsonl": ".jsonl", "parquet": ".parquet", "hf": "", "battles": ".json"}


@dataclass
class ExportOptions:
    source: str = "all"  # human | ai | import | all
    aggregate: str = "mean"  # mean | majority | bt (see labels.consensus)
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

    def split_names(self) -> tuple[str, ...]:
        return ("train", "test") if self.test_fraction > 0 else ("train",)


@dataclass
class ExportReport:
    paths: list[str]
    splits: dict[str, int]  # rows per split (battles: battles)
    conversational: bool = False
    dropped: dict[str, int] = field(default_factory=dict)
    kind: str = "preference rows"

    @property
    def rows(self) -> int:
        return sum(self.splits.values())

    def summary(self) -> str:
        if list(self.splits) == ["train"]:  # no split asked for: just the count
            counts = str(self.splits["train"])
        else:
            counts = ", ".join(f"{n} {split}" for split, n in self.splits.items())
        shape = " (chat messages)" if self.conversational else ""
        dropped = ", ".join(f"{n} {why}" for why, n in self.dropped.items() if n)
        return f"wrote {counts} {self.kind}{shape} to {', '.join(self.paths)}" + (
            f"; left out {dropped}" if dropped else ""
        )
