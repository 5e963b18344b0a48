"""Who labels each pair, a human or the AI judge, within a human budget (issue 6)."""
