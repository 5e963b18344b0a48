"""``simulated:ACC``: a SYNTHETIC judge with a planted weakness, for testing routers.

It is right with probability ``ACC`` on average over the pool it is given, but much less often on
long or multi-turn pairs and more often on the rest, so a router has a real pattern to find. Its
confidence is informative but noisy, and it contradicts itself across orders more often when it is
wrong. Every verdict is a pure function of (judge id, pair id, the pair's true label), so a rerun
gives the same verdicts. It is not a language model and its figures are not a judge's figures:
every output that uses it says "synthetic".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate_app import ids
from annotate_app.judge.debias import consistent as orders_agree
from annotate_app.judge.debias import debiased_p_a

PREFIX = "simulated:"


@dataclass
class SyntheticJudgeConfig:
    accuracy: float = 0.7
    gap: float = 0.3  # accuracy on easy pairs minus accuracy on weak (long or multi-turn) pairs
    long_chars: int = 1500  # prompt + both responses longer than this: a weak pair


def parse_spec(spec: str) -> SyntheticJudgeConfig | None:
    """``simulated:0.7`` -> config; None for any other judge spec."""
    if not spec.startswith(PREFIX):
        return None
    try:
        acc = float(spec[len(PREFIX) :])
    except ValueError as exc:
        raise ValueError(
            f"judge spec {spec!r}: expected simulated:ACC with ACC in (0.5, 1)"
        ) from exc
    if not 0.5 < acc < 1:
        raise ValueError(f"judge spec {spec!r}: ACC must be in (0.5, 1)")
    return SyntheticJudgeConfig(accuracy=acc)


def judge_name(config: SyntheticJudgeConfig) -> str:
    return f"simulated:{config.accuracy:g} (synthetic, gap {config.gap:g})"


def weak_pairs(frame: pd.DataFrame, config: SyntheticJudgeConfig) -> np.ndarray:
    total = frame["prompt"].str.len() + frame["text_a"].str.len() + frame["text_b"].str.len()
    return (total.to_numpy() > config.long_chars) | (frame["n_turns"].to_numpy() > 2)


def _uniforms(judge_id: str, pair_id: str) -> np.ndarray:
    seed = int(ids.digest(judge_id, pair_id)[:16], 16)
    return np.random.default_rng(seed).random(4)


def synthetic_verdicts(frame: pd.DataFrame, config: SyntheticJudgeConfig) -> pd.DataFrame:
    """Verdicts for ``frame`` (pair_id, prompt, n_turns, text_a, text_b, human): pair_id, p_a, p_ab,
    p_ba, consistent. ``human`` (1 when A won) is what the synthetic judge gets right or wrong."""
    weak = weak_pairs(frame, config)
    share = float(weak.mean()) if len(weak) else 0.0
    acc_weak = config.accuracy - config.gap * (1 - share)
    acc_easy = config.accuracy + config.gap * share
    judge_id = judge_name(config)
    rows = []
    for pid, truth, is_weak in zip(frame["pair_id"], frame["human"], weak, strict=True):
        u = _uniforms(judge_id, pid)
        right = u[0] < (acc_weak if is_weak else acc_easy)
        # Confidence leans high when right and low when wrong: informative, not a give-away.
        conf = u[1] ** 0.6 if right else u[1] ** 1.6
        pick_a = bool(truth) == right
        p_a = 0.5 + (0.45 * conf if pick_a else -0.45 * conf)
        flip = u[2] < (0.1 if right else 0.4)
        if flip:
            # Position bias large enough that both orders prefer whichever answer is shown first.
            p_a = 0.5 + 0.3 * (p_a - 0.5)
            bias = 0.25 + 0.1 * u[3]
        else:
            bias = 0.05 * (u[3] - 0.5)
        p_ab = float(np.clip(p_a + bias, 0.0, 1.0))
        p_ba = float(np.clip(1.0 - p_a + bias, 0.0, 1.0))
        rows.append(
            {
                "pair_id": pid,
                "p_a": debiased_p_a(p_ab, p_ba),
                "p_ab": p_ab,
                "p_ba": p_ba,
                "consistent": orders_agree(p_ab, p_ba),
            }
        )
    return pd.DataFrame(rows, columns=["pair_id", "p_a", "p_ab", "p_ba", "consistent"])
