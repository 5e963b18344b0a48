"""Read-only insight from the label log: agreement, leaderboards, dashboard frames, figures."""
