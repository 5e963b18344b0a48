"""The reward model: encoder with an embedding cache, a Bradley-Terry ensemble head on frozen
embeddings, an end-to-end fine-tune mode, the metrics every model version is judged by, and each
version as a Hugging Face folder that ``AutoModelForSequenceClassification`` opens."""
