"""Building pairs from responses: all combinations per prompt, or k sampled with a fixed seed."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class PairConfig:
    pairs_per_prompt: int | None = None  # None: every combination
    seed: int = 0


def pair_up(prompt_id: str, response_ids: list[str], config: PairConfig) -> list[tuple[str, str]]:
    """Each pair is returned in its stored orientation (sorted ids), so A/B never tracks input order.

    The sample depends only on the seed, the prompt and its responses, so re-running an import, or
    importing prompts in a different order, picks the same pairs.
    """
    unique = sorted(set(response_ids))
    combos = list(itertools.combinations(unique, 2))
    k = config.pairs_per_prompt
    if k is None or k >= len(combos):
        return combos
    rng = random.Random(f"{config.seed}:{prompt_id}")
    return sorted(rng.sample(combos, k))
