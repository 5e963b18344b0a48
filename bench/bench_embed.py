"""Embedding throughput: our Encoder against sentence-transformers' encode, same model, same texts.

    .venv/bin/python bench/bench_embed.py [--n 128] [--repeats 3] [--batch 32]

Texts are HH harmless conversations + replies (../shared/data) when present, else the demo data.
Both sides run at 256 tokens, batch 32, on the CPU, alternating, and the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from annotate_app.config import DEMO_DIR
from annotate_app.ingest import ImportOptions, parse_file
from annotate_app.reward.encoder import Encoder, EncoderConfig, default_encoder_path, response_text

HH = Path(__file__).resolve().parents[2] / "shared/data/hh-rlhf/harmless-base-test-2000.jsonl.gz"


def texts(n: int) -> list[str]:
    path = HH if HH.exists() else DEMO_DIR / "responses.jsonl"
    _, _, _, collector, _ = parse_file(path, ImportOptions())
    prompts, responses, _, _ = collector.finish()
    prompt = dict(zip(prompts["id"], prompts["text"], strict=True))
    out = [
        response_text(prompt[p], t)
        for p, t in zip(responses["prompt_id"], responses["text"], strict=True)
    ]
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    sample = texts(args.n)
    ours = Encoder(EncoderConfig(batch_size=args.batch, device="cpu"))
    st = SentenceTransformer(str(default_encoder_path()), device="cpu")
    st.max_seq_length = 256
    runs: dict[str, list[float]] = {"ours": [], "sentence-transformers": []}
    ours.embed(sample[:8])
    st.encode(sample[:8], batch_size=args.batch)
    for _ in range(args.repeats):
        start = time.perf_counter()
        a = ours.embed(sample)
        runs["ours"].append(len(sample) / (time.perf_counter() - start))
        start = time.perf_counter()
        b = st.encode(sample, batch_size=args.batch, normalize_embeddings=True)
        runs["sentence-transformers"].append(len(sample) / (time.perf_counter() - start))
    short = [i for i, t in enumerate(sample) if len(ours.tokenizer(t)["input_ids"]) <= 256]
    agree = float((a[short] * b[short]).sum(1).min()) if short else float("nan")
    print(
        f"{len(sample)} texts, batch {args.batch}, 256 tokens, torch threads {torch.get_num_threads()}"
    )
    print("| encoder | texts/s (median) | runs |")
    print("|---|---|---|")
    for name, values in runs.items():
        cells = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {statistics.median(values):.1f} | {cells} |")
    ratio = statistics.median(runs["ours"]) / statistics.median(runs["sentence-transformers"])
    print(f"ratio ours / sentence-transformers: {ratio:.2f} (target >= 1.0)")
    print(f"min cosine between the two on {len(short)} untruncated texts: {agree:.5f}")


if __name__ == "__main__":
    main()
