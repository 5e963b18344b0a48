"""The reward arithmetic in plain torch: pooling token vectors and the Bradley-Terry ensemble head.

The app (``encoder.Encoder``, ``head.BTEnsemble``) and the exported Hugging Face model
(``hf_head_model``) both call these functions, so a reward is computed one way everywhere. This file
is copied into every exported head-mode folder: it imports nothing but torch.
"""

from __future__ import annotations

import torch


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mask-weighted mean of the token vectors, [N, T, d] -> [N, d]."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def last_token_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The vector of each row's last real token (a decoder's summary), whichever side is padded."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask.bool(), positions, -1).max(dim=1).values.clamp(min=0)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str, normalize: bool) -> torch.Tensor:
    """One vector per text: ``pooling`` is "mean" or "last"; ``normalize`` makes unit vectors."""
    if pooling == "mean":
        vectors = mean_pool(hidden, mask)
    elif pooling == "last":
        vectors = last_token_pool(hidden, mask)
    else:
        raise ValueError(f"unknown pooling {pooling!r}; use 'mean' or 'last'")
    return torch.nn.functional.normalize(vectors, dim=-1) if normalize else vectors


def member_rewards(
    x: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    linear: bool = False,
) -> torch.Tensor:
    """Each member's reward r_k(x) = w2_k . relu(W1_k z + b1_k), z = (x - mean) / std: [N, d] ->
    [K, N]. Shapes: w1 [K, d, h], b1 [K, 1, h], w2 [K, h]. ``linear`` drops the relu: a linear
    head (hidden 0) is stored as h = 1 with b1 = 0 and w2 = 1, so r_k(x) = W1_k . z."""
    k, d, h = w1.shape
    z = (x - mean) / std
    # one [N, d] x [d, K*h] product instead of K batched ones over a broadcast copy of z
    hidden = (z @ w1.permute(1, 0, 2).reshape(d, k * h)).view(-1, k, h) + b1.view(1, k, h)
    if not linear:
        hidden = torch.relu(hidden)
    return (hidden * w2.unsqueeze(0)).sum(-1).T
