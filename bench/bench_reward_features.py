"""Reward-model features and heads, chosen by cross-validation inside the pool, scored once on test.

    .venv/bin/python bench/bench_active_oos.py --write-split SPLIT
    nice -n 10 .venv/bin/python bench/bench_reward_features.py --db CACHE.duckdb \
        --train SPLIT/hh-pool-1400.jsonl --test SPLIT/hh-test-600.jsonl --embed-only
    nice -n 10 .venv/bin/python bench/bench_reward_features.py --db CACHE.duckdb \
        --train SPLIT/hh-pool-1400.jsonl --test SPLIT/hh-test-600.jsonl [--folds 5] [--seeds 5]
        [--encoders minilm,smollm2,minilm+smollm2] [--pick 0,1,2] [--few]
        [--cv-only --pool-size N]   # a reduced run: CV on the first N pool pairs, no test
    nice -n 10 .venv/bin/python bench/bench_reward_features.py --db CACHE.duckdb \
        --train SPLIT/hh-pool-1400.jsonl --test SPLIT/hh-test-600.jsonl --encoders minilm \
        --choose-head [--seeds 5] [--pool-size N]   # the train job's per-project head choice

The figures and exact commands of the last run are in docs/benchmarks.md, "Reward model features
out of sample: heads and encoders chosen on pool folds".

Candidates: the current head, heads with stronger regularisation / fewer or no hidden units / other
weight decay / fewer steps, the log reply length feature, and the encoders MiniLM, SmolLM2-135M
(last token) and both concatenated. Every candidate is scored by K-fold CV inside the pool (the
same folds and seeds for all); the one with the best mean CV accuracy is the chosen one, and only
then is every candidate trained on the whole pool and scored on the test file, with the same seeds
(paired). With ``--choose-head`` the choice is the app's own (``reward.head_choice.choose_head``,
as the train job runs it on a project's training labels): made on the pool alone, per seed, and
the head it picks is scored on test against the default head with the same seed. The test column of
a candidate that was not chosen is printed for reading, never for choosing; a test difference comes with its se over seeds and over test pairs (the one that says
whether it would hold on other pairs). Vectors come from, and go to, the embedding cache of the
project at --db, in chunks, so a stopped embedding run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_heldout import load  # noqa: E402

from annotate_app.reward.config import FeatureConfig, HeadConfig  # noqa: E402
from annotate_app.reward.encoder import (  # noqa: E402
    DEFAULT_ENCODER,
    SMOLLM2_ENCODER,
    EncoderConfig,
)
from annotate_app.reward.metrics import pairwise_accuracy  # noqa: E402
from annotate_app.reward.pipeline import fit_head, response_features  # noqa: E402

ENCODERS = {
    DEFAULT_ENCODER: EncoderConfig(),
    # bfloat16 on the CPU (AMX): 2.7x faster than float32 for this 135M decoder
    SMOLLM2_ENCODER: EncoderConfig(path=SMOLLM2_ENCODER, dtype="bfloat16", batch_size=8),
}


def embed_all(db: Path, config: EncoderConfig, texts: list[str], chunk: int) -> np.ndarray:
    """Vectors for ``texts`` through the project's cache, written chunk by chunk in the caller's
    order (the encoder sorts each chunk by length), with one model loaded for all chunks."""
    from annotate_app.reward.encoder import Encoder, cached_vectors, text_key
    from annotate_app.simulation.embedding import embed_texts
    from annotate_app.store import Store

    unique = list(dict.fromkeys(texts))  # the caller's order: a stopped run has a usable prefix
    lookup: dict[str, np.ndarray] = {}
    start = time.perf_counter()
    with Store(db) as store:
        known = store.cached_embeddings(config.cache_id, [text_key(t) for t in unique])
        encoder = Encoder(config) if len(cached_vectors(known)) < len(unique) else None
        for at in range(0, len(unique), chunk):
            part = unique[at : at + chunk]
            vectors = embed_texts(store, config, part, encoder=encoder)
            lookup.update(zip(part, vectors, strict=True))
            done = min(at + chunk, len(unique))
            took = time.perf_counter() - start
            print(f"{config.path}: {done}/{len(unique)} texts, {took:.0f} s", flush=True)
    return np.stack([lookup[t] for t in texts])


@dataclass
class Candidate:
    name: str
    encoder: str  # "minilm", "smollm2" or "minilm+smollm2" (the two vectors side by side)
    head: HeadConfig
    features: FeatureConfig = field(default_factory=FeatureConfig)


def candidates(encoders: list[str], few: bool) -> list[Candidate]:
    """Every head and feature variant on MiniLM, and the main head shapes on the other encoders;
    ``few``: only the current head and the linear head with decay 10 on each encoder."""
    base = HeadConfig()
    linear = replace(base, hidden=0)
    out = [
        Candidate("current head (hidden 16, wd 1)", "minilm", base),
        Candidate("hidden 4", "minilm", replace(base, hidden=4)),
        Candidate("hidden 16, wd 10", "minilm", replace(base, weight_decay=10.0)),
        Candidate(
            "hidden 16, early stop (60 steps)", "minilm", replace(base, min_steps=60, max_steps=60)
        ),
        Candidate("linear (hidden 0), wd 1", "minilm", linear),
        Candidate("linear, wd 10", "minilm", replace(linear, weight_decay=10.0)),
        Candidate("current head + log length", "minilm", base, FeatureConfig(length=True)),
        Candidate("linear + log length", "minilm", linear, FeatureConfig(length=True)),
    ]
    if few:
        out = [out[0], out[5]]
    for encoder in encoders:
        if encoder == "minilm":
            continue
        if few:
            out += [Candidate("current head", encoder, base)]
            out += [Candidate("linear, wd 10", encoder, replace(linear, weight_decay=10.0))]
            continue
        out += [
            Candidate("current head", encoder, base),
            Candidate("hidden 4", encoder, replace(base, hidden=4)),
            Candidate("linear, wd 1", encoder, linear),
            Candidate("linear, wd 10", encoder, replace(linear, weight_decay=10.0)),
        ]
    return out


@dataclass
class Split:
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    len_a: np.ndarray
    len_b: np.ndarray


def vectors(db: Path, frame, encoder: str, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for name in encoder.split("+"):
        matrix = embed_all(db, ENCODERS[name], [*frame["text_a"], *frame["text_b"]], chunk)
        parts.append(matrix)
    matrix = np.hstack(parts)
    return matrix[: len(frame)], matrix[len(frame) :]


def probs(train: Split, test: Split, cand: Candidate, seed: int) -> np.ndarray:
    """The ensemble p(A>B) on ``test`` of the head trained on ``train``."""
    fa = response_features(train.a, train.len_a, cand.features)
    fb = response_features(train.b, train.len_b, cand.features)
    model = fit_head(fa, fb, train.y, np.ones(len(train.y)), replace(cand.head, seed=seed))
    p = model.member_probs(
        response_features(test.a, test.len_a, cand.features),
        response_features(test.b, test.len_b, cand.features),
    )
    return p.mean(0)


def per_pair(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each pair's own accuracy (1, 0, or 0.5 at p = 0.5), by the app's one definition."""
    return np.array([pairwise_accuracy(p[i : i + 1], y[i : i + 1]) for i in range(len(y))])


