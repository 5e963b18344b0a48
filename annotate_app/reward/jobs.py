"""The "train" and "select" job kinds: snapshot in the app, heavy work in the worker, one
transaction back in the app.

Train: embed what the cache lacks, fit the head (or fine-tune), measure it on held-out labels, save
it under ``models/<version>/``, score every open pair and choose the next batch. Select: the same
scoring and choice with the active model, for another strategy or batch size. The worker writes
only files; until the parent's collect commits, the previous version stays active.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotate_app.active.acquisition import STRATEGIES
from annotate_app.active.bandit import AUTO
from annotate_app.active.select import ActiveConfig
from annotate_app.jobs import JobContext, JobKind, JobRunner, register_kind
from annotate_app.reward.config import (
    TrainConfig,
    as_params,
    read_version_config,
    train_config,
    write_version_config,
)
from annotate_app.reward.encoder import EncoderConfig, response_text, text_key
from annotate_app.reward.judge_stack import JudgeStackConfig

TRAIN, SELECT = "train", "select"
OUT_EMBEDDINGS, OUT_SCORES, OUT_PRIORITIES, OUT_VERSION = (
    "embeddings",
    "scores",
    "priorities",
    "version.json",
)
OUT_AUTO_ROUND = "acquisition_round.json"
# Policy names a selection may leave on routes: every strategy, and `auto`.
SELECTION_POLICIES = [*STRATEGIES, AUTO]


class TrainingBusy(RuntimeError):
    """A training job is already running; new labels count toward the next one."""


# ---- parent side ---------------------------------------------------------------------------------


def _pair_snapshot(store, pair_ids: list[str] | None) -> pd.DataFrame:
    frame = store.pairs_frame(pair_ids)
    text_a = [response_text(p, r) for p, r in zip(frame["prompt"], frame["text_a"], strict=True)]
    text_b = [response_text(p, r) for p, r in zip(frame["prompt"], frame["text_b"], strict=True)]
    return pd.DataFrame(
        {
            "pair_id": frame["pair_id"],
            "text_a": text_a,
            "text_b": text_b,
            "len_a": frame["text_a"].str.len(),
            "len_b": frame["text_b"].str.len(),
        }
    )


def _judge_snapshot(store, labels: pd.DataFrame, open_ids: list[str]):
    """The judges' verdicts (pair_id, judge_id, p_a, consistent), and the pairs a judge labeled
    that no person has: not acquisition candidates, but routing reads their scores."""
    verdicts = store.judge_verdicts()[["pair_id", "judge_id", "p_a", "consistent"]]
    judged = sorted(set(verdicts["pair_id"]) - set(labels["pair_id"]) - set(open_ids))
    return verdicts, judged


def _cache_snapshot(store, encoder: EncoderConfig, pairs: pd.DataFrame) -> pd.DataFrame:
    hashes = [text_key(t) for t in (*pairs["text_a"], *pairs["text_b"])]
    return store.cached_embeddings(encoder.cache_id, hashes)


def start_training(
    store,
    runner: JobRunner,
    config: TrainConfig | None = None,
    active: ActiveConfig | None = None,
    judge_stack: JudgeStackConfig | None = None,
) -> str:
    """Snapshot labels, texts, verdicts and cached vectors, and start the worker. One at a time."""
    config = config or TrainConfig()
    active = active or ActiveConfig()
    judge_stack = judge_stack or JudgeStackConfig()
    busy = store.active_job(TRAIN)
    if busy:
        raise TrainingBusy(
            f"training job {busy} is still running; new labels count toward the next "
            f"(see 'annotate jobs list'; stop it with 'annotate jobs cancel {busy}')"
        )
    labels = store.training_labels(list(config.sources))
    if labels.empty:
        raise ValueError(
            f"no labels from {', '.join(config.sources)} to train on yet; label some pairs first"
        )
    open_ids = store.open_pair_ids()
    verdicts, judged = _judge_snapshot(store, labels, open_ids)
    pairs = _pair_snapshot(store, sorted(set(labels["pair_id"]) | set(open_ids) | set(judged)))
    version = f"v{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    params = {
        "config": as_params(config),
        "judge_stack": asdict(judge_stack),
        "active": asdict(active),
        "version": version,
        "models_dir": str(store.paths.models_dir),
        "auto": _auto_params(store, active),
    }
    inputs = {
        "pairs": pairs,
        "labels": labels,
        "open": pd.DataFrame({"pair_id": open_ids}),
        "judged": pd.DataFrame({"pair_id": judged}, dtype=str),
        "verdicts": verdicts,
        "cache": _cache_snapshot(store, config.encoder, pairs),
    }
    return runner.submit(TRAIN, params, inputs)


def start_selection(store, runner: JobRunner, active: ActiveConfig) -> str:
    """Rescore the open pairs with the active model and choose a batch with ``active.strategy``."""
    model = store.active_model()
    if model is None:
        raise ValueError("no trained model yet; run 'annotate train' first")
    config = read_version_config(Path(model["path"]))
    open_ids = store.open_pair_ids()
    labels = store.training_labels(list(config.sources))
    verdicts, judged = _judge_snapshot(store, labels, open_ids)
    pairs = _pair_snapshot(store, sorted(set(labels["pair_id"]) | set(open_ids) | set(judged)))
    params = {
        "active": asdict(active),
        "version": model["id"],
        "model_path": model["path"],
        "auto": _auto_params(store, active),
    }
    inputs = {
        "pairs": pairs,
        "labels": labels,
        "open": pd.DataFrame({"pair_id": open_ids}),
        "judged": pd.DataFrame({"pair_id": judged}, dtype=str),
        "verdicts": verdicts,
        "cache": _cache_snapshot(store, config.encoder, pairs),
    }
    return runner.submit(SELECT, params, inputs)


def _auto_params(store, active: ActiveConfig) -> dict | None:
    """For `auto`: the project's recorded rounds, and where their models live."""
    if active.strategy != AUTO:
        return None
    rounds = store.acquisition_rounds().drop(columns=["created_at"])
    rounds["gain"] = rounds["gain"].astype(object).where(rounds["gain"].notna(), None)
    return {"rounds": rounds.to_dict("records"), "models_dir": str(store.paths.models_dir)}


