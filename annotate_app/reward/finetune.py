"""Full fine-tune mode: the encoder plus a scalar head, trained end to end with the BT loss.

The model is transformers' ``AutoModelForSequenceClassification`` with one label, so the saved folder
is a standard Hugging Face reward model (what TRL's RewardTrainer produces and vLLM serves); its
tokenizer carries the training text format as its chat template, and an eos token (``chat_format``).
Distribution is accelerate's: one process here, DDP under ``accelerate launch`` or ``torchrun``::

    accelerate launch -m annotate_app.reward.finetune --data pairs.parquet --out models/ft
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from annotate_app.reward.chat_format import prepare_tokenizer
from annotate_app.reward.config import FinetuneConfig
from annotate_app.reward.encoder import DEFAULT_ENCODER, resolve_device
from annotate_app.reward.loss import bt_loss


def _load(path: str, device: str):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(path, truncation_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id  # decoders pool the last non-pad token
    return tokenizer, model


def finetune(
    texts_a: list[str],
    texts_b: list[str],
    target: np.ndarray,
    strength: np.ndarray | None,
    config: FinetuneConfig,
    out_dir: Path,
    on_step: Callable[[int, int], None] | None = None,
) -> dict:
    """Train and save to ``out_dir``; returns timing and memory figures."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    device = resolve_device(config.device)
    accelerator = Accelerator(
        mixed_precision="bf16" if device == "cuda" and config.bf16 else "no",
        gradient_accumulation_steps=config.grad_accum,
        cpu=device == "cpu",
    )
    set_seed(config.seed)
    tokenizer, model = _load(config.base_path(), device)
    # the saved folder carries the training text format (chat template) and an eos token; an
    # encoder whose tokenizer cannot express the format stops here, before any training
    prepare_tokenizer(tokenizer, config.max_length)
    model.config.eos_token_id = tokenizer.eos_token_id
    n = len(target)
    if n == 0:
        raise ValueError("no labeled pairs to fine-tune on")
    strength = np.ones(n) if strength is None else np.asarray(strength, float)
    rows = list(range(n))
    loader = torch.utils.data.DataLoader(
        rows,
        batch_size=config.batch_size,
        shuffle=True,
        collate_fn=lambda idx: _collate(tokenizer, config, texts_a, texts_b, target, strength, idx),
    )
    steps_per_epoch = math.ceil(len(loader) / config.grad_accum)
    total = max(1, math.ceil(config.epochs * steps_per_epoch))
    if config.max_steps is not None:  # as in HF Trainer, max_steps overrides epochs
        total = config.max_steps
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = get_linear_schedule_with_warmup(opt, int(config.warmup_ratio * total), total)
    model, opt, loader, sched = accelerator.prepare(model, opt, loader, sched)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    model.train()
    start, step, pairs_seen, last_loss = time.perf_counter(), 0, 0, float("nan")
    while step < total:
        for batch in loader:
            with accelerator.accumulate(model):
                rewards = (
                    model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                    .logits.squeeze(-1)
                    .float()
                )
                half = rewards.shape[0] // 2
                r_a, r_b = rewards[:half], rewards[half:]
                margin = torch.where(batch["strength"] >= 2, config.margin, 0.0)
                loss = bt_loss(r_a - r_b, batch["target"], margin)
                if config.center_coef:
                    loss = loss + config.center_coef * ((r_a + r_b) ** 2).mean()
                accelerator.backward(loss)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
            pairs_seen += half
            if accelerator.sync_gradients:
                step += 1
                last_loss = float(loss.detach())
                if on_step is not None:
                    on_step(step, total)
                if step >= total:
                    break
    seconds = time.perf_counter() - start
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        accelerator.unwrap_model(model).save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        (out_dir / "reward_config.json").write_text(
            json.dumps({"kind": "bt-reward-model", "finetune": asdict(config)}, indent=2),
            encoding="utf-8",
        )
    return {
        "steps": step,
        "train_seconds": seconds,
        "pairs_per_second": pairs_seen * accelerator.num_processes / max(seconds, 1e-9),
        "final_loss": last_loss,
        "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
        "processes": accelerator.num_processes,
    }


def _collate(tokenizer, config, texts_a, texts_b, target, strength, idx):
    enc = tokenizer(
        [texts_a[i] for i in idx] + [texts_b[i] for i in idx],
        truncation=True,
        max_length=config.max_length,
        padding=True,
        return_tensors="pt",
    )
    return {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "target": torch.tensor([target[i] for i in idx], dtype=torch.float32),
        "strength": torch.tensor([strength[i] for i in idx], dtype=torch.float32),
    }


@torch.no_grad()
def score_texts(
    folder: Path | str,
    texts: list[str],
    device: str = "auto",
    batch_size: int = 32,
    max_length: int = 256,
) -> np.ndarray:
    """Rewards from a saved reward-model folder, length-sorted batches."""
    device = resolve_device(device)
    tokenizer, model = _load(str(folder), device)
    model = model.to(device).eval()
    out = np.zeros(len(texts), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for s in range(0, len(texts), batch_size):
        idx = order[s : s + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            out[idx] = model(**enc).logits.squeeze(-1).float().cpu().numpy()
    return out


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry for ``accelerate launch``/``torchrun``: a Parquet of text_a, text_b and
    target (P(A better)) in, a Hugging Face reward-model folder out."""
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--base", default=DEFAULT_ENCODER)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--center-coef", type=float, default=0.0)
    args = parser.parse_args(argv)
    frame = pd.read_parquet(args.data)
    config = FinetuneConfig(
        base=args.base,
        max_length=args.max_length,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        lr=args.lr,
        epochs=args.epochs,
        max_steps=args.max_steps,
        center_coef=args.center_coef,
    )
    stats = finetune(
        frame["text_a"].tolist(),
        frame["text_b"].tolist(),
        frame["target"].to_numpy(float),
        frame["strength"].to_numpy(float) if "strength" in frame else None,
        config,
        Path(args.out),
    )
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
