"""AI judges: turn pairs into order-debiased verdicts. Model code (torch) loads only in workers."""