def labels_since_active(store, sources: tuple[str, ...] = TrainConfig().sources) -> int:
    model = store.active_model()
    total = len(store.training_labels(list(sources)))
    return total - int(model["n_labels"] or 0) if model else total


def maybe_start_training(store, runner: JobRunner, active: ActiveConfig) -> str | None:
    """The app's debounced trigger: start a retrain once ``retrain_every`` new labels arrived and
    no training job runs; labels that arrive meanwhile count toward the next run."""
    if store.active_job(TRAIN) or labels_since_active(store) < active.retrain_every:
        return None
    return start_training(store, runner, active=active)


def collect_training(store, job_dir: Path, final: bool) -> None:
    if not final:
        return
    out = job_dir / "outputs"
    version = json.loads((out / OUT_VERSION).read_text(encoding="utf-8"))
    store.save_model_version(
        version,
        embeddings=_maybe(out / f"{OUT_EMBEDDINGS}.parquet"),
        scores=_maybe(out / f"{OUT_SCORES}.parquet"),
        priorities=_maybe(out / f"{OUT_PRIORITIES}.parquet"),
        strategy=version["strategy"],
        acquisition_policies=SELECTION_POLICIES,
    )
    _collect_auto_round(store, out, version["id"])


def collect_selection(store, job_dir: Path, final: bool) -> None:
    if not final:
        return
    out = job_dir / "outputs"
    meta = json.loads((out / OUT_VERSION).read_text(encoding="utf-8"))
    store.save_selection(
        meta["id"],
        encoder=meta["encoder"],
        embeddings=_maybe(out / f"{OUT_EMBEDDINGS}.parquet"),
        scores=out / f"{OUT_SCORES}.parquet",
        priorities=out / f"{OUT_PRIORITIES}.parquet",
        strategy=meta["strategy"],
        acquisition_policies=SELECTION_POLICIES,
    )
    _collect_auto_round(store, out, meta["id"])


def _collect_auto_round(store, out: Path, model_version: str) -> None:
    path = out / OUT_AUTO_ROUND
    if path.exists():
        r = json.loads(path.read_text(encoding="utf-8"))
        store.add_acquisition_round(
            model_version,
            r["arm"],
            r["probs"],
            r["baseline"],
            r["eval_pairs"],
            tuple(r["gain_update"]) if r["gain_update"] else None,
        )


def _maybe(path: Path) -> Path | None:
    return path if path.exists() else None


# ---- worker side ---------------------------------------------------------------------------------


