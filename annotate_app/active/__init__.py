"""Active learning: which open pairs are most worth a label next."""
