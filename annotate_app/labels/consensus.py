"""Consensus: one decision per pair from many votes, with how far the votes agree with it.

``mean`` and ``majority`` are the outcome rule of ``annotate_app.labels`` (``outcome.pair_outcomes``);
``bt`` adds a decision that is consistent across the responses of a prompt. Each vote's support for A
is 1 (A wins), 0 (B wins) or 0.5 (tie); a judge vote with a debiased p_a supports A by p_a. Both-bad
votes support neither side.

- ``mean``: the sign of the mean 5-point choice.
- ``majority``: the side with strictly more votes than each other one, else a tie.
- ``bt``: Bradley-Terry strengths of the responses, fitted on every vote of every pair with a
  Gaussian prior worth about one battle, decide each pair. Responses of one prompt then form one
  ranking, so the exported preferences never contain a cycle (A>B, B>C, C>A).

``agreement`` is the share of votes whose outcome matches the decision; ``confidence`` is the
probability the decision gives the chosen response: mean support for mean/majority, and the fitted
win probability for bt.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from scipy.special import expit

from annotate_app.labels.outcome import pair_outcomes, vote_outcomes

AGGREGATIONS = ("mean", "majority", "bt")
BT_PRIOR = 1.0  # precision of the N(0, 1/prior) prior on each response's strength


def vote_support(votes: pd.DataFrame) -> pd.Series:
    """Support for A of every vote; NaN for both-bad votes."""
    choice = votes["choice"].astype("float64")
    support = np.sign(choice).map({1.0: 1.0, -1.0: 0.0, 0.0: 0.5})
    if "p_a" in votes:
        judged = (votes["source"] == "ai") & votes["p_a"].notna()
        support = support.where(~judged, votes["p_a"].astype("float64"))
    both_bad = votes["both_bad"].fillna(False).astype(bool)
    return support.where(~both_bad)


def pair_consensus(votes: pd.DataFrame, method: str = "mean") -> pd.DataFrame:
    """Per pair: outcome ('a', 'b', 'tie', 'both_bad'), votes, agreement, confidence, margin.

    ``votes`` needs pair_id, annotator, source, choice, both_bad, and for ``bt`` also response_a
    and response_b; p_a is used where present.
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}; use one of {', '.join(AGGREGATIONS)}")
    cols = ["pair_id", "outcome", "n_labels", "n_both_bad", "agreement", "confidence", "margin"]
    if votes.empty:
        return pd.DataFrame(columns=[*cols, "sources", "annotators"])
    votes = votes.assign(support=vote_support(votes), vote=vote_outcomes(votes))
    grouped = votes.groupby("pair_id", sort=True)
    out = pd.DataFrame(
        {
            "n_labels": grouped.size(),
            "n_both_bad": grouped["both_bad"].sum().astype(int),
            "mean_choice": grouped["choice"].mean(),
            "mean_support": grouped["support"].mean(),
            "sources": grouped["source"].agg(lambda s: sorted(set(s))),
            "annotators": grouped["annotator"].agg(lambda s: sorted(set(s))),
        }
    )
    if method in ("mean", "majority"):
        rule = pair_outcomes(votes, method).set_index("pair_id")
        out["outcome"] = rule["outcome"].reindex(out.index)
        out["confidence"] = _oriented(out["mean_support"], out["outcome"])
    else:
        win_prob = _bt_pair_probs(votes)
        out["outcome"] = np.where(win_prob > 0.5, "a", np.where(win_prob < 0.5, "b", "tie"))
        out["confidence"] = np.maximum(win_prob, 1 - win_prob)
    all_bad = out["n_both_bad"] == out["n_labels"]
    out.loc[all_bad, ["outcome", "confidence"]] = ["both_bad", np.nan]
    agrees = votes["vote"].to_numpy() == out["outcome"].reindex(votes["pair_id"]).to_numpy()
    decided_votes = votes["vote"] != "both_bad"
    out["agreement"] = (
        pd.Series(agrees, index=votes.index)[decided_votes].groupby(votes["pair_id"]).mean()
    )
    out["margin"] = out["mean_choice"].abs()
    return out.reset_index()[[*cols, "sources", "annotators"]]


def _oriented(mean_support: pd.Series, outcome: pd.Series) -> pd.Series:
    """Mean support for the side the decision chose (for a tie: how close to even it is)."""
    return pd.Series(
        np.select(
            [outcome == "a", outcome == "b"],
            [mean_support, 1 - mean_support],
            default=1 - (mean_support - 0.5).abs(),
        ),
        index=outcome.index,
    )


def _bt_pair_probs(votes: pd.DataFrame) -> pd.Series:
    """P(A beats B) per pair from one Bradley-Terry fit over all responses (sparse Newton)."""
    usable = votes[votes["support"].notna()]
    responses = pd.Index(pd.unique(pd.concat([votes["response_a"], votes["response_b"]])))
    n = len(responses)
    cells = usable.groupby(["response_a", "response_b"])["support"].agg(["sum", "size"])
    i = responses.get_indexer(cells.index.get_level_values(0))
    j = responses.get_indexer(cells.index.get_level_values(1))
    wins_a = cells["sum"].to_numpy()
    total = cells["size"].to_numpy(dtype=float)
    rows = np.arange(len(i))
    incidence = sp.csr_matrix(
        (np.r_[np.ones(len(i)), -np.ones(len(j))], (np.r_[rows, rows], np.r_[i, j])),
        shape=(len(i), n),
    )
    theta = np.zeros(n)
    for _ in range(50):
        s = expit(incidence @ theta)
        grad = BT_PRIOR * theta - incidence.T @ (wins_a - total * s)
        hess = incidence.T @ sp.diags(total * s * (1 - s)) @ incidence + BT_PRIOR * sp.identity(n)
        step = spsolve(hess.tocsc(), grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    pairs = votes.drop_duplicates("pair_id").set_index("pair_id").sort_index()
    diff = (
        theta[responses.get_indexer(pairs["response_a"])]
        - theta[responses.get_indexer(pairs["response_b"])]
    )
    return pd.Series(expit(diff), index=pairs.index).round(12)
