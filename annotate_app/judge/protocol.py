"""What every judge promises: score ordered comparisons; ``judge_pairs`` adds both orders and debiasing.

A backend only ever sees one order at a time (first answer, second answer). Showing each pair both ways
and combining the two readings lives in one place, so a local model and a remote API are debiased by
the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

VERDICT_TOKENS = ("A", "B", "C")  # first better, second better, tie


@dataclass(frozen=True)
class PairText:
    """One comparison as the judge reads it, in the pair's stored A/B orientation."""

    pair_id: str
    turns: list[dict]
    text_a: str
    text_b: str


@dataclass(frozen=True)
class Comparison:
    """One order of a pair: ``first`` is shown as assistant A, ``second`` as assistant B."""

    turns: list[dict]
    first: str
    second: str


@dataclass
class RawVerdict:
    """A judge's reading of one order: probabilities of the three verdict tokens."""

    probs: dict[str, float]  # {"A": P(first better), "B": P(second better), "C": P(tie)}, sum 1
    method: str  # "logits" | "logprobs" | "text"
    rationale: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def p_first(self) -> float:
        """P(first answer better), a tie counting half for each side."""
        return self.probs["A"] + 0.5 * self.probs["C"]


@dataclass
class Verdict:
    """A debiased judgement of one pair (A/B in the pair's stored orientation)."""

    pair_id: str
    p_a: float  # debiased P(A better), in [0, 1]
    p_ab: float  # P(first better) with A shown first
    p_ba: float  # P(first better) with B shown first
    consistent: bool  # both orders prefer the same response (or both call it even)
    rationale: str | None = None
    latency_s: float = 0.0
    tokens: int = 0
    cost: float | None = None
    details: dict = field(default_factory=dict)


class JudgeUnavailable(RuntimeError):
    """The judge cannot run at all (unreachable endpoint, missing model): the job must fail."""


class Judge(Protocol):
    judge_id: str
    model: str

    def score(self, comparisons: list[Comparison]) -> list[RawVerdict | None]:
        """One reading per comparison, in order; None where the judge gave no usable verdict."""
        ...
