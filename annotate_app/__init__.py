"""annotate-app: human-in-the-loop preference collection."""

__version__ = "0.1.0"
