"""The reward model: encoder with an embedding cache, a Bradley-Terry ensemble head on frozen
embeddings, an end-to-end fine-tune mode, and the metrics every model version is judged by."""
