"""Vectors for a simulation in this process, through the project's embedding cache.

The cache is the project's ``embeddings`` table (the one training jobs fill), so a text the app or
an earlier simulation embedded is never embedded again, whichever simulation asks.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import numpy as np
import pandas as pd

from annotate_app.reward.encoder import (
    Encoder,
    EncoderConfig,
    cached_vectors,
    embed_with_cache,
    text_key,
)


def embed_texts(
    store,
    config: EncoderConfig,
    texts: list[str],
    on_progress: Callable[[int, int], None] | None = None,
    encoder: Encoder | None = None,
) -> np.ndarray:
    """Vectors in the order of ``texts``; new ones are written to the project's cache. Pass an
    ``encoder`` (made from ``config``) to reuse a loaded model across calls."""
    cached = cached_vectors(store.cached_embeddings(config.cache_id, [text_key(t) for t in texts]))
    matrix, new = embed_with_cache(config, texts, cached, on_progress, encoder)
    if new:
        folder = store.paths.work_dir / "simulation"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".parquet", dir=folder)
        os.close(fd)
        try:
            pd.DataFrame(
                {"text_hash": list(new), "vector": [v.tolist() for v in new.values()]}
            ).to_parquet(name)
            store.insert_embeddings(config.cache_id, name)
        finally:
            os.unlink(name)
    return matrix