def _embed(ctx: JobContext, config: TrainConfig, pairs: pd.DataFrame, lo: float, hi: float):
    """Vectors for both sides of every pair; new ones are written as an output for the cache."""
    from annotate_app.reward.encoder import cached_vectors, embed_with_cache

    cache = ctx.input("cache")
    cached = cached_vectors(cache)
    texts = [*pairs["text_a"], *pairs["text_b"]]
    ctx.progress(lo, f"embedding ({len(cached)} cached vectors)")
    matrix, new = embed_with_cache(
        config.encoder,
        texts,
        cached,
        on_progress=lambda i, n: ctx.progress(lo + (hi - lo) * i / n, f"embedded {i}/{n} texts"),
    )
    if new:
        ctx.write_output(
            OUT_EMBEDDINGS,
            pd.DataFrame({"text_hash": list(new), "vector": [v.tolist() for v in new.values()]}),
        )
    n = len(pairs)
    return matrix[:n], matrix[n:]


def _features(config: TrainConfig, pairs: pd.DataFrame, emb_a: np.ndarray, emb_b: np.ndarray):
    from annotate_app.reward.pipeline import context_features, response_features

    fa = response_features(emb_a, pairs["len_a"].to_numpy(), config.features)
    fb = response_features(emb_b, pairs["len_b"].to_numpy(), config.features)
    return fa, fb, context_features(emb_a, emb_b)


