"""Position debiasing: every pair is judged A-first and B-first, and the two readings are averaged.

Small judges favour one position; averaging ``P_AB(A)`` with ``1 - P_BA(first)`` cancels a constant
position bias, and the consistency flag marks pairs where the bias (or noise) flipped the verdict.
"""

from __future__ import annotations

from annotate_app.judge.protocol import Comparison, Judge, PairText, RawVerdict, Verdict


def debiased_p_a(p_ab: float, p_ba: float) -> float:
    """p_a = ½[P_AB(A) + 1 − P_BA(first)]; ``p_ba`` is P(first) when B is shown first."""
    return 0.5 * (p_ab + 1.0 - p_ba)


def consistent(p_ab: float, p_ba: float) -> bool:
    """Both orders pick the same response, or both sit exactly on the fence."""
    lean_ab = (p_ab > 0.5) - (p_ab < 0.5)  # +1: A preferred with A first
    lean_ba = (p_ba < 0.5) - (p_ba > 0.5)  # +1: A preferred with B first
    return lean_ab == lean_ba


def choice_from_p_a(p_a: float) -> int:
    """The label scale's choice for a verdict: ±2 only when the judge is nearly certain."""
    if p_a >= 0.9:
        return 2
    if p_a <= 0.1:
        return -2
    return (p_a > 0.5) - (p_a < 0.5)


def combine(pair_id: str, ab: RawVerdict, ba: RawVerdict) -> Verdict:
    p_ab, p_ba = ab.p_first, ba.p_first
    rationale = "\n".join(
        f"[{order}] {r.rationale}" for order, r in (("AB", ab), ("BA", ba)) if r.rationale
    )
    return Verdict(
        pair_id=pair_id,
        p_a=min(1.0, max(0.0, debiased_p_a(p_ab, p_ba))),
        p_ab=p_ab,
        p_ba=p_ba,
        consistent=consistent(p_ab, p_ba),
        rationale=rationale or None,
        latency_s=ab.latency_s + ba.latency_s,
        tokens=ab.prompt_tokens + ab.completion_tokens + ba.prompt_tokens + ba.completion_tokens,
        details={"probs_ab": ab.probs, "probs_ba": ba.probs, "method": ab.method},
    )


def judge_pairs(judge: Judge, pairs: list[PairText]) -> list[Verdict | None]:
    """Both orders of every pair in one call; a pair with an unusable reading gets None."""
    comparisons: list[Comparison] = []
    for p in pairs:
        comparisons.append(Comparison(p.turns, p.text_a, p.text_b))
        comparisons.append(Comparison(p.turns, p.text_b, p.text_a))
    raw = judge.score(comparisons)
    out: list[Verdict | None] = []
    for i, p in enumerate(pairs):
        ab, ba = raw[2 * i], raw[2 * i + 1]
        out.append(None if ab is None or ba is None else combine(p.pair_id, ab, ba))
    return out
