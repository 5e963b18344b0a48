"""Label-free features of a pair: what a router may look at before anyone has labeled it.

Every feature is defined for every pair. A missing source (no judge verdict yet, no reward scores,
no embeddings) gives a neutral value plus a ``has_*`` flag, so one feature matrix serves every
stage of a project.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from annotate_app.judge.tagging import TAG_OPTIONS

# HyPER's length bins, in characters: one indicator per bin above the first, for the prompt, each
# response and their absolute difference, so a linear router can weigh short and long separately.
LENGTH_EDGES = (200, 1000, 3000)
DIFF_EDGES = (50, 300, 1000)
LENGTH_BINS = tuple(
    f"{name}_bin{k}"
    for name in ("prompt_len", "len_a", "len_b", "len_diff")
    for k in range(1, len(LENGTH_EDGES) + 1)
)

# HyPER's LLM-tagged prompt metadata (judge/tagging.py), one-hot: a yes/no tag is one column, every
# other tag one column per option. All zero with has_llm_tags = 0 where the prompt is untagged.
LLM_TAG_FEATURES = tuple(
    f"llm_{field}" if options == ("yes", "no") else f"llm_{field}_{option}"
    for field, options in TAG_OPTIONS.items()
    for option in (options[:1] if options == ("yes", "no") else options)
)

FEATURE_NAMES = (
    "log_prompt_len",
    "log_len_a",
    "log_len_b",
    "log_len_total",
    "len_diff",
    *LENGTH_BINS,
    "jaccard",
    "emb_cosine",
    "has_embedding",
    "judge_p_a",
    "judge_confidence",
    "judge_consistent",
    "has_judge",
    "judge_picks_longer",
    "judges_agree",
    "has_second_judge",
    "rm_p_a",
    "rm_confidence",
    "rm_uncertainty",
    "acquisition",
    "has_rm",
    "tag_code",
    "tag_math",
    "tag_safety",
    "multi_turn",
    "has_llm_tags",
    *LLM_TAG_FEATURES,
)

_TOKEN = re.compile(r"\w+")
_CODE = re.compile(r"```|\bdef |\bclass |\bimport |#include|\bfunction\b|;\s*$|\{\s*$", re.M)
_MATH = re.compile(r"\d+\s*[-+*/^=]\s*\d+|\b(solve|equation|integral|derivative|calculate)\b", re.I)
_SAFETY = re.compile(
    r"\b(kill|murder|weapon|gun|bomb|drug|steal|hack|suicide|poison|illegal|racist|abuse|"
    r"attack|violence|explosive|rob|cheat|hurt)\w*",
    re.I,
)
# Keys the judge may use for the order-consistency flag and the two raw per-order probabilities.
_CONSISTENT_KEYS = ("consistent", "order_consistent", "consistency", "position_consistent")
_ORDER_KEYS = (
    ("p_ab", "p_ba"),
    ("p_a_ab", "p_a_ba"),
    ("p_first_ab", "p_first_ba"),
    ("raw_ab", "raw_ba"),
    ("p_ab_a", "p_ba_first"),
)


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def jaccard(a: str, b: str) -> float:
    ta, tb = _tokens(a), _tokens(b)
    union = ta | tb
    return len(ta & tb) / len(union) if union else 1.0


def judge_consistency(metadata: Any) -> float | None:
    """1.0 when the judge's two orders agreed, 0.0 when not, None when the verdict does not say.

    Takes the judge's own flag when present, else derives it from the raw per-order probabilities
    (order AB gives P(first = A wins), order BA gives P(first = B wins)).
    """
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    if not isinstance(metadata, dict):
        return None
    for key in _CONSISTENT_KEYS:
        if key in metadata and metadata[key] is not None:
            return float(bool(metadata[key]))
    nested = metadata.get("orders") or metadata.get("raw")
    if isinstance(nested, dict):
        return judge_consistency(nested)
    if isinstance(nested, list | tuple) and len(nested) == 2:
        p_ab, p_ba = nested
        return float((float(p_ab) > 0.5) == (float(p_ba) < 0.5))
    for ab, ba in _ORDER_KEYS:
        if metadata.get(ab) is not None and metadata.get(ba) is not None:
            return float((float(metadata[ab]) > 0.5) == (float(metadata[ba]) < 0.5))
    return None


def verdict_only(judge_p_a: np.ndarray) -> bool:
    """True when a judge gives verdicts without a probability (every p_a is 0, 0.5 or 1): its own
    confidence then says nothing, and P(judge right) has to come from other features."""
    p = np.asarray(judge_p_a, dtype=float)
    p = p[~np.isnan(p)]
    return bool(len(p)) and bool(np.isin(p, (0.0, 0.5, 1.0)).all())


def prompt_tags(prompt: str, text_a: str, text_b: str) -> dict[str, float]:
    body = f"{prompt}\n{text_a}\n{text_b}"
    return {
        "tag_code": float(bool(_CODE.search(body))),
        "tag_math": float(bool(_MATH.search(prompt))),
        "tag_safety": float(bool(_SAFETY.search(prompt))),
    }


def pair_features(
    pairs: pd.DataFrame,
    judge: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    embeddings: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    second_judge: pd.DataFrame | None = None,
    llm_tags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per pair, indexed by pair_id, with the columns in ``FEATURE_NAMES``.

    ``pairs``: pair_id, prompt, n_turns, text_a, text_b. ``judge``: pair_id, p_a and optional
    metadata or consistent. ``scores``: pair_id, p_a, uncertainty, acquisition, and optionally
    head_p_a, head_uncertainty (the head's own, which the rm_* features read). ``embeddings``:
    pair_id -> (vector of A, vector of B). ``second_judge``: another judge's verdicts (pair_id,
    p_a), read only for whether the two judges agree. ``llm_tags``: pair_id and the six tags of
    its prompt (``Store.pair_prompt_tags``).
    """
    idx = pd.Index(pairs["pair_id"], name="pair_id")
    out = pd.DataFrame(index=idx)
    len_p = pairs["prompt"].str.len().to_numpy(dtype=float)
    len_a = pairs["text_a"].str.len().to_numpy(dtype=float)
    len_b = pairs["text_b"].str.len().to_numpy(dtype=float)
    out["log_prompt_len"] = np.log1p(len_p)
    out["log_len_a"] = np.log1p(len_a)
    out["log_len_b"] = np.log1p(len_b)
    out["log_len_total"] = np.log1p(len_p + len_a + len_b)
    out["len_diff"] = np.abs(np.log1p(len_a) - np.log1p(len_b))
    for name, values, edges in (
        ("prompt_len", len_p, LENGTH_EDGES),
        ("len_a", len_a, LENGTH_EDGES),
        ("len_b", len_b, LENGTH_EDGES),
        ("len_diff", np.abs(len_a - len_b), DIFF_EDGES),
    ):
        bins = np.digitize(values, edges)
        for k in range(1, len(edges) + 1):
            out[f"{name}_bin{k}"] = (bins == k).astype(float)
    out["jaccard"] = [jaccard(a, b) for a, b in zip(pairs["text_a"], pairs["text_b"], strict=True)]
    cos = np.full(len(out), np.nan)
    if embeddings:
        for i, pid in enumerate(idx):
            if pid in embeddings:
                va, vb = embeddings[pid]
                denom = float(np.linalg.norm(va) * np.linalg.norm(vb)) or 1.0
                cos[i] = float(np.dot(va, vb)) / denom
    out["has_embedding"] = (~np.isnan(cos)).astype(float)
    out["emb_cosine"] = np.nan_to_num(cos, nan=0.0)

    j = _judge_columns(judge, idx)
    out["judge_p_a"] = j["p_a"].fillna(0.5)
    out["judge_confidence"] = (2 * (out["judge_p_a"] - 0.5)).abs()
    out["has_judge"] = j["p_a"].notna().astype(float)
    # Unknown consistency counts as consistent: absence of evidence is not an inconsistency.
    out["judge_consistent"] = j["consistent"].fillna(1.0)
    # Judges lean towards the longer answer more than people do: a verdict for the longer side.
    lean = np.sign(out["judge_p_a"].to_numpy() - 0.5)
    out["judge_picks_longer"] = (lean * np.sign(len_a - len_b) > 0).astype(float)
    other = _judge_columns(second_judge, idx)["p_a"]
    both = other.notna() & j["p_a"].notna()
    side = np.sign(other.fillna(0.5).to_numpy() - 0.5)
    out["judges_agree"] = np.where(both, (side == lean).astype(float), 0.5)
    out["has_second_judge"] = both.astype(float)

    s = (
        scores.drop_duplicates("pair_id", keep="last").set_index("pair_id").reindex(idx)
        if scores is not None and not scores.empty
        else pd.DataFrame(index=idx, columns=["p_a", "uncertainty", "acquisition"], dtype=float)
    )
    # The reward model as routing weighs it against a judge: the head's own score where the store
    # keeps one, since the app's p_a of a judged pair is already stacked with that judge's verdict
    own_p_a = s["head_p_a"] if "head_p_a" in s else s["p_a"]
    own_unc = s["head_uncertainty"] if "head_uncertainty" in s else s["uncertainty"]
    out["rm_p_a"] = own_p_a.astype(float).fillna(0.5)
    out["rm_confidence"] = (2 * (out["rm_p_a"] - 0.5)).abs()
    out["rm_uncertainty"] = own_unc.astype(float).fillna(0.0)
    out["acquisition"] = s["acquisition"].astype(float).fillna(0.0)
    out["has_rm"] = s["p_a"].notna().astype(float)

    tags = [
        prompt_tags(p, a, b)
        for p, a, b in zip(pairs["prompt"], pairs["text_a"], pairs["text_b"], strict=True)
    ]
    for key in ("tag_code", "tag_math", "tag_safety"):
        out[key] = [t[key] for t in tags]
    # A prompt with more than one user turn (turns alternate, so > 2 turns means > 1 user turn).
    out["multi_turn"] = (pairs["n_turns"].to_numpy() > 2).astype(float)
    out = out.join(llm_tag_features(llm_tags, idx))
    return out[list(FEATURE_NAMES)].astype(float)


