"""Replay an already-labeled dataset through the app's own train/score/acquire code.

Every strategy starts from the same random seed set (per seed), so the comparison is paired: each
seed gives one accuracy difference per strategy and budget, and the significance test is over those.
Embedding is the expensive part and goes through the project's embedding cache, so a second run
(another seed count, other strategies) embeds nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from annotate_app.active.bandit import AUTO, BanditConfig
from annotate_app.jobs import JobContext, JobRunner
from annotate_app.reward.config import FeatureConfig, HeadChoiceConfig, HeadConfig
from annotate_app.reward.encoder import EncoderConfig, text_key
from annotate_app.simulation.data import labeled_pairs, side_texts

SIMULATE = "simulate"
REPORT = "report.json"
SELECTED = "chosen on other folds"
Protocol = Literal["test file", "nested folds", "in-sample"]
IN_SAMPLE_WARNING = (
    "IN-SAMPLE: the strategies are compared on a split of the same file a choice would be made "
    "on, so no comparison here is tested out of sample. Pass --test FILE (pairs never used to "
    "choose) or --folds K (each fold scores the strategy the other folds chose)."
)


@dataclass
class SimulationConfig:
    data: str
    test: str | None = None
    strategies: list[str] = field(default_factory=lambda: ["random", "entropy", "bald", "balpm"])
    budgets: list[int] = field(default_factory=lambda: [100, 200, 400, 800])
    seeds: int = 5
    first_seed: int = (
        0  # seeds run first_seed .. first_seed + seeds - 1 (fresh seeds extend a study)
    )
    batch: int = 100  # labels revealed per round between the budgets
    test_fraction: float = 0.2  # without --test or folds: the share of DATA held out, per seed
    folds: int = 0  # without --test: nested folds, seed i scored on fold i mod folds
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    # the head variant and its logit scale, chosen per fit as the train job chooses them
    head_choice: HeadChoiceConfig = field(default_factory=HeadChoiceConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    bandit: BanditConfig = field(default_factory=BanditConfig)  # `auto`'s rule

    def strategy_name(self, strategy: str) -> str:
        """The name a strategy's rows carry: `auto` under another rule than the app's says which,
        so replays of two rules can be pooled beside each other."""
        if strategy != AUTO or self.bandit == BanditConfig():
            return strategy
        b = self.bandit
        return f"{AUTO} (explore {b.explore}, ramp {b.explore_ramp}, elimination {b.eliminate})"


def simulation_config(raw: dict[str, Any]) -> SimulationConfig:
    """The inverse of ``asdict(SimulationConfig)`` read back from JSON, for job parameters."""
    return SimulationConfig(
        **{
            **raw,
            "encoder": EncoderConfig(**raw["encoder"]),
            "head": HeadConfig(**raw["head"]),
            "head_choice": HeadChoiceConfig(**raw["head_choice"]),
            "features": FeatureConfig(**raw["features"]),
            "bandit": BanditConfig(**{**raw["bandit"], "arms": tuple(raw["bandit"]["arms"])}),
        }
    )


JUDGE_PREFIX = "judge_"  # a file's recorded verdicts: judge_NAME = P(chosen wins), 1, 0 or 0.5


def _labeled_pairs(path: str, split: str) -> pd.DataFrame:
    """Pairs with a known outcome, as the worker reads them: the text of each side and its length,
    and each recorded judge's P(A wins) (``judge_*`` columns) when the file carries verdicts."""
    frame = labeled_pairs(path, split)
    verdicts = recorded_verdicts(path, frame)
    text_a, text_b = side_texts(frame)
    out = frame.assign(text_a=text_a, text_b=text_b)[
        ["pair_id", "text_a", "text_b", "len_a", "len_b", "target", "split"]
    ]
    return pd.concat([out, verdicts], axis=1)


