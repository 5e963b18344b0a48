"""Arena battles: every vote between two different named models as one FastChat ``clean_battle``
record, so FastChat's ``elo_analysis.py --clean-battle-file`` (and anything that reads Arena data)
takes the export as it is. These are the votes the leaderboard counts (``Store.battle_counts``).

A record: ``model_a``, ``model_b`` (the pair's stored A and B), ``winner`` (``model_a``,
``model_b``, ``tie`` or ``tie (bothbad)``), ``judge`` (who voted), ``turn`` (user turns in the
prompt), ``anony`` (true: the app never shows model names to raters), ``tstamp`` (Unix seconds),
plus ``question_id`` (the pair id) and ``source`` (human, ai or import).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from annotate_app.analytics.leaderboard import source_list
from annotate_app.export.files import write_files_atomic, write_json_array
from annotate_app.export.options import ExportOptions, ExportReport
from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter

BATTLE_COLUMNS = (
    "question_id",
    "model_a",
    "model_b",
    "winner",
    "judge",
    "turn",
    "anony",
    "tstamp",
    "source",
)


def battle_records(store: Store, source: str = "all") -> list[dict]:
    """Every battle, oldest first, as FastChat ``clean_battle`` records."""
    votes = store.battle_votes(replace(LabelFilter(), sources=source_list(source)))
    votes = votes[~votes["pair_id"].isin(store.flagged_pair_ids())]  # open flags wait for review
    return [_record(v) for v in votes.itertuples(index=False)]


def _record(vote) -> dict:
    if vote.both_bad:
        winner = "tie (bothbad)"
    elif vote.choice > 0:
        winner = "model_a"
    elif vote.choice < 0:
        winner = "model_b"
    else:
        winner = "tie"
    return {
        "question_id": vote.pair_id,
        "model_a": vote.model_a,
        "model_b": vote.model_b,
        "winner": winner,
        "judge": vote.annotator,
        "turn": int((int(vote.n_turns) + 1) // 2),
        "anony": True,
        "tstamp": pd.Timestamp(vote.created_at).timestamp(),
        "source": vote.source,
    }


def export_battles(store: Store, path: Path, options: ExportOptions) -> ExportReport:
    """Write the battles as one JSON array (FastChat reads it with ``pd.read_json``). Battles are
    votes, so only ``source`` applies; aggregation, floors and splits are refused."""
    options.check()
    curation = ExportOptions(source=options.source, seed=options.seed)
    if options != curation:
        raise ValueError(
            "the battles format holds every vote: aggregation, --min-agreement, --min-confidence "
            "and --test-fraction do not apply to it"
        )
    records = battle_records(store, options.source)
    write_files_atomic({path: lambda tmp: write_json_array(records, tmp)})
    return ExportReport([str(path)], {"battles": len(records)}, kind="(Arena clean_battle records)")
