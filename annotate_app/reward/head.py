"""Bradley-Terry ensemble head: K small MLP reward functions on frozen embeddings.

Each member is trained on its own bootstrap resample (as per-pair resample counts), so members
disagree where the labels leave the reward underdetermined; that disagreement is the epistemic
uncertainty that active learning spends labels on. All K members are one batched tensor program,
which makes training K members about as fast as training one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from annotate_app.reward.config import HeadConfig
from annotate_app.reward.ensemble_math import member_rewards
from annotate_app.reward.loss import bt_loss


@contextmanager
def one_thread() -> Iterator[None]:
    """These matrices are small: on a busy machine, OpenMP threads spinning against each other
    made training ten times slower, not faster (measured on 2 shared cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class BTEnsemble:
    """Rewards r_k(x) = w2_k . relu(W1_k x + b1_k); p_k(A>B) = sigmoid(r_k(a) - r_k(b)).
    With ``hidden`` 0 each member is linear, r_k(x) = W1_k . x (only W1 is trained)."""

    def __init__(self, config: HeadConfig, dim: int) -> None:
        if config.hidden < 0:
            raise ValueError(f"head hidden must be 0 (linear) or more, not {config.hidden}")
        self.config = config
        self.dim = dim
        self.linear = config.hidden == 0
        gen = torch.Generator().manual_seed(config.seed)
        k, h = config.members, max(config.hidden, 1)
        self.w1 = torch.randn(k, dim, h, generator=gen) * (1.0 / dim**0.5)
        self.b1 = torch.zeros(k, 1, h)
        if self.linear:
            self.w1 *= 0.0  # a linear reward starts at 0: every pair at p = 0.5
            self.w2 = torch.ones(k, h)
        else:
            self.w2 = torch.randn(k, h, generator=gen) * (1.0 / h**0.5)
        self.mean = torch.zeros(dim)
        self.std = torch.ones(dim)
        self.train_seconds = 0.0

    def params(self) -> list[torch.Tensor]:
        return [self.w1] if self.linear else [self.w1, self.b1, self.w2]

    def _rewards(self, x: torch.Tensor) -> torch.Tensor:
        """[N, d] -> [K, N]."""
        return member_rewards(x, self.mean, self.std, self.w1, self.b1, self.w2, self.linear)

    def fit(self, *args, **kwargs) -> BTEnsemble:
        """Train every member at once (see ``_fit``)."""
        with one_thread():
            return self._fit(*args, **kwargs)

    def _fit(
        self,
        feats_a: np.ndarray,
        feats_b: np.ndarray,
        target: np.ndarray,
        strength: np.ndarray | None = None,
    ) -> BTEnsemble:
        """target: P(A better) per pair (1, 0, or 0.5 for a tie); strength: 2 = "much better"."""
        start = time.perf_counter()
        cfg = self.config
        a = torch.as_tensor(np.asarray(feats_a, dtype=np.float32))
        b = torch.as_tensor(np.asarray(feats_b, dtype=np.float32))
        y = torch.as_tensor(np.asarray(target, dtype=np.float32))
        s = torch.as_tensor(
            np.ones(len(y), np.float32) if strength is None else np.asarray(strength, np.float32)
        )
        keep = torch.ones(len(y), dtype=torch.bool)
        if cfg.ties == "drop":
            keep = y != 0.5
        a, b, y, s = a[keep], b[keep], y[keep], s[keep]
        n = len(y)
        if n == 0:
            raise ValueError("no labeled pairs to train on (ties dropped, or no labels yet)")
        both = torch.cat([a, b])
        self.mean = both.mean(0)
        self.std = both.std(0).clamp(min=1e-4) if len(both) > 1 else torch.ones(self.dim)
        margin = torch.where(s >= 2, torch.tensor(cfg.margin), torch.tensor(0.0))
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        k = cfg.members
        if cfg.bootstrap:
            draws = torch.randint(0, n, (k, n), generator=gen)
            weights = torch.zeros(k, n).scatter_add_(1, draws, torch.ones(k, n))
        else:
            weights = torch.ones(k, n)
        for p in self.params():
            p.requires_grad_(True)
        opt = torch.optim.AdamW(self.params(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        bs = min(cfg.batch_size, n)
        steps_per_epoch = -(-n // bs)
        steps = max(cfg.min_steps, min(cfg.max_steps, cfg.epochs * steps_per_epoch))
        for _ in range(steps):
            idx = torch.randint(0, n, (bs,), generator=gen) if bs < n else torch.arange(n)
            r = self._rewards(torch.cat([a[idx], b[idx]]))
            logits = r[:, : len(idx)] - r[:, len(idx) :]
            loss = bt_loss(logits, y[idx], margin[idx], weights[:, idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for p in self.params():
            p.requires_grad_(False)
        self.train_seconds = time.perf_counter() - start
        return self

    def fold_logit_scale(self, scale: float) -> BTEnsemble:
        """Multiply every member's reward, hence each member's logit r(a) - r(b), by ``scale`` (the
        head choice's calibration) through its last layer: w2 of an MLP, W1 of a linear member
        (whose w2 stays 1). The saved weights then carry it, so whatever reads them (the app's
        scores, held-out metrics, `auto`'s look-back, the exported model) gets the same
        probabilities, and a version saved without a scale is simply one with scale 1."""
        if not scale > 0:
            raise ValueError(f"a logit scale must be positive (it keeps the order), not {scale}")
        if self.linear:
            self.w1 = self.w1 * float(scale)
        else:
            self.w2 = self.w2 * float(scale)
        return self

    @torch.no_grad()
    def rewards(self, feats: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """Member rewards, [K, N], in chunks so 100k pairs never build a huge hidden tensor."""
        x = torch.as_tensor(np.asarray(feats, dtype=np.float32))
        with one_thread():
            parts = [self._rewards(x[s : s + chunk]) for s in range(0, len(x), chunk)]
        return torch.cat(parts, dim=1).numpy() if parts else np.zeros((self.w1.shape[0], 0))

    def member_probs(self, feats_a: np.ndarray, feats_b: np.ndarray) -> np.ndarray:
        """p_k(A>B) for every member, [K, N]."""
        diff = self.rewards(feats_a) - self.rewards(feats_b)
        return 1.0 / (1.0 + np.exp(-diff))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        state = {"w1": self.w1, "b1": self.b1, "w2": self.w2, "mean": self.mean, "std": self.std}
        torch.save(state, folder / "head.pt")
        (folder / "head_config.json").write_text(
            json.dumps({"dim": self.dim, "head": asdict(self.config)}, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> BTEnsemble:
        spec = json.loads((folder / "head_config.json").read_text(encoding="utf-8"))
        model = cls(HeadConfig(**spec["head"]), int(spec["dim"]))  # sets ``linear`` from hidden
        state = torch.load(folder / "head.pt", weights_only=True)
        for name, value in state.items():
            setattr(model, name, value)
        return model


def summarize(member_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble p(A>B) (member mean) and epistemic uncertainty (member standard deviation)."""
    return member_probs.mean(0), member_probs.std(0)
