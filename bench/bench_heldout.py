"""Held-out accuracy on HH harmless: the reward head (and a small fine-tune) against baselines.

    .venv/bin/python bench/bench_heldout.py --db CACHE.duckdb [--folds 5] [--finetune-steps 0]

5-fold cross-validation over the 2,000 HH harmless test pairs (1,600 train / 400 test per fold),
the same folds for every model. Peers in the same run: "shorter reply wins" and a logistic
regression on the embedding difference (a linear BT reward). Vectors come from, and go to, the
embedding cache of the project at --db, so only the first run embeds. ``--finetune-steps N`` also
fine-tunes MiniLM end to end on fold 0 for N steps (a small CPU budget, not a converged model).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from annotate_app.ingest import ImportOptions, parse_file
from annotate_app.reward.config import FeatureConfig, FinetuneConfig, HeadConfig
from annotate_app.reward.encoder import (
    EncoderConfig,
    cached_vectors,
    embed_with_cache,
    response_text,
    text_key,
)
from annotate_app.reward.metrics import evaluate
from annotate_app.reward.pipeline import fit_head, response_features
from annotate_app.store import Store

HH = Path(__file__).resolve().parents[2] / "shared/data/hh-rlhf/harmless-base-test-2000.jsonl.gz"


def load(path: Path) -> pd.DataFrame:
    _, _, _, collector, _ = parse_file(path, ImportOptions())
    prompts, responses, pairs, labels = collector.finish()
    prompt = dict(zip(prompts["id"], prompts["text"], strict=True))
    reply = dict(zip(responses["id"], responses["text"], strict=True))
    choice = labels.groupby("pair_id")["choice"].mean()
    return pd.DataFrame(
        {
            "text_a": [
                response_text(prompt[p], reply[r])
                for p, r in zip(pairs.prompt_id, pairs.response_a, strict=True)
            ],
            "text_b": [
                response_text(prompt[p], reply[r])
                for p, r in zip(pairs.prompt_id, pairs.response_b, strict=True)
            ],
            "len_a": [len(reply[r]) for r in pairs.response_a],
            "len_b": [len(reply[r]) for r in pairs.response_b],
            "target": (choice[pairs["id"]].to_numpy() > 0).astype(float),
        }
    )


def embed(db: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    encoder = EncoderConfig()
    texts = [*frame["text_a"], *frame["text_b"]]
    with Store(db) as store:
        cached = cached_vectors(
            store.cached_embeddings(encoder.cache_id, [text_key(t) for t in texts])
        )
        matrix, new = embed_with_cache(encoder, texts, cached)
        if new:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "new.parquet"
                pd.DataFrame(
                    {"text_hash": list(new), "vector": [v.tolist() for v in new.values()]}
                ).to_parquet(path)
                store.insert_embeddings(encoder.cache_id, path)
    print(f"embeddings: {len(texts) - len(new)} from the cache, {len(new)} computed")
    return matrix[: len(frame)], matrix[len(frame) :]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--data", type=Path, default=HH)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--finetune-steps", type=int, default=0)
    parser.add_argument("--finetune-batch", type=int, default=8)
    parser.add_argument("--finetune-max-length", type=int, default=128)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    frame = load(args.data)
    ea, eb = embed(args.db, frame)
    y = frame["target"].to_numpy()
    la, lb = frame["len_a"].to_numpy(), frame["len_b"].to_numpy()
    perm = np.random.default_rng(0).permutation(len(y))
    folds = [perm[f :: args.folds] for f in range(args.folds)]
    head = HeadConfig()
    models = {
        "shorter reply wins": None,
        f"head (K={head.members}, hidden {head.hidden})": (FeatureConfig(length=False), head),
        "head + log length feature": (FeatureConfig(length=True), head),
        "head, hidden 64": (FeatureConfig(length=False), replace(head, hidden=64)),
        "logistic regression on e_A - e_B": "logreg",
    }
    rows = []
    for name, spec in models.items():
        accs, losses, seconds = [], [], []
        for test in folds:
            train = np.setdiff1d(perm, test)
            start = time.perf_counter()
            if spec is None:
                p = np.where(la[test] == lb[test], 0.5, (la[test] < lb[test]).astype(float))
            elif spec == "logreg":
                x = ea - eb
                model = LogisticRegression(C=1.0, max_iter=2000, fit_intercept=False)
                model.fit(
                    np.vstack([x[train], -x[train]]), np.concatenate([y[train], 1 - y[train]])
                )
                p = model.predict_proba(x[test])[:, 1]
            else:
                features, config = spec
                fa, fb = response_features(ea, la, features), response_features(eb, lb, features)
                m = fit_head(fa[train], fb[train], y[train], np.ones(len(train)), config)
                p = m.member_probs(fa[test], fb[test]).mean(0)
            seconds.append(time.perf_counter() - start)
            metrics = evaluate(p, y[test])
            accs.append(metrics["accuracy"])
            losses.append(metrics["log_loss"] if spec is not None else float("nan"))
        se = np.std(accs, ddof=1) / np.sqrt(len(accs))
        rows.append(
            (
                name,
                np.mean(accs),
                se,
                np.nanmean(losses) if spec else float("nan"),
                np.median(seconds),
            )
        )
    if args.finetune_steps:
        from annotate_app.reward.finetune import finetune, score_texts

        test, train = folds[0], np.setdiff1d(perm, folds[0])
        config = FinetuneConfig(
            max_length=args.finetune_max_length,
            batch_size=args.finetune_batch,
            max_steps=args.finetune_steps,
            lr=3e-5,
            device="cpu",
        )
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            finetune(
                frame["text_a"].iloc[train].tolist(),
                frame["text_b"].iloc[train].tolist(),
                y[train],
                None,
                config,
                Path(tmp) / "rm",
            )
            took = time.perf_counter() - start
            texts = [*frame["text_a"].iloc[test], *frame["text_b"].iloc[test]]
            r = score_texts(Path(tmp) / "rm", texts, "cpu", 32, args.finetune_max_length)
        p = 1 / (1 + np.exp(-(r[: len(test)] - r[len(test) :])))
        m = evaluate(p, y[test])
        rows.append(
            (
                f"fine-tune MiniLM, {args.finetune_steps} steps x {args.finetune_batch} pairs, "
                f"{args.finetune_max_length} tokens (fold 0 only)",
                m["accuracy"],
                float("nan"),
                m["log_loss"],
                took,
            )
        )
    print(
        f"\n{len(y)} HH harmless pairs, {args.folds}-fold CV ({len(folds[0])} test pairs per fold)"
    )
    print("| model | held-out accuracy | ± se (folds) | log-loss | train s |")
    print("|---|---|---|---|---|")
    for name, acc, se, loss, secs in rows:
        print(f"| {name} | {acc:.3f} | {se:.3f} | {loss:.3f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
