"""The Bradley-Terry loss shared by the ensemble head and the fine-tune trainer."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bt_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    margin: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean negative log-likelihood of P(A>B) = sigmoid(r_A - r_B).

    ``target`` is P(A better): 1 or 0 for a win, 0.5 for a tie (half a win each way). A ``margin``
    (Llama 2 style) asks the winner to lead by that much more: the logit is moved against the winner
    before the loss, so "much better" labels pull the rewards further apart. Ties get no margin.
    ``weights`` (same shape as ``logits``, or broadcastable) weight each term, e.g. bootstrap counts.
    """
    if margin is not None:
        sign = torch.where(target > 0.5, 1.0, torch.where(target < 0.5, -1.0, 0.0))
        logits = logits - sign * margin
    per_item = F.binary_cross_entropy_with_logits(
        logits, target.expand_as(logits), reduction="none"
    )
    if weights is None:
        return per_item.mean()
    weights = weights.expand_as(per_item)
    return (per_item * weights).sum() / weights.sum().clamp(min=1e-12)