def work_train(ctx: JobContext) -> dict[str, Any]:
    import time

    import torch

    from annotate_app.reward.metrics import evaluate
    from annotate_app.reward.pipeline import fit_chosen_head, heldout_mask, label_targets

    torch.set_num_threads(max(1, min(os.cpu_count() or 1, 8)))
    config = train_config(ctx.params["config"])
    active = ActiveConfig(**ctx.params["active"])
    version = ctx.params["version"]
    pairs = ctx.input("pairs")
    labels = ctx.input("labels")
    row = {pid: i for i, pid in enumerate(pairs["pair_id"])}
    emb_a, emb_b = _embed(ctx, config, pairs, 0.02, 0.6)
    fa, fb, ctx_feats = _features(config, pairs, emb_a, emb_b)
    target, strength = label_targets(labels)
    lab_rows = np.array([row[p] for p in labels["pair_id"]], dtype=int)
    held = heldout_mask(labels["pair_id"].tolist(), config.heldout_fraction)
    if held.sum() < config.min_heldout or (~held).sum() == 0:
        held[:] = False  # too few labels to spare a test set: train on all, report no metrics
    train = ~held
    ctx.progress(0.62, f"training on {int(train.sum())} labeled pairs")
    start = time.perf_counter()
    folder = Path(ctx.params["models_dir"]) / version
    staging = folder.with_name(f".{version}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    # a failure leaves no half-written folder; the active version stays as it was
    try:
        if config.mode == "head":
            _announce_head_choice(ctx, config.head_choice, int(train.sum()))
            # the chosen variant, its out-of-fold logit scale in the weights
            model, choice = fit_chosen_head(
                fa[lab_rows[train]],
                fb[lab_rows[train]],
                target[train],
                strength[train],
                config.head,
                config.head_choice,
            )
            # the version's config names the head it uses; the choice's figures go to its metrics
            config = replace(config, head=choice.head)
            model.save(staging)

            def member_probs(rows: np.ndarray) -> np.ndarray:
                return model.member_probs(fa[rows], fb[rows])

            stack, evidence = _fit_judge_stack(
                ctx,
                config,
                pairs,
                fa,
                fb,
                lab_rows[train],
                target[train],
                strength[train],
                choice,
            )
            if stack is not None:
                stack.save(staging)
        elif config.mode == "finetune":
            from annotate_app.reward.finetune import finetune

            tr = lab_rows[train]
            finetune(
                pairs["text_a"].iloc[tr].tolist(),
                pairs["text_b"].iloc[tr].tolist(),
                target[train],
                strength[train],
                config.finetune,
                staging,
                on_step=lambda s, n: ctx.progress(0.62 + 0.2 * s / n, f"fine-tune step {s}/{n}"),
            )

            member_probs = _finetuned_probs(staging, config, pairs)
            stack, evidence = None, None  # cross-fitting would mean K more fine-tunes
            choice = None
        else:
            raise ValueError(f"unknown training mode {config.mode!r}; use 'head' or 'finetune'")
        train_seconds = time.perf_counter() - start
        write_version_config(staging, config)
        metrics: dict[str, Any] = {"n_train": int(train.sum()), "n_heldout": int(held.sum())}
        if choice is not None:
            metrics["head_choice"] = choice.as_metrics()
        if held.any():
            ctx.progress(0.85, "evaluating on held-out labels")
            held_probs = member_probs(lab_rows[held])
            metrics.update(evaluate(held_probs.mean(0), target[held]))
            if stack is not None:
                metrics.update(
                    _stack_metrics(stack, evidence, lab_rows[held], held_probs, target[held])
                )
        if stack is not None:
            metrics["judge_stack"] = {"used": stack.used, "judges": stack.judges, **stack.pool}
        ctx.progress(0.88, "scoring open pairs")
        by_version = _version_probs(ctx, fa, fb, row)
        result = _score_and_select(
            ctx,
            active,
            pairs,
            row,
            ctx_feats,
            lab_rows,
            member_probs,
            _stacker(stack, evidence),
            by_version,
        )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    ctx.write_output(OUT_SCORES, result["scores"])
    ctx.write_output(OUT_PRIORITIES, result["priorities"])
    meta = {
        "id": version,
        "mode": config.mode,
        "encoder": config.encoder.cache_id,
        "path": str(folder),
        "n_labels": len(labels),
        "heldout_accuracy": metrics.get("accuracy"),
        "log_loss": metrics.get("log_loss"),
        "ece": metrics.get("ece"),
        "train_seconds": train_seconds,
        "metrics": metrics,
        "job_id": ctx.job_id,
        "strategy": active.strategy,
    }
    (ctx.output_dir() / OUT_VERSION).write_text(json.dumps(meta, default=float), encoding="utf-8")
    ctx.progress(1.0, "done")
    return {"version": version, "metrics": metrics, "selected": result["n_selected"]}


def _finetuned_probs(folder: Path, config: TrainConfig, pairs: pd.DataFrame):
    """rows -> p(A better) [1, n] of a fine-tuned model saved in ``folder`` (one member)."""
    from annotate_app.reward.finetune import score_texts

    def member_probs(rows: np.ndarray) -> np.ndarray:
        texts = [*pairs["text_a"].iloc[rows], *pairs["text_b"].iloc[rows]]
        r = score_texts(
            folder, texts, config.finetune.device, max_length=config.finetune.max_length
        )
        return 1.0 / (1.0 + np.exp(-(r[: len(rows)] - r[len(rows) :])))[None, :]

    return member_probs


def work_select(ctx: JobContext) -> dict[str, Any]:
    from annotate_app.reward.head import BTEnsemble

    folder = Path(ctx.params["model_path"])
    config = read_version_config(folder)
    active = ActiveConfig(**ctx.params["active"])
    pairs = ctx.input("pairs")
    labels = ctx.input("labels")
    row = {pid: i for i, pid in enumerate(pairs["pair_id"])}
    emb_a, emb_b = _embed(ctx, config, pairs, 0.02, 0.5)
    fa, fb, ctx_feats = _features(config, pairs, emb_a, emb_b)
    if config.mode == "head":
        model = BTEnsemble.load(folder)

        def member_probs(rows: np.ndarray) -> np.ndarray:
            return model.member_probs(fa[rows], fb[rows])
    else:
        member_probs = _finetuned_probs(folder, config, pairs)

    lab_rows = np.array([row[p] for p in labels["pair_id"]], dtype=int)
    stack, evidence = _load_judge_stack(ctx, folder, pairs)
    ctx.progress(0.6, "scoring open pairs")
    by_version = _version_probs(ctx, fa, fb, row)
    result = _score_and_select(
        ctx,
        active,
        pairs,
        row,
        ctx_feats,
        lab_rows,
        member_probs,
        _stacker(stack, evidence),
        by_version,
    )
    ctx.write_output(OUT_SCORES, result["scores"])
    ctx.write_output(OUT_PRIORITIES, result["priorities"])
    meta = {
        "id": ctx.params["version"],
        "encoder": config.encoder.cache_id,
        "strategy": active.strategy,
    }
    (ctx.output_dir() / OUT_VERSION).write_text(json.dumps(meta), encoding="utf-8")
    return {"version": meta["id"], "selected": result["n_selected"]}


def _optional_input(ctx: JobContext, name: str) -> pd.DataFrame | None:
    return ctx.input(name) if (ctx.input_path(name).with_suffix(".parquet")).exists() else None


def _announce_head_choice(ctx, choice_config, n_train: int) -> None:
    """Say so when the head choice's folds will run: they are most of a head job's time."""
    if choice_config.enabled and n_train >= choice_config.min_labels:
        ctx.progress(
            0.63,
            f"choosing the head: {len(choice_config.variants)} variants, "
            f"{choice_config.folds}-fold CV",
        )


def _fit_judge_stack(ctx, config, pairs, fa, fb, train_rows, target, strength, choice=None):
    """The head stacked with the judges' verdicts (``reward.judge_stack``), fitted on the training
    labels with cross-fitted head logits on the saved head's scale: the head choice's
    (``choice.crossfit``), or ``folds`` more fits of ``config.head`` with the choice's logit scale
    when it has none. None, None when it is off or too few labels have a verdict."""
    from annotate_app.reward.head_choice import scaled_members
    from annotate_app.reward.judge_stack import (
        crossfit_probs,
        eligible_judges,
        fit_judge_stack,
        judge_evidence,
    )
    from annotate_app.reward.pipeline import fold_fitter

    stack_config = JudgeStackConfig(**ctx.params.get("judge_stack", {}))
    verdicts = _optional_input(ctx, "verdicts")
    if not stack_config.enabled or verdicts is None or verdicts.empty:
        return None, None
    ids = pairs["pair_id"].tolist()
    judges = eligible_judges(verdicts, [ids[r] for r in train_rows], stack_config.min_pairs)
    if not judges:
        return None, None
    evidence = judge_evidence(verdicts, ids, judges)
    if evidence.has_verdict[train_rows].sum() < stack_config.min_pairs:
        return None, None

    fit_predict = fold_fitter(fa[train_rows], fb[train_rows], target, strength)
    crossfit = None if choice is None else choice.crossfit
    if crossfit is None:
        ctx.progress(0.7, f"cross-fitting the head for the judge stack ({', '.join(judges)})")
        members = crossfit_probs(
            lambda fit, score: fit_predict(config.head, fit, score),
            len(train_rows),
            stack_config.folds,
            stack_config.seed,
        )
        # the saved head carries the choice's logit scale: the logits fitted on must too
        crossfit = scaled_members(members, 1.0 if choice is None else choice.logit_scale).mean(0)
    stack = fit_judge_stack(crossfit, target, evidence.take(train_rows), judges, stack_config)
    return stack, evidence


def _load_judge_stack(ctx, folder: Path, pairs: pd.DataFrame):
    """The stack saved with a model version, and the evidence of the current verdicts."""
    from annotate_app.reward.judge_stack import JudgeStack, judge_evidence

    stack = JudgeStack.load(folder)
    verdicts = _optional_input(ctx, "verdicts")
    if stack is None or verdicts is None:
        return None, None
    return stack, judge_evidence(verdicts, pairs["pair_id"].tolist(), stack.judges)


def _stacker(stack, evidence):
    """(rows, the head's member probabilities on them) -> the member probabilities the app's
    scores use: stacked with the judges where a verdict exists, if the training labels'
    cross-validation said the stack helps; else the head's."""
    if stack is None or not stack.used:
        return lambda rows, probs: probs
    return lambda rows, probs: stack.apply(probs, evidence.take(rows))


def _stack_metrics(stack, evidence, rows, member_probs_held, target) -> dict[str, Any]:
    """The held-out figures of the stacked model (the head's own stay under their usual names)."""
    from annotate_app.reward.metrics import evaluate

    stacked = evaluate(stack.apply(member_probs_held, evidence.take(rows)).mean(0), target)
    return {
        "heldout_accuracy_with_judge": stacked["accuracy"],
        "heldout_log_loss_with_judge": stacked["log_loss"],
        "n_heldout_with_verdict": int(evidence.has_verdict[rows].sum()),
    }


def _version_probs(ctx: JobContext, fa: np.ndarray, fb: np.ndarray, row: dict):
    """`auto` measures earlier head models on new labels: member probabilities of a saved version,
    or None when its folder is gone or it is not a head model."""

    def probs(version: str, ids: list[str]) -> np.ndarray | None:
        from annotate_app.reward.head import BTEnsemble

        auto = ctx.params.get("auto") or {}
        folder = Path(auto.get("models_dir", "")) / version
        try:
            if read_version_config(folder).mode != "head":
                return None
            model = BTEnsemble.load(folder)
        except (OSError, ValueError, KeyError):
            return None
        rows = np.array([row[p] for p in ids], dtype=int)
        return model.member_probs(fa[rows], fb[rows])

    return probs


def _score_and_select(
    ctx, active, pairs, row, ctx_feats, lab_rows, member_probs, stack_on, version_probs
) -> dict:
    """Scores of the open and the judged pairs: the head's own (``head_p_a``, what routing weighs
    against a judge) and the one the app uses (``p_a``, stacked with the judges by ``stack_on``
    where a verdict exists); and the next batch, chosen among the open pairs."""
    from annotate_app.active.acquisition import Candidates
    from annotate_app.active.select import priorities, select_batch

    def both(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if not ids:
            return np.zeros((1, 0)), np.zeros((1, 0))
        at = np.array([row[p] for p in ids], dtype=int)
        head = member_probs(at)
        return head, stack_on(at, head)

    open_ids = ctx.input("open")["pair_id"].tolist()
    rows = np.array([row[p] for p in open_ids], dtype=int)
    head_probs, probs = both(open_ids)
    judged = _optional_input(ctx, "judged")
    judged_ids = [] if judged is None else judged["pair_id"].tolist()
    head_judged, judged_probs = both(judged_ids)
    candidates = Candidates(probs, ctx_feats[rows], ctx_feats[lab_rows])
    if active.strategy == AUTO:
        chosen, scores = _auto_select(ctx, active, candidates, open_ids, version_probs)
        prio = priorities(len(open_ids), chosen, scores)
    else:
        chosen, scores, prio = select_batch(candidates, active.strategy, active.batch, active.seed)
    return {
        # pairs only a judge labeled are scored for routing, not offered to acquisition
        "scores": pd.DataFrame(
            {
                # typed, so a project with every pair labeled writes an empty text column
                "pair_id": pd.Series([*open_ids, *judged_ids], dtype="string"),
                "p_a": np.concatenate([probs.mean(0), judged_probs.mean(0)]),
                "uncertainty": np.concatenate([probs.std(0), judged_probs.std(0)]),
                "head_p_a": np.concatenate([head_probs.mean(0), head_judged.mean(0)]),
                "head_uncertainty": np.concatenate([head_probs.std(0), head_judged.std(0)]),
                "acquisition": np.concatenate(
                    [np.asarray(scores, float), np.full(len(judged_ids), np.nan)]
                ),
            }
        ),
        "priorities": pd.DataFrame(
            {"pair_id": pd.Series(open_ids, dtype="string"), "priority": prio}
        ),
        "n_selected": int(len(chosen)),
    }


def _auto_select(ctx, active, candidates, open_ids, version_probs):
    """`auto`: settle the gain the new labels allow, draw an arm, choose its batch plus a uniform
    share, and write the round for the parent to record."""
    from annotate_app.active.bandit import auto_batch, bandit_from_rounds, pending_gain
    from annotate_app.reward.pipeline import label_targets

    rounds = [dict(r) for r in ctx.params["auto"]["rounds"]]
    labels = ctx.input("labels")
    target, _ = label_targets(labels)
    update = pending_gain(rounds, dict(zip(labels["pair_id"], target, strict=True)), version_probs)
    if update is not None:
        next(r for r in rounds if r["round"] == update[0])["gain"] = update[1]
    bandit = bandit_from_rounds(rounds)
    rng = np.random.default_rng([active.seed, len(rounds)])
    drawn = bandit.draw(rng)
    n = candidates.probs.shape[1]
    chosen, uniform = (
        auto_batch(candidates, active.batch, drawn.arm, bandit.config.random_share, rng)
        if n
        else (np.zeros(0, int), np.zeros(0, int))
    )
    record = {
        "arm": drawn.arm,
        "probs": drawn.probs,
        "baseline": drawn.baseline,
        "eval_pairs": [open_ids[i] for i in uniform],
        "gain_update": list(update) if update else None,
    }
    (ctx.output_dir() / OUT_AUTO_ROUND).write_text(json.dumps(record), encoding="utf-8")
    scores = rng.random(n)  # after the batch, the queue is in random order
    return chosen, scores


register_kind(
    JobKind(
        TRAIN,
        work="annotate_app.reward.jobs:work_train",
        collect="annotate_app.reward.jobs:collect_training",
    )
)
register_kind(
    JobKind(
        SELECT,
        work="annotate_app.reward.jobs:work_select",
        collect="annotate_app.reward.jobs:collect_selection",
    )
)
register_kind(
    JobKind(
        "simulate",
        work="annotate_app.simulation.strategies:work_simulate",
        collect="annotate_app.simulation.strategies:collect_simulation",
    )
)
