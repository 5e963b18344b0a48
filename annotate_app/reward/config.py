"""Reward-model settings, kept free of torch so the app process can build and pass them around
without loading model code; the worker turns them back into objects with ``train_config``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from annotate_app.labels.sources import HUMAN_SOURCES
from annotate_app.reward.encoder import (
    DEFAULT_ENCODER,
    SMOLLM2_ENCODER,
    EncoderConfig,
    default_encoder_path,
)


@dataclass
class HeadConfig:
    members: int = 5
    # 0: linear members (r = w.z). Hidden 4, decay 10 or linear gained about 1 pt on HH's pool CV
    # but lost 2 to 8.5 pt on PandaLM's (bench_reward_features), so no one shape serves both: the
    # train job chooses among them per project (HeadChoiceConfig), this one being the default
    hidden: int = 16
    # lr 1e-3 with strong decay: on HH (5-fold) it beat lr 3e-3 / decay 1e-2 on accuracy (.604 vs
    # .597) and above all on log-loss (.675 vs .795): calibrated members make better uncertainty
    lr: float = 1e-3
    weight_decay: float = 1.0
    epochs: int = 40  # passes over the labels, bounded by min_steps / max_steps
    batch_size: int = 256
    min_steps: int = 150
    max_steps: int = 800
    bootstrap: bool = True
    margin: float = 0.0  # extra logit margin for "much better" labels (0: strength ignored)
    ties: str = "half"  # "half": a tie is half a win each way; "drop": ties are not trained on
    seed: int = 0


# The head shapes a project may choose among, each a change of the configured head: fewer hidden
# units, stronger weight decay, or linear members with stronger decay. These three had the best pool
# CV on HH harmless of the regularised heads (bench_reward_features), and lost on PandaLM's.
HeadVariant = Literal["default", "hidden4", "decay10", "linear_decay10"]
HEAD_VARIANTS: tuple[HeadVariant, ...] = ("default", "hidden4", "decay10", "linear_decay10")


def head_variant(base: HeadConfig, variant: HeadVariant) -> HeadConfig:
    """``base`` changed as ``variant`` says ("default": unchanged)."""
    changes: dict[str, dict[str, Any]] = {
        "default": {},
        "hidden4": {"hidden": 4},
        "decay10": {"weight_decay": 10.0},
        "linear_decay10": {"hidden": 0, "weight_decay": 10.0},
    }
    if variant not in changes:
        raise ValueError(f"unknown head variant {variant!r}; choose from {', '.join(changes)}")
    return replace(base, **changes[variant])


def describe_head(head: HeadConfig) -> str:
    """A head's shape in words, as the Dashboard shows it."""
    shape = "linear" if head.hidden == 0 else f"MLP, {head.hidden} hidden units"
    return f"{shape}, weight decay {head.weight_decay:g}"


@dataclass
class HeadChoiceConfig:
    """The train job fits every variant on K-fold splits of the training labels and keeps the
    default unless another's cross-validated log-loss is lower by more than ``margin_se`` standard
    errors of the per-pair log-loss differences (then the lowest such one is used)."""

    enabled: bool = True
    variants: tuple[HeadVariant, ...] = HEAD_VARIANTS  # the first is the one kept on a tie
    folds: int = 5
    # below this many training labels the folds are too small to tell heads apart: the default
    min_labels: int = 100
    # above this many, the folds are cut from a fixed random sample of this size: the choice costs
    # 4 x 5 head fits (about 20 s of CPU at 1,400 labels), and a head's fit time grows with labels
    max_labels: int = 2000
    margin_se: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.variants = tuple(self.variants)
        for variant in self.variants:
            if variant not in HEAD_VARIANTS:
                raise ValueError(
                    f"unknown head variant {variant!r}; choose from {', '.join(HEAD_VARIANTS)}"
                )
        if not self.variants:
            raise ValueError("head choice needs at least one variant")
        if self.folds < 2:
            raise ValueError(f"head choice needs at least 2 folds, not {self.folds}")
        if self.max_labels < self.min_labels:
            raise ValueError(
                f"head choice max_labels ({self.max_labels}) is below min_labels ({self.min_labels})"
            )


@dataclass
class FinetuneConfig:
    base: str = DEFAULT_ENCODER  # "minilm" or any HF encoder/decoder folder or hub name
    max_length: int = 256
    batch_size: int = 16  # pairs per micro-batch (each pair is two sequences)
    grad_accum: int = 1
    lr: float = 2e-5
    weight_decay: float = 0.0
    epochs: float = 1.0
    max_steps: int | None = None  # optimizer steps; overrides epochs (tests use a handful)
    warmup_ratio: float = 0.05
    margin: float = 0.0  # extra logit margin for "much better" labels
    center_coef: float = 0.0  # reward centering (Eisenstein et al. 2023): coef * (r_A + r_B)^2
    bf16: bool = True  # autocast in bf16 on CUDA; ignored on the CPU
    device: str = "auto"
    seed: int = 0

    def base_path(self) -> str:
        if self.base == SMOLLM2_ENCODER:
            raise ValueError(
                f"fine-tuning starts from a Hugging Face model folder; {SMOLLM2_ENCODER!r} (a "
                "quantised GGUF) is an encoder for head mode only"
            )
        return str(default_encoder_path()) if self.base == DEFAULT_ENCODER else self.base


@dataclass
class FeatureConfig:
    # log reply length beside the embedding. "Shorter reply wins" alone is right 55-57% of the time
    # on HH harmless, yet adding it moved the head by noise only there (5-fold CV, current head:
    # .611 with, .604 without, se about .01), so it stays off, as in the active-learning benchmark
    length: bool = False


@dataclass
class TrainConfig:
    mode: str = "head"  # "head" | "finetune"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    head_choice: HeadChoiceConfig = field(default_factory=HeadChoiceConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    sources: tuple[str, ...] = HUMAN_SOURCES  # whose labels train the model: people
    heldout_fraction: float = 0.2  # labeled pairs kept out of training, by a stable hash of the id
    min_heldout: int = 10  # below this many held-out pairs, metrics are not reported


def train_config(data: dict[str, Any]) -> TrainConfig:
    """The inverse of ``asdict(TrainConfig)``, for job parameters."""
    return TrainConfig(
        mode=data["mode"],
        encoder=EncoderConfig(**data["encoder"]),
        head=HeadConfig(**data["head"]),
        # versions trained before the head was chosen per project have no such entry
        head_choice=HeadChoiceConfig(**data.get("head_choice", {})),
        finetune=FinetuneConfig(**data["finetune"]),
        features=FeatureConfig(**data["features"]),
        sources=tuple(data["sources"]),
        heldout_fraction=data["heldout_fraction"],
        min_heldout=data["min_heldout"],
    )


def as_params(config: TrainConfig) -> dict[str, Any]:
    return asdict(config)


TRAIN_CONFIG_FILE = "train_config.json"  # beside every model version's weights


def write_version_config(folder: Path, config: TrainConfig) -> None:
    (folder / TRAIN_CONFIG_FILE).write_text(
        json.dumps(as_params(config), indent=2), encoding="utf-8"
    )


def read_version_config(folder: Path) -> TrainConfig:
    """How the model version in ``folder`` was trained."""
    path = folder / TRAIN_CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: {folder} was not written by a train job")
    return train_config(json.loads(path.read_text(encoding="utf-8")))
