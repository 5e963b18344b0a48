"""Fine-tune mode on the CPU: a few steps, then the folder loads as a standard HF reward model."""

from __future__ import annotations

import json

import numpy as np
import torch

from annotate_app.reward.config import FinetuneConfig
from annotate_app.reward.finetune import finetune, score_texts

GOOD = ["Paris is the capital of France.", "Water boils at 100 degrees Celsius at sea level."]
BAD = ["I don't know, figure it out yourself.", "Whatever. Ask someone else."]


def test_a_few_cpu_steps_save_a_folder_automodel_loads(tmp_path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    prompts = ["User: What is the capital of France?", "User: When does water boil?"] * 2
    text_a = [f"{p}\n\nAssistant: {r}" for p, r in zip(prompts, GOOD + BAD, strict=True)]
    text_b = [f"{p}\n\nAssistant: {r}" for p, r in zip(prompts, BAD + GOOD, strict=True)]
    target = np.array([1.0, 1.0, 0.0, 0.0])
    config = FinetuneConfig(
        max_length=48,
        batch_size=2,
        grad_accum=2,
        max_steps=2,
        lr=1e-4,
        center_coef=0.01,
        device="cpu",
    )
    out = tmp_path / "rm"
    stats = finetune(text_a, text_b, target, np.array([2.0, 1, 1, 1]), config, out)
    assert stats["steps"] == 2 and stats["pairs_per_second"] > 0
    assert json.loads((out / "reward_config.json").read_text())["kind"] == "bt-reward-model"

    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.num_labels == 1
    enc = tokenizer(text_a, padding=True, truncation=True, max_length=48, return_tensors="pt")
    with torch.no_grad():
        direct = model(**enc).logits.squeeze(-1).numpy()
    ours = score_texts(out, text_a, device="cpu", max_length=48)
    assert direct.shape == (4,) and np.isfinite(direct).all()
    np.testing.assert_allclose(ours, direct, rtol=1e-4, atol=1e-4)