def llm_tag_features(llm_tags: pd.DataFrame | None, idx: pd.Index) -> pd.DataFrame:
    """The ``has_llm_tags`` flag and the one-hot ``LLM_TAG_FEATURES`` per pair in ``idx``."""
    out = pd.DataFrame(0.0, index=idx, columns=["has_llm_tags", *LLM_TAG_FEATURES])
    if llm_tags is None or llm_tags.empty:
        return out
    tags = llm_tags.drop_duplicates("pair_id", keep="last").set_index("pair_id").reindex(idx)
    has = tags[list(TAG_OPTIONS)].notna().all(axis=1)
    out["has_llm_tags"] = has.astype(float)
    for field, options in TAG_OPTIONS.items():
        if options == ("yes", "no"):
            out[f"llm_{field}"] = (tags[field] == "yes").astype(float)
        else:
            for option in options:
                out[f"llm_{field}_{option}"] = (tags[field] == option).astype(float)
    out.loc[~has] = 0.0
    return out


def _judge_columns(judge: pd.DataFrame | None, idx: pd.Index) -> pd.DataFrame:
    if judge is None or judge.empty:
        return pd.DataFrame({"p_a": np.nan, "consistent": np.nan}, index=idx)
    frame = judge.drop_duplicates("pair_id", keep="last").set_index("pair_id")
    if "consistent" in frame:
        consistent = frame["consistent"].astype(float)
    elif "metadata" in frame:
        consistent = frame["metadata"].map(judge_consistency).astype(float)
    else:
        consistent = pd.Series(np.nan, index=frame.index)
    return pd.DataFrame({"p_a": frame["p_a"].astype(float), "consistent": consistent}).reindex(idx)