def recorded_verdicts(path: str | Path, frame: pd.DataFrame) -> pd.DataFrame:
    """The ``judge_*`` fields of a chosen/rejected JSONL file, turned to P(A wins) for the pairs of
    ``frame`` (``labeled_pairs`` of the same file), matched on prompt and both replies. No such
    fields: an empty frame. A verdict row that matches no pair is an error naming its line."""
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.strip():
                row = json.loads(line)
                if isinstance(row, dict) and any(k.startswith(JUDGE_PREFIX) for k in row):
                    rows.append((line_no, row))
    if not rows:
        return pd.DataFrame(index=frame.index)
    names = sorted({k for _, r in rows for k in r if k.startswith(JUDGE_PREFIX)})
    where = {
        (p.strip(), a.strip(), b.strip()): i
        for i, p, a, b in zip(
            frame.index, frame["prompt"], frame["text_a"], frame["text_b"], strict=True
        )
    }
    out = pd.DataFrame(np.nan, index=frame.index, columns=names)
    for line_no, row in rows:
        prompt = str(row.get("prompt", "")).strip()
        chosen, rejected = str(row.get("chosen", "")).strip(), str(row.get("rejected", "")).strip()
        if (prompt, chosen, rejected) in where:
            i, chosen_is_a = where[(prompt, chosen, rejected)], True
        elif (prompt, rejected, chosen) in where:
            i, chosen_is_a = where[(prompt, rejected, chosen)], False
        else:
            raise ValueError(f"{path}:{line_no}: judge verdicts on a pair the file's import lacks")
        for name in names:
            if row.get(name) is None:
                continue
            p_chosen = float(row[name])
            if not 0 <= p_chosen <= 1:
                raise ValueError(
                    f"{path}:{line_no}: field {name} must be in [0, 1], got {p_chosen}"
                )
            out.loc[i, name] = p_chosen if chosen_is_a else 1 - p_chosen
    return out