def se(v: np.ndarray) -> float:
    return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


def subset(s: Split, idx: np.ndarray) -> Split:
    return Split(s.a[idx], s.b[idx], s.y[idx], s.len_a[idx], s.len_b[idx])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--train", required=True, type=Path, help="the pool: CV folds are cut here")
    parser.add_argument("--test", required=True, type=Path, help="scored once, never chosen on")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--encoders", default="minilm,smollm2,minilm+smollm2", help="comma-separated"
    )
    parser.add_argument("--chunk", type=int, default=200, help="texts embedded per cache write")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for embedding")
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument(
        "--pool-size", type=int, help="CV on the first N pool pairs only (a reduced run)"
    )
    parser.add_argument("--cv-only", action="store_true", help="no test scoring (nor test vectors)")
    parser.add_argument("--few", action="store_true", help="two heads per encoder")
    parser.add_argument(
        "--choose-head",
        action="store_true",
        help="score the train job's per-project head choice against the default head",
    )
    parser.add_argument(
        "--pick", help="only these candidates, by their row numbers (0 = the current head)"
    )
    args = parser.parse_args()
    import torch
    from scipy import stats
    from sklearn.linear_model import LogisticRegression

    torch.set_num_threads(args.threads)
    encoders = args.encoders.split(",")
    pool_frame, test_frame = load(args.train), load(args.test)
    if args.pool_size:
        pool_frame = pool_frame.iloc[: args.pool_size].reset_index(drop=True)
    if args.cv_only:
        test_frame = test_frame.iloc[:0]
    data: dict[str, tuple[Split, Split]] = {}
    for encoder in encoders:
        splits = []
        for frame in (pool_frame, test_frame):
            if frame.empty:  # --cv-only: no test vectors
                none = np.zeros(0)
                splits.append(Split(np.zeros((0, 1)), np.zeros((0, 1)), none, none, none))
                continue
            a, b = vectors(args.db, frame, encoder, args.chunk)
            y = frame["target"].to_numpy()
            la, lb = frame["len_a"].to_numpy(), frame["len_b"].to_numpy()
            splits.append(Split(a, b, y, la, lb))
        data[encoder] = (splits[0], splits[1])
    if args.embed_only:
        return
    pool = data[encoders[0]][0]
    n = len(pool.y)
    if args.choose_head:
        choose_head_table(args, *data[encoders[0]])
        return
    fold_of = np.random.default_rng(0).permutation(n) % args.folds
    cands = [c for c in candidates(encoders, args.few) if c.encoder in data]
    if args.pick:
        cands = [cands[int(i)] for i in args.pick.split(",")]
    seeds = range(args.seeds)
    cv: list[np.ndarray] = []
    for cand in cands:
        start = time.perf_counter()
        whole, _ = data[cand.encoder]
        # one figure per seed: the accuracy over every pool pair, each scored by the fold that
        # held it out
        per_seed = []
        for seed in seeds:
            right_cv = 0.0
            for f in range(args.folds):
                fit, held = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
                p = probs(subset(whole, fit), subset(whole, held), cand, seed)
                right_cv += pairwise_accuracy(p, whole.y[held]) * len(held)
            per_seed.append(right_cv / n)
        cv.append(np.asarray(per_seed))
        took = time.perf_counter() - start
        print(f"cv {cand.encoder} / {cand.name}: {cv[-1].mean():.3f} ({took:.0f} s)", flush=True)
    chosen = max(range(len(cands)), key=lambda i: cv[i].mean())
    if args.cv_only:
        print(
            f"\npool {args.train.name}, first {n} pairs, {args.folds}-fold CV, {args.seeds} seeds"
        )
        print("| encoder | head / features | pool CV acc ± se | vs current (CV), paired p |")
        print("|---|---|---|---|")
        for i, cand in enumerate(cands):
            d = cv[i] - cv[0]
            p = stats.ttest_rel(cv[i], cv[0]).pvalue if d.std() > 0 else float("nan")
            print(
                f"| {cand.encoder} | {cand.name} | {cv[i].mean():.3f} ± {se(cv[i]):.3f} "
                f"| {d.mean():+.3f}, p {p:.3f} |"
            )
        return
    # right[i]: [seeds, test pairs]; a candidate's test figure per seed is its row mean, and its
    # difference to the current head has a paired standard error over the test pairs as well
    right: list[np.ndarray] = []
    for cand in cands:
        whole, held = data[cand.encoder]
        right.append(np.stack([per_pair(probs(whole, held, cand, s), held.y) for s in seeds]))
    test = [r.mean(1) for r in right]
    # the linear peer of earlier rounds, and "shorter reply wins", for reference
    _, held = data["minilm"] if "minilm" in data else data[encoders[0]]
    x = pool.a - pool.b
    lr = LogisticRegression(C=1.0, max_iter=2000, fit_intercept=False)
    lr.fit(np.vstack([x, -x]), np.concatenate([pool.y, 1 - pool.y]))
    peer = pairwise_accuracy(lr.predict_proba(held.a - held.b)[:, 1], held.y)
    shorter = np.where(held.len_a == held.len_b, 0.5, (held.len_a < held.len_b).astype(float))
    print(
        f"\npool {args.train.name} ({n} pairs, {args.folds}-fold CV), test {args.test.name} "
        f"({len(held.y)} pairs); {args.seeds} paired seeds (head init and bootstrap)"
    )
    print(
        "| encoder | head / features | pool CV acc ± se | vs current (CV) | test acc ± se "
        "| vs current (test) ± se over seeds, over test pairs |"
    )
    print("|---|---|---|---|---|---|")
    for i, cand in enumerate(cands):  # cands[0] is the current head
        d_cv, d_test = cv[i] - cv[0], test[i] - test[0]
        pair_diff = right[i].mean(0) - right[0].mean(0)  # seed-averaged, per test pair
        mark = "**chosen on CV**" if i == chosen else "not chosen (read only)"
        print(
            f"| {cand.encoder} | {cand.name}; {mark} | {cv[i].mean():.3f} ± {se(cv[i]):.3f} "
            f"| {d_cv.mean():+.3f} | {test[i].mean():.3f} ± {se(test[i]):.3f} "
            f"| {d_test.mean():+.3f} ± {se(d_test):.3f}, ± {se(pair_diff):.3f} |"
        )
    print(f"| minilm | peer: logistic regression on e_A - e_B (C=1) | - | - | {peer:.3f} | - |")
    shorter_acc = pairwise_accuracy(shorter, held.y)
    print(f"| - | peer: shorter reply wins | - | - | {shorter_acc:.3f} | - |")


