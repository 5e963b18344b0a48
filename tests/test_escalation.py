"""Escalation: an AI label goes back to the human queue when the judge contradicted itself across
orders, or when it strongly disagrees with a confident reward model."""

from __future__ import annotations

import json

import pandas as pd

from annotate_app.ingest import import_file
from annotate_app.routing import plan as routing_plan
from annotate_app.routing.budget import BudgetConfig
from annotate_app.routing.escalation import EscalationConfig, apply_escalations, escalations
from annotate_app.routing.features import pair_features
from annotate_app.routing.policies import PolicyConfig
from tests.seed import judge_labels


def _features(rows: list[dict]) -> pd.DataFrame:
    pairs = pd.DataFrame(
        {
            "pair_id": [r["pair_id"] for r in rows],
            "prompt": "Is the sky blue?",
            "n_turns": 1,
            "text_a": "Yes, because of Rayleigh scattering.",
            "text_b": "No.",
        }
    )
    judge = pd.DataFrame(
        [{"pair_id": r["pair_id"], "p_a": r["judge"], "metadata": r["meta"]} for r in rows]
    )
    scores = pd.DataFrame(
        [
            {"pair_id": r["pair_id"], "p_a": r["rm"], "uncertainty": r["unc"], "acquisition": 0.0}
            for r in rows
        ]
    )
    return pair_features(pairs, judge, scores)


def test_inconsistent_and_contradicted_labels_are_escalated():
    feats = _features(
        [
            # The judge's two orders disagree (from the raw per-order probabilities).
            {
                "pair_id": "inc",
                "judge": 0.55,
                "meta": {"p_ab": 0.8, "p_ba": 0.7},
                "rm": 0.5,
                "unc": 0.3,
            },
            # Judge says A, a confident and certain reward model says B.
            {
                "pair_id": "clash",
                "judge": 0.9,
                "meta": {"consistent": True},
                "rm": 0.1,
                "unc": 0.02,
            },
            # Same clash, but the reward model is uncertain: no escalation.
            {
                "pair_id": "unsure",
                "judge": 0.9,
                "meta": {"consistent": True},
                "rm": 0.1,
                "unc": 0.3,
            },
            # Agreement.
            {
                "pair_id": "ok",
                "judge": 0.9,
                "meta": json.dumps({"consistent": True}),
                "rm": 0.85,
                "unc": 0.01,
            },
        ]
    )
    esc = escalations(feats).set_index("pair_id")["reason"]
    assert set(esc.index) == {"inc", "clash"}
    assert "inconsistent across orders" in esc["inc"]
    assert "contradicts confident reward model" in esc["clash"]
    assert escalations(feats, EscalationConfig(on_inconsistent=False))["pair_id"].tolist() == [
        "clash"
    ]


def test_escalations_respect_the_budget():
    routes = pd.DataFrame(
        {
            "pair_id": ["a", "b", "c"],
            "route": "ai",
            "priority": 0.0,
            "reason": "kept",
            "score": 0.0,
            "propensity": 0.0,
            "explore": False,
        }
    )
    esc = pd.DataFrame({"pair_id": ["a", "c"], "reason": ["escalated: x", "escalated: y"]})
    out = apply_escalations(routes, esc, slots=1).set_index("pair_id")
    assert out.loc["a", "route"] == "human" and out.loc["a", "priority"] > 0
    assert out.loc["c", "route"] == "hold" and "waiting for human budget" in out.loc["c", "reason"]
    assert out.loc["b", "route"] == "ai"


def test_inconsistent_ai_label_moves_to_the_human_queue(store, tmp_path):
    """End to end in a project: all-ai routing, one stored verdict flagged inconsistent; applying
    the routes puts that pair in the human queue, with the reason, first in line."""
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {"prompt": f"question {i}", "response_a": f"yes {i}", "response_b": f"no {i}"}
            )
            for i in range(4)
        ),
        encoding="utf-8",
    )
    import_file(store, path)
    ids = store.pairs_frame()["pair_id"].tolist()
    judge_labels(store, "local:test-judge", dict.fromkeys(ids[:3], 0.8))
    # both orders pick the response shown first: P(first) .8 with A first, .76 with B first
    judge_labels(store, "local:test-judge", {ids[3]: 0.52}, position_bias=0.28)
    verdicts = store.judge_verdicts("local:test-judge").set_index("pair_id")
    assert verdicts.loc[ids, "consistent"].tolist() == [True, True, True, False]
    config = routing_plan.RoutingConfig(
        policy=PolicyConfig(name="all-ai"), budget=BudgetConfig(human_budget=0.5)
    )
    plan = routing_plan.preview(store, config)
    assert plan.n_escalated == 1
    routing_plan.apply(store, plan)
    queue = store.route_list(route="human")
    assert queue["pair_id"].tolist() == [ids[3]]
    assert "judge inconsistent across orders" in queue["reason"].iloc[0]
    assert store.route_mix() == {"human": 1, "ai": 3, "hold": 0}
    config.escalate = False
    assert routing_plan.preview(store, config).mix() == {"human": 0, "ai": 4, "hold": 0}
