"""An adjudicated label settles its pair: where an admin's final label is in force, it is the pair's
only vote for the export, and the other votes stay in the log (and in every agreement figure)."""

from __future__ import annotations

import pandas as pd

from annotate_app.labels.sources import Source


def final_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """The votes an export decides from: on a pair with an adjudicated vote, only that vote.

    ``votes`` has ``pair_id`` and ``source``, one row per vote in force.
    """
    adjudicated = votes["source"] == Source.ADJUDICATED.value
    settled = votes["pair_id"].isin(votes.loc[adjudicated, "pair_id"])
    return votes[~settled | adjudicated]
