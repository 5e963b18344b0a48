"""The bundled demo: its files, and the recorded labels that make a fresh demo project show what the
app does (agreement, gold checks, a judge measured against people) before anyone labels.

``labels.jsonl`` holds one recorded label per line, named by content rather than by id: ``prompt``
(a single-turn prompt of ``responses.jsonl``), ``model_a`` and ``model_b`` (the two responses, in the
order the choice is about), ``annotator`` and ``source``. A ``human`` row has ``choice`` (+2 A much
better .. -2 B much better), ``latency_ms`` and an optional ``rationale``; an ``ai`` row has the
judge's P(first shown wins) in both orders, ``p_ab`` (A first) and ``p_ba`` (B first). ``days_ago``
and ``minute`` place the label in the recent past, so the dashboard shows days of activity. The
labels are synthetic: drawn once, with a fixed seed, from the models' known quality order plus
annotator noise and a judge that leans to the first response.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from annotate_app.config import DEMO_DIR
from annotate_app.judge.debias import choice_from_p_a, consistent, debiased_p_a
from annotate_app.labels.sources import Source
from annotate_app.store import Store

RESPONSES = DEMO_DIR / "responses.jsonl"
GOLD = DEMO_DIR / "gold.jsonl"
GUIDELINES = DEMO_DIR / "guidelines.md"
LABELS = DEMO_DIR / "labels.jsonl"
# The queue settings that make the demo's gold, agreement and kappa panels fill as people label.
DEMO_OVERLAP_K = 2
DEMO_GOLD_FRACTION = 0.1


def recorded_labels(store: Store, path: Path = LABELS, now: dt.datetime | None = None) -> int:
    """Add the recorded labels and verdicts to a project holding the demo responses; returns how
    many were added (0 when they are there already)."""
    now = now or dt.datetime.now().replace(second=0, microsecond=0)
    pairs = store.pairs_frame()
    index = {
        (row.prompt, row.model_a, row.model_b): (row.pair_id, 1) for row in pairs.itertuples()
    } | {(row.prompt, row.model_b, row.model_a): (row.pair_id, -1) for row in pairs.itertuples()}
    if not store.label_events().query("source in ('human', 'ai')").empty:
        return 0
    events = []
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(text)
        key = (row["prompt"], row["model_a"], row["model_b"])
        if key not in index:
            raise ValueError(
                f"{path}:{line}: no demo pair for {row['model_a']} vs {row['model_b']}"
            )
        pair_id, sign = index[key]
        when = (
            now - dt.timedelta(days=row["days_ago"], hours=8) + dt.timedelta(minutes=row["minute"])
        )
        event = {
            "pair_id": pair_id,
            "annotator": row["annotator"],
            "kind": "label",
            "both_bad": False,
            "created_at": when,
        }
        if row["source"] == Source.AI.value:
            # p_ab / p_ba name the shown order; flip both to the pair's own A/B when needed.
            p_ab, p_ba = (row["p_ab"], row["p_ba"]) if sign > 0 else (row["p_ba"], row["p_ab"])
            p_a = debiased_p_a(p_ab, p_ba)
            meta = {"p_ab": p_ab, "p_ba": p_ba, "consistent": consistent(p_ab, p_ba)}
            event |= {
                "source": Source.AI.value,
                "choice": choice_from_p_a(p_a),
                "p_a": p_a,
                "judge_id": row["annotator"],
                "metadata": json.dumps(meta),
                "rationale": row.get("rationale"),
            }
        else:
            event |= {
                "source": Source.HUMAN.value,
                "choice": sign * int(row["choice"]),
                "left_side": "a" if sign > 0 else "b",
                "latency_ms": int(row["latency_ms"]),
                "rationale": row.get("rationale"),
            }
        events.append(event)
    return store.append_label_events(pd.DataFrame(events))
