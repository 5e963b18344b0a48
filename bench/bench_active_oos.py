"""Reward-model features, out of sample: train on one labeled file, score on a disjoint one.

    .venv/bin/python bench/bench_active_oos.py --write-split OUT   # OUT/hh-pool-1400.jsonl, hh-test-600
    .venv/bin/python bench/bench_active_oos.py --write-pandalm OUT # PandaLM, majority-decisive pairs
    .venv/bin/python bench/bench_active_oos.py --pool A.json B.json  # simulate reports, seeds pooled
    nice .venv/bin/python bench/bench_active_oos.py --db CACHE.duckdb --train POOL --test TEST \
        [--seeds 10]

``--write-split`` cuts the shared 2,000 HH harmless pairs into a 1,400-pair pool (to replay and
choose on) and a disjoint 600-pair test file (to score on only), by a fixed shuffle (seed 16).

Every row is trained on the whole --train file and scored on the whole --test file; seeds change
the head's initialisation and bootstrap, so the ± is the spread of training, and the paired
difference against the default head is over the same seeds. Nothing here was tuned on --test.
Peers in the same run: "shorter reply wins" and a logistic regression on the embedding difference.
Vectors come from, and go to, the embedding cache of the project at --db (``bench_heldout.embed``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_heldout import HH, embed, load  # noqa: E402

from annotate_app.reward.config import FeatureConfig, HeadConfig  # noqa: E402
from annotate_app.reward.metrics import evaluate  # noqa: E402
from annotate_app.reward.pipeline import fit_head, response_features  # noqa: E402


def write_split(out: Path, pool_size: int = 1400) -> None:
    import gzip
    import random

    with gzip.open(HH, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    order = list(range(len(lines)))
    random.Random(16).shuffle(order)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (
        (f"hh-pool-{pool_size}.jsonl", order[:pool_size]),
        (f"hh-test-{len(lines) - pool_size}.jsonl", order[pool_size:]),
    ):
        tmp = out / f".{name}.partial"
        tmp.write_text("\n".join(lines[i] for i in sorted(part)) + "\n", encoding="utf-8")
        tmp.replace(out / name)
        print(out / name)


PANDALM = HH.parents[1] / "pandalm" / "testset-v1.json.gz"
PANDALM_JUDGES = {
    "gpt35": ("gpt-3.5-turbo-testset-v1.json.gz", "gpt_result"),
    "pandalm7b": ("pandalm-7b-testset-v1.json.gz", "pandalm_result"),
}


def judge_features(db: Path, pool: Path, test: Path, judge: str, seeds: int) -> None:
    """The reward head alone, the recorded judge alone, and both stacked by the app's own code
    (``reward.judge_stack``, as the train job fits it: the head's logits on the pool cross-fitted,
    the stack fitted on the pool only), on the test file."""
    import json

    import pandas as pd

    from annotate_app.reward.encoder import response_text
    from annotate_app.reward.judge_stack import (
        JudgeStackConfig,
        crossfit_probs,
        fit_judge_stack,
        judge_evidence,
    )

    def read(path: Path) -> pd.DataFrame:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        frame = pd.DataFrame(rows)
        flip = np.random.default_rng(16).random(len(frame)) < 0.5  # chosen on side A or B
        a = np.where(flip, frame["rejected"], frame["chosen"])
        b = np.where(flip, frame["chosen"], frame["rejected"])
        p_chosen = frame[f"judge_{judge}"].to_numpy(float)
        return pd.DataFrame(
            {
                "pair_id": [f"{path.name}:{i}" for i in range(len(frame))],
                "text_a": [response_text(q, r) for q, r in zip(frame["prompt"], a, strict=True)],
                "text_b": [response_text(q, r) for q, r in zip(frame["prompt"], b, strict=True)],
                "target": (~flip).astype(float),
                "judge": np.where(flip, 1 - p_chosen, p_chosen),
            }
        )

    def evidence(frame: pd.DataFrame, p_a: np.ndarray | None = None):
        # PandaLM's files hold one order per pair: order consistency is unknown
        p_a = frame["judge"].to_numpy() if p_a is None else p_a
        verdicts = pd.DataFrame({"pair_id": frame["pair_id"], "judge_id": judge, "p_a": p_a})
        return judge_evidence(verdicts, frame["pair_id"].tolist(), [judge])

    def shuffled(frame: pd.DataFrame, seed: int):
        # a judge that is noise: the same verdicts, dealt to the wrong pairs
        return evidence(frame, np.random.default_rng(seed).permutation(frame["judge"].to_numpy()))

    tr, te = read(pool), read(test)
    ta, tb = embed(db, tr)
    sa, sb = embed(db, te)
    y, yt = tr["target"].to_numpy(), te["target"].to_numpy()
    ones = np.ones(len(y))
    ev_tr, ev_te = evidence(tr), evidence(te)
    rows: dict[str, list[float]] = {
        "head alone": [],
        "judge alone": [],
        "head + judge": [],
        "head + shuffled judge (noise)": [],
    }
    used, used_noise = [], []
    for seed in range(seeds):
        config = replace(HeadConfig(), seed=seed)
        stack_config = JudgeStackConfig(seed=seed)

        def fit_predict(fit: np.ndarray, score: np.ndarray) -> np.ndarray:
            m = fit_head(ta[fit], tb[fit], y[fit], ones[fit], config)  # noqa: B023
            return m.member_probs(ta[score], tb[score]).mean(0)

        crossfit = crossfit_probs(fit_predict, len(y), stack_config.folds, stack_config.seed)
        stack = fit_judge_stack(crossfit, y, ev_tr, [judge], stack_config)
        head = fit_head(ta, tb, y, ones, config)
        members = head.member_probs(sa, sb)
        both = stack.apply(members, ev_te).mean(0)
        used.append(stack.used)
        noise = fit_judge_stack(crossfit, y, shuffled(tr, seed), [judge], stack_config)
        used_noise.append(noise.used)
        # the app applies a stack only where the pool's cross-validation chose it
        noisy = noise.apply(members, shuffled(te, seed)) if noise.used else members
        rows["head + shuffled judge (noise)"].append(evaluate(noisy.mean(0), yt)["accuracy"])
        rows["head alone"].append(evaluate(members.mean(0), yt)["accuracy"])
        rows["judge alone"].append(evaluate(te["judge"].to_numpy(), yt)["accuracy"])
        rows["head + judge"].append(evaluate(both, yt)["accuracy"])
    print(
        f"\njudge {judge}; train {pool.name} ({len(y)}), test {test.name} ({len(yt)}), {seeds} seeds;"
        f" the pool's cross-validation chose the stack in {sum(used)}/{seeds} seeds"
        f" (with the shuffled judge: {sum(used_noise)}/{seeds})"
    )
    print("| model | test accuracy | ± std (seeds) | vs head alone (paired) |")
    print("|---|---|---|---|")
    ref = np.asarray(rows["head alone"])
    for name, accs in rows.items():
        a = np.asarray(accs)
        print(f"| {name} | {a.mean():.3f} | {a.std(ddof=1):.3f} | {(a - ref).mean():+.3f} |")


def write_pandalm_split(out: Path, test_share: float = 0.35) -> None:
    """PandaLM's human test set as prompt/chosen/rejected rows: pairs where the three annotators'
    majority prefers one side (ties and split votes dropped), cut by a fixed shuffle (seed 16)."""
    import gzip
    import json
    import random

    with gzip.open(PANDALM, "rt", encoding="utf-8") as fh:
        rows = json.load(fh)
    verdicts = {}
    for judge, (name, key) in PANDALM_JUDGES.items():
        with gzip.open(PANDALM.with_name(name), "rt", encoding="utf-8") as fh:
            verdicts[judge] = {r["idx"]: str(r[key]).strip() for r in json.load(fh)}
    kept = []
    for r in rows:
        one, two = r.get("response1"), r.get("response2")
        if not (isinstance(one, str) and isinstance(two, str) and one.strip() and two.strip()):
            continue
        votes = [int(r[f"annotator{k}"]) for k in (1, 2, 3)]
        first, second = votes.count(1), votes.count(2)
        if first == second or max(first, second) < 2:
            continue
        prompt = r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")
        chosen, rejected = (one, two) if first > second else (two, one)
        row = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
        for (
            judge,
            said,
        ) in verdicts.items():  # the judge's p(chosen wins): 1, 0, or 0.5 (tie/unusable)
            verdict = said.get(r["idx"], "")
            row[f"judge_{judge}"] = (
                0.5 if verdict not in ("1", "2") else float((verdict == "1") == (first > second))
            )
        kept.append(json.dumps(row))
    random.Random(16).shuffle(kept)
    n_test = round(test_share * len(kept))
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (
        (f"pandalm-pool-{len(kept) - n_test}.jsonl", kept[n_test:]),
        (f"pandalm-test-{n_test}.jsonl", kept[:n_test]),
    ):
        tmp = out / f".{name}.partial"
        tmp.write_text("\n".join(part) + "\n", encoding="utf-8")
        tmp.replace(out / name)
        print(out / name)


def pool_reports(paths: list[Path]) -> None:
    """Paired differences against random over the seeds of several `annotate simulate --json`
    reports of the same data and test file (fresh seeds extend a study), and the mean curves."""
    import json

    import pandas as pd
    from scipy import stats

    frames = [pd.DataFrame(json.loads(p.read_text(encoding="utf-8"))["results"]) for p in paths]
    acc = pd.concat(frames).pivot_table(
        index=["seed", "budget"], columns="strategy", values="accuracy"
    )
    budgets = sorted(acc.index.get_level_values("budget").unique())[1:]
    seeds = acc.index.get_level_values("seed").nunique()
    head = " | ".join(f"@{b}" for b in budgets)
    print(f"| vs random, {seeds} paired seeds | {head} |")
    print("|---" * (len(budgets) + 1) + "|")
    for name in [c for c in acc.columns if c != "random"]:
        cells = []
        for b in budgets:
            sub = acc.xs(b, level="budget")[[name, "random"]].dropna()
            d = (sub[name] - sub["random"]).to_numpy()
            if not d.any():  # the same picks as random on every seed: there is nothing to test
                cells.append(f"+0.0 ± 0.0 pt (0/{len(d)}, identical)")
                continue
            p = stats.ttest_rel(sub[name], sub["random"]).pvalue
            se = d.std(ddof=1) / np.sqrt(len(d))
            cells.append(
                f"{d.mean() * 100:+.1f} ± {se * 100:.1f} pt ({(d > 0).sum()}/{len(d)}, p {p:.2f})"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    means = acc.groupby(level="budget").mean()
    print(f"\n| mean accuracy | {head} |")
    print("|---" * (len(budgets) + 1) + "|")
    for name in acc.columns:
        print(f"| {name} | " + " | ".join(f"{means.loc[b, name]:.3f}" for b in budgets) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pool", type=Path, nargs="+", metavar="REPORT.json")
    parser.add_argument("--judge", choices=list(PANDALM_JUDGES), help="with a PandaLM split")
    parser.add_argument("--write-split", type=Path, metavar="OUT")
    parser.add_argument("--write-pandalm", type=Path, metavar="OUT")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--train", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    if args.pool:
        pool_reports(args.pool)
        return
    if args.write_split or args.write_pandalm:
        for path in (HH, PANDALM):
            if not path.exists():
                sys.exit(f"{path} is missing: the shared data folder is not beside this checkout")
        if args.write_split:
            write_split(args.write_split)
        if args.write_pandalm:
            write_pandalm_split(args.write_pandalm)
        return
    if not (args.db and args.train and args.test):
        parser.error("--db, --train and --test are required (or --write-split OUT)")
    if args.judge:
        judge_features(args.db, args.train, args.test, args.judge, args.seeds)
        return
    from scipy import stats
    from sklearn.linear_model import LogisticRegression

    train, test = load(args.train), load(args.test)
    ta, tb = embed(args.db, train)
    sa, sb = embed(args.db, test)
    y, yt = train["target"].to_numpy(), test["target"].to_numpy()
    la, lb = train["len_a"].to_numpy(), train["len_b"].to_numpy()
    sla, slb = test["len_a"].to_numpy(), test["len_b"].to_numpy()

    def head(features: FeatureConfig, config: HeadConfig, seed: int) -> float:
        fa, fb = response_features(ta, la, features), response_features(tb, lb, features)
        m = fit_head(fa, fb, y, np.ones(len(y)), replace(config, seed=seed))
        p = m.member_probs(
            response_features(sa, sla, features), response_features(sb, slb, features)
        )
        return evaluate(p.mean(0), yt)["accuracy"]

    base = HeadConfig()
    rows: dict[str, list[float]] = {}
    rows["shorter reply wins"] = [
        evaluate(np.where(sla == slb, 0.5, (sla < slb).astype(float)), yt)["accuracy"]
    ] * args.seeds
    x = ta - tb
    lr = LogisticRegression(C=1.0, max_iter=2000, fit_intercept=False)
    lr.fit(np.vstack([x, -x]), np.concatenate([y, 1 - y]))
    rows["logistic regression on e_A - e_B"] = [
        evaluate(lr.predict_proba(sa - sb)[:, 1], yt)["accuracy"]
    ] * args.seeds
    rows["head, default (MiniLM)"] = [
        head(FeatureConfig(length=False), base, s) for s in range(args.seeds)
    ]
    rows["head + log reply length"] = [
        head(FeatureConfig(length=True), base, s) for s in range(args.seeds)
    ]
    ref = np.asarray(rows["head, default (MiniLM)"])
    print(
        f"\ntrain {args.train.name} ({len(y)} pairs), test {args.test.name} ({len(yt)} pairs), "
        f"{args.seeds} seeds"
    )
    print("| model | test accuracy | ± std (seeds) | vs default head | paired t p |")
    print("|---|---|---|---|---|")
    for name, accs in rows.items():
        a = np.asarray(accs)
        diff = a - ref
        p = stats.ttest_rel(a, ref).pvalue if diff.std() > 0 else float("nan")
        print(f"| {name} | {a.mean():.3f} | {a.std(ddof=1):.3f} | {diff.mean():+.3f} | {p:.3f} |")


if __name__ == "__main__":
    main()
