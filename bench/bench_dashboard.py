"""Dashboard load time on a 100k-pair, 20k-label project (issue 7: target under 1 s).

Builds a synthetic project (random texts, 6 models, 8 annotators with overlap, a judge with raw
per-order readings, imported gold, 60 days of history), then times what the dashboard page calls:
``filter_options`` + ``load_dashboard`` (unfiltered, and filtered to one annotator and one category),
and the leaderboard page's ``leaderboard`` call. The last rows time the 9 plotly
figures on top, and the whole page script run by Streamlit's AppTest (no browser). Baseline: the
same dashboard numbers computed in pandas from the raw label log and pair table, the way a page
without pre-aggregation would.

    .venv/bin/python bench/bench_dashboard.py [--pairs 100000] [--labels 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app.analytics import agreement, figures
from annotate_app.analytics.dashboard import load_dashboard
from annotate_app.analytics.leaderboard import LeaderboardConfig, leaderboard
from annotate_app.config import ProjectPaths
from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter

MODELS = ("m-alpha", "m-bravo", "m-charlie", "m-delta", "m-echo", "m-foxtrot")
CATEGORIES = ("writing", "coding", "explanation", "advice", "math")
WORDS = np.array(
    [
        "the",
        "a",
        "model",
        "answer",
        "helps",
        "user",
        "reply",
        "code",
        "data",
        "because",
        "which",
        "when",
        "then",
    ]
)


def build(store: Store, n_pairs: int, n_labels: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_prompts = n_pairs // 2  # three responses per prompt, two pairs each
    pid = np.array([f"p{k:07d}" for k in range(n_prompts)])
    text = [" ".join(rng.choice(WORDS, 30)) + f" #{k}" for k in range(n_prompts)]
    prompts = pd.DataFrame(
        {
            "id": pid,
            "text": text,
            "turns": [json.dumps([{"role": "user", "content": t}]) for t in text],
            "n_turns": np.ones(n_prompts, dtype="int32"),
            "source": "bench",
            "category": rng.choice(CATEGORIES, n_prompts),
            "metadata": None,
        }
    )
    rid = np.array([[f"{p}r{j}" for j in range(3)] for p in pid])
    responses = pd.DataFrame(
        {
            "id": rid.ravel(),
            "prompt_id": np.repeat(pid, 3),
            "text": [" ".join(rng.choice(WORDS, 60)) for _ in range(rid.size)],
            "model": rng.choice(MODELS, rid.size),
            "metadata": None,
        }
    )
    pairs = pd.DataFrame(
        {
            "id": [f"{p}x{j}" for p in pid for j in (1, 2)],
            "prompt_id": np.repeat(pid, 2),
            "response_a": np.repeat(rid[:, 0], 2),
            "response_b": rid[:, 1:].ravel(),
            "source": "bench",
        }
    )
    store.ingest_frames(prompts, responses, pairs, pd.DataFrame())

    strength = dict(zip(MODELS, np.linspace(1, -1, len(MODELS)), strict=True))
    model_of = dict(zip(responses["id"], responses["model"], strict=True))
    p_true = 1 / (
        1
        + np.exp(
            -(
                pairs["response_a"].map(model_of).map(strength)
                - pairs["response_b"].map(model_of).map(strength)
            )
        )
    )
    start = pd.Timestamp("2026-09-01")
    n_human, n_ai = int(n_labels * 0.6), int(n_labels * 0.3)
    n_import = n_labels - n_human - n_ai
    events = []
    # humans: 2 annotators on each of n_human/2 pairs (overlap for kappa and alpha)
    human_pairs = rng.choice(len(pairs), n_human // 2, replace=False)
    for k, i in enumerate(human_pairs):
        for ann in rng.choice(8, 2, replace=False):
            a_wins = rng.random() < p_true[i]
            events.append(
                (
                    pairs.id[i],
                    f"ann{ann}",
                    "human",
                    int(rng.choice([1, 2])) * (1 if a_wins else -1),
                    rng.choice(["a", "b"]),
                    int(rng.integers(2000, 30000)),
                    None,
                    None,
                    k,
                )
            )
    for k, i in enumerate(rng.choice(len(pairs), n_ai, replace=False)):
        p_ab = float(np.clip(p_true[i] + 0.1 + rng.normal(0, 0.15), 0.01, 0.99))
        p_ba = float(np.clip(1 - p_true[i] + 0.1 + rng.normal(0, 0.15), 0.01, 0.99))
        p_a = 0.5 * (p_ab + 1 - p_ba)
        events.append(
            (
                pairs.id[i],
                "judge:bench",
                "ai",
                1 if p_a > 0.5 else -1,
                None,
                None,
                p_a,
                json.dumps({"p_ab": p_ab, "p_ba": p_ba}),
                k,
            )
        )
    for k, i in enumerate(rng.choice(human_pairs, n_import, replace=False)):
        events.append(
            (
                pairs.id[i],
                "import:gold",
                "import",
                1 if rng.random() < p_true[i] else -1,
                None,
                None,
                None,
                None,
                k,
            )
        )
    frame = pd.DataFrame(
        events,
        columns=[
            "pair_id",
            "annotator",
            "source",
            "choice",
            "left_side",
            "latency_ms",
            "p_a",
            "metadata",
            "k",
        ],
    )
    span = 60 * 24 * 3600
    frame["created_at"] = start + pd.to_timedelta(rng.integers(0, span, len(frame)), unit="s")
    frame["kind"] = "label"
    frame["judge_id"] = np.where(frame["source"] == "ai", "judge:bench", None)
    store.append_label_events(frame.drop(columns="k"))
    store.set_setting("routing", {"budget": {"human_budget": 0.2, "cost_human": 0.5}})


def baseline(store: Store, flt: LabelFilter) -> dict:
    """The same dashboard numbers from raw rows in pandas: no SQL aggregation."""
    events = store.label_events()
    pairs = store.pairs_frame()[["pair_id", "category"]]
    undone = set(events.loc[events["kind"] == "undo", "undoes"].dropna().astype(int))
    live = events[events["kind"].isin(["label", "skip"]) & ~events["id"].isin(undone)]
    current = live.sort_values("id").groupby(["pair_id", "annotator", "source"]).tail(1)
    labels = current[current["kind"] == "label"].merge(pairs, on="pair_id")
    day = labels["created_at"].dt.date
    keep = pd.Series(True, index=labels.index)
    if flt.start:
        keep &= day >= flt.start
    if flt.end:
        keep &= day <= flt.end
    for column, values in (
        ("annotator", flt.annotators),
        ("source", flt.sources),
        ("category", flt.categories),
    ):
        if values:
            keep &= labels[column].isin(values)
    labels, day = labels[keep], day[keep]
    over_time = labels.groupby([day, labels["source"]]).size()
    throughput = labels.groupby(["annotator", "source"]).agg(
        labels=("id", "size"), median_seconds=("latency_ms", "median")
    )
    overlap = labels[labels.groupby("pair_id")["id"].transform("size") >= 2]
    return {
        "over_time": over_time,
        "throughput": throughput,
        "kappas": agreement.pairwise_kappa(overlap),
        "alpha": agreement.krippendorff_alpha(overlap),
        "gold": agreement.gold_accuracy(overlap),
        "judges": agreement.judge_agreement(overlap),
    }


def _dashboard_script() -> None:
    from annotate_app.ui.views.dashboard import render

    render()


def page_run(db: Path):
    """The whole dashboard page script (analytics, figures, Streamlit elements) in AppTest, as an
    admin; returns a callable that re-runs it."""
    from streamlit.testing.v1 import AppTest

    from annotate_app.accounts.auth import Account

    os.environ["ANNOTATE_DB"] = str(db)
    at = AppTest.from_function(_dashboard_script, default_timeout=120)
    at.session_state["account"] = Account(name="bench", role="admin")

    def run():
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def timed(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times[0], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(ProjectPaths(db=Path(tmp) / "bench.duckdb"))
        t0 = time.perf_counter()
        build(store, args.pairs, args.labels)
        stats = store.stats()
        print(
            f"project: {stats['pairs']} pairs, {sum(stats['labels'].values())} labels "
            f"({stats['labels']}), built in {time.perf_counter() - t0:.1f} s\n"
        )
        one = LabelFilter(annotators=("ann3",), categories=("coding",))

        def page(flt: LabelFilter | None = None):
            store.filter_options()
            return load_dashboard(store, flt)

        def page_with_figures():
            data = page()
            agree = data.agreement
            return [
                figures.labels_over_time(data.over_time),
                figures.annotator_throughput(data.throughput),
                figures.kappa_heatmap(agree.kappas),
                figures.gold_accuracy(agree.gold),
                figures.judge_agreement(agree.judges),
                figures.reliability_diagram(agree.reliability),
                figures.learning_curve(data.learning_curve),
                figures.routing_mix(data.routes),
                figures.spend_vs_budget(data.spend),
            ]

        rows = []
        for name, fn in (
            ("dashboard page, no filter (analytics)", lambda: page()),
            ("dashboard page, no filter (pandas baseline)", lambda: baseline(store, LabelFilter())),
            ("dashboard page, 1 annotator + 1 category", lambda: page(one)),
            ("same filter (pandas baseline)", lambda: baseline(store, one)),
            ("dashboard page + its 9 plotly figures", page_with_figures),
            ("whole page script in Streamlit AppTest", page_run(store.paths.db)),
            (
                "leaderboard page (200 bootstrap rounds)",
                lambda: leaderboard(store, LeaderboardConfig(bootstrap_rounds=200)),
            ),
        ):
            median, first, result = timed(fn, args.runs)
            rows.append((name, median, first, result))
        fast, slow = rows[0][3], rows[1][3]
        assert abs(fast.agreement.alpha - slow["alpha"]) < 1e-9, "baseline disagrees on alpha"
        assert fast.agreement.kappas.equals(slow["kappas"]), "baseline disagrees on kappa"
        print("| call | median s | first run s | runs |")
        print("|---|---|---|---|")
        for name, median, first, _ in rows:
            print(f"| {name} | {median:.3f} | {first:.3f} | {args.runs} |")
        print(
            f"\nanalytics vs pandas baseline: {rows[1][1] / rows[0][1]:.1f}x faster unfiltered, "
            f"{rows[3][1] / rows[2][1]:.1f}x filtered; alpha {fast.agreement.alpha:.4f} both ways"
        )
        store.close()


if __name__ == "__main__":
    main()
