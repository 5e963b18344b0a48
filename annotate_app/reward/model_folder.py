"""A model version as a self-contained Hugging Face folder that
``AutoModelForSequenceClassification`` opens offline, whatever the training mode.

- head mode: one ``BTHeadRewardModel`` (``hf_head_model.py``, shipped in the folder as remote code)
  holding the encoder's weights and the ensemble head; open it with ``trust_remote_code=True``.
- finetune mode: the version's folder is already a standard model; it is copied.

Both get the tokenizer with the training text format as its chat template, an eos token and left
truncation at the training length (``chat_format.prepare_tokenizer``), and ``reward_config.json``
saying how the model was trained.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from annotate_app.reward.chat_format import prepare_tokenizer
from annotate_app.reward.config import (
    TRAIN_CONFIG_FILE,
    TrainConfig,
    as_params,
    read_version_config,
)

REWARD_CONFIG = "reward_config.json"


def write_model_folder(version_dir: Path, dest: Path) -> None:
    """Write the Hugging Face folder of the version in ``version_dir`` into ``dest`` (an existing,
    empty folder: the caller makes the write atomic)."""
    config = read_version_config(version_dir)
    if config.mode == "head":
        _write_head(version_dir, config, dest)
    elif config.mode == "finetune":
        _write_finetune(version_dir, config, dest)
    else:
        raise ValueError(f"{version_dir / TRAIN_CONFIG_FILE}: unknown mode {config.mode!r}")
    (dest / REWARD_CONFIG).write_text(
        json.dumps({"kind": "bt-reward-model", "mode": config.mode, "train": as_params(config)}),
        encoding="utf-8",
    )


def _write_finetune(version_dir: Path, config: TrainConfig, dest: Path) -> None:
    from transformers import AutoTokenizer

    shutil.copytree(version_dir, dest, dirs_exist_ok=True)
    # versions trained before the format was saved get it here; for the others this is a no-op
    tokenizer = AutoTokenizer.from_pretrained(dest)
    prepare_tokenizer(tokenizer, config.finetune.max_length)
    tokenizer.save_pretrained(dest)


def _write_head(version_dir: Path, config: TrainConfig, dest: Path) -> None:
    import torch

    from annotate_app.reward.encoder import resolve_pooling
    from annotate_app.reward.head import BTEnsemble
    from annotate_app.reward.hf_head_model import BTHeadRewardConfig, BTHeadRewardModel

    if config.features.length:
        raise ValueError(
            f"{version_dir / TRAIN_CONFIG_FILE}: this head reads the reply length beside the embedding "
            "(features.length), which a token-level model cannot recover; retrain without it to "
            "export"
        )
    head = BTEnsemble.load(version_dir)
    encoder = config.encoder.load_model(torch.float32)
    pooling = resolve_pooling(config.encoder.pooling, encoder.config)
    encoder_config = encoder.config.to_dict()
    for key in (
        "architectures",
        "_name_or_path",
        "transformers_version",
        "dtype",
        "id2label",
        "label2id",
    ):
        encoder_config.pop(key, None)
    tokenizer = config.encoder.load_tokenizer(padding_side="left" if pooling == "last" else "right")
    prepare_tokenizer(tokenizer, config.encoder.max_length)
    hf_config = BTHeadRewardConfig(
        encoder=encoder_config,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        dim=head.dim,
        members=head.config.members,
        hidden=head.config.hidden,
        pooling=pooling,
        normalize=config.encoder.normalize,
    )
    model = BTHeadRewardModel(hf_config)
    model.encoder.load_state_dict(encoder.state_dict())
    with torch.no_grad():
        for ours, theirs in (
            (model.w1, head.w1),
            (model.b1, head.b1),
            (model.w2, head.w2),
            (model.feature_mean, head.mean),
            (model.feature_std, head.std),
        ):
            ours.copy_(theirs)
    # auto_map in config.json, and this module (with ensemble_math.py) copied into the folder
    BTHeadRewardConfig.register_for_auto_class()
    BTHeadRewardModel.register_for_auto_class("AutoModelForSequenceClassification")
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