def choose_head_table(args, pool: Split, test: Split) -> None:
    """Per seed: the app's head choice on the pool (CV inside it), then the chosen head and the
    default head, both trained on the whole pool with that seed, scored once on test."""
    from collections import Counter

    from annotate_app.reward.config import HeadChoiceConfig
    from annotate_app.reward.head_choice import choose_head

    default = Candidate("default", "minilm", HeadConfig())
    picked, seconds, one_fit, cv_rows = [], [], [], []
    right_default, right_chosen = [], []
    for seed in range(args.seeds):

        def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
            model = fit_head(pool.a[fit], pool.b[fit], pool.y[fit], np.ones(len(fit)), head)
            return model.member_probs(pool.a[score], pool.b[score]).mean(0)

        cpu = time.process_time()
        choice = choose_head(
            fit_predict,
            pool.y,
            replace(HeadConfig(), seed=seed),
            HeadChoiceConfig(folds=args.folds, seed=seed),
        )
        seconds.append(time.process_time() - cpu)
        picked.append(choice.variant)
        cv_rows.append(choice.cv)
        chosen = Candidate(choice.variant, "minilm", choice.head)
        cpu = time.process_time()
        right_default.append(per_pair(probs(pool, test, default, seed), test.y))
        one_fit.append(time.process_time() - cpu)
        right_chosen.append(per_pair(probs(pool, test, chosen, seed), test.y))
        print(
            f"seed {seed}: chose {choice.variant} ({choice.reason}); test "
            f"{right_chosen[-1].mean():.3f} vs default {right_default[-1].mean():.3f}; "
            f"choice took {seconds[-1]:.1f} s of CPU, one default fit {one_fit[-1]:.1f} s",
            flush=True,
        )
    rd, rc = np.stack(right_default), np.stack(right_chosen)
    d_seed = rc.mean(1) - rd.mean(1)
    d_pair = rc.mean(0) - rd.mean(0)
    print(
        f"\npool {args.train.name} ({len(pool.y)} pairs, {args.folds}-fold CV), test "
        f"{args.test.name} ({len(test.y)} pairs); {args.seeds} paired seeds"
    )
    print("| variant | pool CV log-loss (rescaled) | pool CV raw log-loss | pool CV acc |")
    print("|---|---|---|---|")
    for v in cv_rows[0]:
        ll = np.mean([c[v]["cv_log_loss"] for c in cv_rows])
        raw = np.mean([c[v]["cv_raw_log_loss"] for c in cv_rows])
        acc = np.mean([c[v]["cv_accuracy"] for c in cv_rows])
        print(f"| {v} | {ll:.4f} | {raw:.4f} | {acc:.3f} |")
    counts = ", ".join(f"{v} {k}" for v, k in Counter(picked).most_common())
    print(
        "\n| head | test acc ± se over seeds | vs default ± se over seeds, over test pairs "
        "| chosen (seeds) | head CPU s, median |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| default (hidden 16, wd 1) | {rd.mean():.3f} ± {se(rd.mean(1)):.3f} | - | - "
        f"| {np.median(one_fit):.1f} (one fit) |"
    )
    print(
        f"| per-project choice | {rc.mean():.3f} ± {se(rc.mean(1)):.3f} "
        f"| {d_seed.mean():+.3f} ± {se(d_seed):.3f}, ± {se(d_pair):.3f} | {counts} "
        f"| {np.median(seconds):.1f} (the choice) + one fit |"
    )


if __name__ == "__main__":
    main()
