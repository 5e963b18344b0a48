"""The Hugging Face dataset folder in the Hub's layout: ``data/<split>-00000-of-00001.parquet`` plus a
README.md dataset card. ``datasets.load_dataset(folder)`` opens it on any datasets version that reads
Parquet, and the folder can be pushed to the Hub as it is. Writing it needs only pyarrow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from annotate_app.export.files import write_parquet

if TYPE_CHECKING:
    from annotate_app.export.preferences import ExportOptions, PreferenceRows


def split_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


def write_hf_folder(
    folder: Path, rows: PreferenceRows, schema: pa.Schema, options: ExportOptions
) -> None:
    """Write every split and the card into ``folder`` (an empty temporary folder)."""
    (folder / "data").mkdir()
    for name, part in rows.splits.items():
        write_parquet(part, schema, folder / split_file(name))
    (folder / "README.md").write_text(dataset_card(rows, options), encoding="utf-8")


def dataset_card(rows: PreferenceRows, options: ExportOptions) -> str:
    """A card with the Hub's YAML header (configs and split files) and what the rows are."""
    counts = {name: len(part) for name, part in rows.splits.items()}
    sources = sorted(
        {s for part in rows.splits.values() for r in part for s in r["source"].split(",")}
    )
    yaml_splits = "\n".join(
        f"      - split: {name}\n        path: {split_file(name)}" for name in rows.splits
    )
    size = sum(counts.values())
    category = "n<1K" if size < 1_000 else "1K<n<10K" if size < 10_000 else "10K<n<100K"
    dropped = "\n".join(f"- {why}: {n}" for why, n in rows.dropped.items()) or "- none"
    shape = (
        "chat messages (`[{role, content}]`), because some prompts have several turns"
        if rows.conversational
        else "plain strings"
    )
    split_lines = "\n".join(f"| {name} | {n} |" for name, n in counts.items())
    return f"""---
configs:
  - config_name: default
    data_files:
{yaml_splits}
task_categories:
  - text-generation
tags:
  - preference
  - dpo
  - reward-modeling
size_categories:
  - {category}
---

# Preference dataset

Pairwise preferences exported by annotate-app, one row per decided pair, in the shape TRL's
`DPOTrainer` and `RewardTrainer` read (`prompt`, `chosen`, `rejected`).

| split | rows |
|---|---|
{split_lines}

- Label sources: {", ".join(sources) or "none"} (export option `source={options.source}`)
- Aggregation of several votes per pair: `{options.aggregate}`
- Floors: minimum agreement {options.min_agreement}, minimum confidence {options.min_confidence}
- Test split: {options.test_fraction:.0%} of prompts (seed {options.seed}), whole prompts only
- Text columns: {shape}

Left out:
{dropped}

## Columns

| column | meaning |
|---|---|
| prompt, chosen, rejected | the conversation so far and the preferred / other reply |
| model_chosen, model_rejected | the model that wrote each reply (null when unknown) |
| pair_id, prompt_id | the pair's and the prompt's content-derived ids in the project |
| source | the label sources that voted on the pair |
| annotators | who voted |
| n_labels | how many votes |
| vote_margin | absolute mean vote on the 5-point scale (0..2); not a reward margin |
| agreement | share of votes that match the decision |
| confidence | probability of the chosen reply under the aggregation |

Open it with `datasets.load_dataset("path/to/this/folder")`.
"""