def run_simulation(
    store,
    runner: JobRunner,
    config: SimulationConfig,
    on_progress: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Snapshot the data and the cached vectors, run the replay in a worker, return its report."""
    frames = [_labeled_pairs(config.data, "pool")]
    if config.test:
        test = _labeled_pairs(config.test, "test")
        test = test[~test["pair_id"].isin(frames[0]["pair_id"])]
        if test.empty:
            raise ValueError(f"every labeled pair of {config.test} is also in {config.data}")
        frames.append(test)
    pairs = pd.concat(frames, ignore_index=True)
    hashes = [text_key(t) for t in (*pairs["text_a"], *pairs["text_b"])]
    params = {"config": asdict(config)}
    inputs = {"pairs": pairs, "cache": store.cached_embeddings(config.encoder.cache_id, hashes)}
    job = runner.wait(runner.submit(SIMULATE, params, inputs), on_progress=on_progress)
    return json.loads((runner.job_dir(job["id"]) / "outputs" / REPORT).read_text(encoding="utf-8"))


def collect_simulation(store, job_dir: Path, final: bool) -> None:
    """Only the new vectors go into the project: a simulation leaves no labels or models."""
    path = job_dir / "outputs" / "embeddings.parquet"
    if final and path.exists():
        params = json.loads((job_dir / "params.json").read_text(encoding="utf-8"))["params"]
        store.insert_embeddings(EncoderConfig(**params["config"]["encoder"]).cache_id, path)


# ---- worker side ---------------------------------------------------------------------------------


def work_simulate(ctx: JobContext) -> dict[str, Any]:
    import torch

    from annotate_app.reward.encoder import cached_vectors, embed_with_cache
    from annotate_app.reward.pipeline import context_features, response_features

    torch.set_num_threads(2)
    config = simulation_config(ctx.params["config"])
    pairs = ctx.input("pairs")
    cache = ctx.input("cache")
    cached = cached_vectors(cache)
    ctx.progress(0.0, f"embedding ({len(cached)} cached vectors)")
    texts = [*pairs["text_a"], *pairs["text_b"]]
    matrix, new = embed_with_cache(
        config.encoder,
        texts,
        cached,
        on_progress=lambda i, n: ctx.progress(0.3 * i / n, f"embedded {i}/{n} new texts"),
    )
    if new:
        ctx.write_output(
            "embeddings",
            pd.DataFrame({"text_hash": list(new), "vector": [v.tolist() for v in new.values()]}),
        )
    n = len(pairs)
    emb_a, emb_b = matrix[:n], matrix[n:]
    data = Replay(
        fa=response_features(emb_a, pairs["len_a"].to_numpy(), config.features),
        fb=response_features(emb_b, pairs["len_b"].to_numpy(), config.features),
        ctx=context_features(emb_a, emb_b),
        target=pairs["target"].to_numpy(float),
        is_test=(pairs["split"] == "test").to_numpy(),
        judges=pairs.filter(like=JUDGE_PREFIX).to_numpy(float),
    )
    results = []
    total = config.seeds * len(config.strategies)
    for i, seed in enumerate(range(config.first_seed, config.first_seed + config.seeds)):
        fold = i % config.folds if config.folds and config.test is None else None
        pool, test = data.split(seed, config.test_fraction, fold, config.folds)
        start = np.random.default_rng(seed).choice(pool, size=config.budgets[0], replace=False)
        for j, strategy in enumerate(config.strategies):
            done = i * len(config.strategies) + j
            ctx.progress(0.3 + 0.7 * done / total, f"seed {seed} {strategy}")
            rows = data.replay(strategy, seed, pool, test, start, config)
            results += [{**r, "fold": fold} for r in rows]
    (ctx.output_dir() / REPORT).write_text(
        json.dumps(report(results, config), indent=2),
        encoding="utf-8",
    )
    return {"rows": len(results)}


@dataclass
class Replay:
    fa: np.ndarray
    fb: np.ndarray
    ctx: np.ndarray
    target: np.ndarray
    is_test: np.ndarray
    judges: np.ndarray | None = None  # [N, J] recorded judges' P(A wins); NaN where none

    def p_judge_wrong(self, labeled: np.ndarray, open_rows: np.ndarray) -> np.ndarray | None:
        """Calibrated P(first judge wrong) on the open pairs, by the routing's own judge view:
        calibrated on the labeled pairs only, a tie verdict counted as no side, and a second
        judge that disagrees making it a coin flip. None without recorded verdicts."""
        if self.judges is None or self.judges.shape[1] == 0:
            return None
        from annotate_app.routing.calibration import JudgeCalibration
        from annotate_app.routing.policies import p_judge_wrong

        first = self.judges[:, 0]
        decided = labeled[(self.target[labeled] != 0.5) & ~np.isnan(first[labeled])]
        calibration = JudgeCalibration().fit(
            first[decided], np.ones(len(decided)), self.target[decided].astype(int)
        )
        p_a = first[open_rows]
        lean = np.sign(np.nan_to_num(p_a, nan=0.5) - 0.5)
        features = pd.DataFrame(
            {
                "has_judge": (~np.isnan(p_a)).astype(float),
                "judge_p_a": np.nan_to_num(p_a, nan=0.5),
                "judge_consistent": (lean != 0).astype(float),
            }
        )
        if self.judges.shape[1] > 1:
            other = self.judges[open_rows, 1]
            both = ~np.isnan(other) & ~np.isnan(p_a)
            agree = np.sign(np.nan_to_num(other, nan=0.5) - 0.5) == lean
            features["has_second_judge"] = both.astype(float)
            features["judges_agree"] = np.where(both, agree.astype(float), 0.5)
        return p_judge_wrong(features, calibration)

    def split(
        self, seed: int, fraction: float, fold: int | None = None, folds: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(len(self.target))
        if self.is_test.any():
            return idx[~self.is_test], idx[self.is_test]
        if fold is not None:  # the same folds for every seed and run
            assignment = np.random.default_rng(16_000).permutation(len(idx)) % folds
            return idx[assignment != fold], idx[assignment == fold]
        rng = np.random.default_rng(10_000 + seed)
        perm = rng.permutation(idx)
        n_test = int(round(fraction * len(idx)))
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])

    def replay(self, strategy, seed, pool, test, start, config: SimulationConfig) -> list[dict]:
        from dataclasses import replace

        from annotate_app.active.acquisition import Candidates
        from annotate_app.active.bandit import AutoBandit, auto_batch, gain
        from annotate_app.active.select import select_batch
        from annotate_app.reward.metrics import evaluate
        from annotate_app.reward.pipeline import fit_chosen_head

        labeled = list(start)
        out = []
        budgets = sorted(config.budgets)
        round_no = 0
        bandit = AutoBandit(config.bandit) if strategy == AUTO else None
        rng = np.random.default_rng(seed * 7919 + 1)
        previous = None  # the model that chose the last batch (auto: its gain is measured next)
        while True:
            rows = np.asarray(labeled)
            head = replace(config.head, seed=seed * 1000 + round_no)
            strength = np.ones(len(rows))
            model, choice = fit_chosen_head(
                self.fa[rows], self.fb[rows], self.target[rows], strength, head, config.head_choice
            )
            if len(rows) in budgets:
                p = model.member_probs(self.fa[test], self.fb[test]).mean(0)
                m = evaluate(p, self.target[test])
                out.append(
                    {
                        "strategy": config.strategy_name(strategy),
                        "seed": seed,
                        "budget": len(rows),
                        "accuracy": m["accuracy"],
                        "log_loss": m["log_loss"],
                        "ece": m["ece"],
                        # the head the train job would have shipped on these labels
                        "head_variant": choice.variant,
                        "logit_scale": choice.logit_scale,
                    }
                )
            later = [b for b in budgets if b > len(rows)]
            if not later:
                if bandit is not None and out:
                    out[-1]["auto_arms"] = [r.arm for r in bandit.rounds]
                    out[-1]["auto_leader"] = bandit.leader().arm
                return out
            k = min(config.batch, later[0] - len(rows))
            open_rows = np.setdiff1d(pool, rows)
            candidates = Candidates(
                model.member_probs(self.fa[open_rows], self.fb[open_rows]),
                self.ctx[open_rows],
                self.ctx[rows],
                self.p_judge_wrong(rows, open_rows),
            )
            if bandit is None:
                chosen, _, _ = select_batch(candidates, strategy, k, seed * 1000 + round_no)
            else:
                arm = bandit.draw(rng).arm
                chosen, uniform = auto_batch(  # random's own seed: a paired comparison
                    candidates, k, arm, bandit.config.random_share, rng, seed * 1000 + round_no
                )
                if previous is not None:  # the last batch's gain, on a sample neither model chose
                    ev = open_rows[uniform]
                    bandit.rounds[-2].gain = gain(
                        previous.member_probs(self.fa[ev], self.fb[ev]).mean(0),
                        model.member_probs(self.fa[ev], self.fb[ev]).mean(0),
                        self.target[ev],
                    )
                previous = model
            labeled += open_rows[chosen].tolist()
            round_no += 1


# ---- the report ----------------------------------------------------------------------------------


def protocol(config: SimulationConfig) -> Protocol:
    if config.test:
        return "test file"
    return "nested folds" if config.folds > 1 else "in-sample"


def report(results: list[dict], config: SimulationConfig) -> dict[str, Any]:
    frame = pd.DataFrame(results)
    kind = protocol(config)
    if kind == "nested folds":
        frame = pd.concat([frame, _chosen_on_other_folds(frame)], ignore_index=True)
    summary = (
        frame.groupby(["strategy", "budget"], sort=False)
        .agg(
            mean=("accuracy", "mean"),
            std=("accuracy", "std"),
            log_loss=("log_loss", "mean"),
            n=("seed", "count"),
        )
        .reset_index()
    )
    comparisons = _paired_vs_random(frame) if "random" in set(frame["strategy"]) else []
    if kind == "test file":
        test_note = f"out of sample: test file {Path(str(config.test)).name}"
    elif kind == "nested folds":
        test_note = (
            f"out of sample for '{SELECTED}': {config.folds} folds of {Path(config.data).name}; "
            "each fold scores the strategy with the best final-budget accuracy on the other folds"
        )
    else:
        test_note = (
            f"{IN_SAMPLE_WARNING} (test: a random {config.test_fraction:.0%} of "
            f"{Path(config.data).name} held out per seed)"
        )
    out = {
        "config": {**asdict(config), "test_note": test_note},
        "protocol": kind,
        "in_sample": kind == "in-sample",
        "warning": IN_SAMPLE_WARNING if kind == "in-sample" else None,
        "results": frame.to_dict("records"),
        "summary": summary.to_dict("records"),
        "vs_random": comparisons,
    }
    out["table"] = _table(summary, comparisons, test_note)
    return out


def _chosen_on_other_folds(frame: pd.DataFrame) -> pd.DataFrame:
    """Per fold, the rows of the strategy that scored best at the final budget on the other
    folds: the choice never sees the fold it is scored on."""
    final = frame["budget"].max()
    rows = []
    for fold in sorted(frame["fold"].dropna().unique()):
        others = frame[(frame["fold"] != fold) & (frame["budget"] == final)]
        if others.empty:
            continue
        choice = others.groupby("strategy")["accuracy"].mean().idxmax()
        mine = frame[(frame["fold"] == fold) & (frame["strategy"] == choice)]
        rows.append(mine.assign(strategy=SELECTED, chosen=choice))
    return pd.concat(rows, ignore_index=True) if rows else frame.iloc[0:0]


def _paired_vs_random(frame: pd.DataFrame) -> list[dict]:
    from scipy import stats

    base = frame[frame["strategy"] == "random"].set_index(["seed", "budget"])["accuracy"]
    curve = frame.groupby(["strategy", "budget"])["accuracy"].mean()
    final_budget = int(frame["budget"].max())
    target = float(curve[("random", final_budget)])
    rows = []
    for strategy in sorted(set(frame["strategy"]) - {"random"}):
        mine = frame[frame["strategy"] == strategy].set_index(["seed", "budget"])["accuracy"]
        for budget in sorted(set(frame["budget"])):
            a = mine.xs(budget, level="budget")
            b = base.xs(budget, level="budget").reindex(a.index)
            diff = (a - b).to_numpy()
            p = float(stats.ttest_rel(a, b).pvalue) if len(diff) > 1 and diff.std() > 0 else 1.0
            rows.append(
                {
                    "strategy": strategy,
                    "budget": budget,
                    "mean_diff": float(diff.mean()),
                    "se_diff": float(diff.std(ddof=1) / math.sqrt(len(diff)))
                    if len(diff) > 1
                    else float("nan"),
                    "wins": int((diff > 0).sum()),
                    "seeds": len(diff),
                    "p_paired_t": p,
                    "labels_to_random_final": _labels_to_reach(curve[strategy], target),
                }
            )
    return rows


def _labels_to_reach(curve: pd.Series, target: float) -> float | None:
    """Labels at which the mean curve first reaches ``target`` (linear between budgets)."""
    budgets, acc = curve.index.to_numpy(float), curve.to_numpy(float)
    for i, (b, a) in enumerate(zip(budgets, acc, strict=True)):
        if a >= target:
            if i == 0:
                return float(b)
            b0, a0 = budgets[i - 1], acc[i - 1]
            return float(b0 + (target - a0) / (a - a0) * (b - b0))
    return None


def _table(summary: pd.DataFrame, comparisons: list[dict], test_note: str) -> str:
    budgets = sorted(summary["budget"].unique())
    lines = [test_note, "", "| strategy | " + " | ".join(f"@{b}" for b in budgets) + " |"]
    lines.append("|---" * (len(budgets) + 1) + "|")
    for strategy, group in summary.groupby("strategy", sort=False):
        cells = {
            int(r.budget): f"{r.mean:.3f} ± {0 if math.isnan(r.std) else r.std:.3f}"
            for r in group.itertuples()
        }
        lines.append(f"| {strategy} | " + " | ".join(cells[int(b)] for b in budgets) + " |")
    if comparisons:
        lines += [
            "",
            "| strategy vs random | budget | mean diff | ± se | wins/seeds | paired t p "
            "| labels to random's final |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in comparisons:
            reach = c["labels_to_random_final"]
            lines.append(
                f"| {c['strategy']} | {c['budget']} | {c['mean_diff']:+.4f} | {c['se_diff']:.4f} "
                f"| {c['wins']}/{c['seeds']} | {c['p_paired_t']:.3f} | "
                f"{'not reached' if reach is None else f'{reach:.0f}'} |"
            )
    return "\n".join(lines)


def learning_curve_html(report_data: dict[str, Any], path: str | Path) -> None:
    """A plotly chart: mean accuracy per strategy over labels, with a ±1 std band."""
    import plotly.graph_objects as go

    summary = pd.DataFrame(report_data["summary"])
    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    for i, (strategy, g) in enumerate(summary.groupby("strategy", sort=False)):
        g = g.sort_values("budget")
        color = palette[i % len(palette)]
        std = g["std"].fillna(0)
        x = g["budget"].tolist()
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=(g["mean"] + std).tolist() + (g["mean"] - std).tolist()[::-1],
                fill="toself",
                fillcolor=color,
                opacity=0.15,
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(x=x, y=g["mean"], mode="lines+markers", name=strategy, line={"color": color})
        )
    fig.update_layout(
        title=_title(report_data),
        xaxis_title="labels",
        yaxis_title="accuracy",
        template="plotly_white",
    )
    if report_data.get("in_sample"):
        fig.add_annotation(
            text=IN_SAMPLE_WARNING,
            xref="paper",
            yref="paper",
            x=0,
            y=-0.25,
            showarrow=False,
            align="left",
        )
    fig.write_html(str(path), include_plotlyjs=True)


def _title(report_data: dict[str, Any]) -> str:
    if report_data.get("in_sample"):
        return "IN-SAMPLE (not a tested comparison): held-out accuracy by labels"
    return f"Held-out accuracy by labels ({report_data.get('protocol', 'test file')})"
