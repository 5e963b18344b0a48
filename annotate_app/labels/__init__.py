"""What a label means: who gave it, the choice scale, and the outcome of a pair from its votes.

Every page, command, export, simulation and SQL view that needs "who won this pair" uses this rule;
the SQL form is the ``pair_outcomes`` view (``store/migrations/0009_pair_outcomes.sql``), and a test
holds the two to the same answers.

The rule
--------
- **A vote** is a label in force (the latest label of one annotator of one source on one pair that no
  undo took back). Its choice is about the pair's own A/B: +2 A much better, +1 A better, 0 tie,
  -1 B better, -2 B much better; or ``both_bad`` (no choice).
- **Side of a vote:** 'a' when the choice is above 0, 'b' below 0, 'tie' at 0, 'both_bad' for a
  both-bad vote. **Strength of a vote:** |choice| (0 tie, 1 better, 2 much better).
- **Outcome of a pair** (default, ``mean``): both-bad votes take no side and are left out; the outcome
  is the sign of the mean choice of the other votes: 'a' above 0, 'b' below 0, 'tie' at exactly 0.
  A pair whose every vote is both-bad is 'both_bad'. **Strength of a pair:** |mean choice| (0..2).
- ``majority`` (an export option): the side with strictly more votes than each other side among
  a/b/tie, else 'tie'; both-bad as above. Its strength is still |mean choice|.
- **The tie rule, once:** a tie is not a decision. Figures that need a side (gold accuracy, judge
  agreement, calibration, routing's training pairs, the preference export) leave tie and both-bad
  pairs out; a voter's tie or both-bad on a decided pair counts as a miss; a soft training target
  counts a tie as 0.5 (``target``: 1 A, 0 B, 0.5 tie, NaN both-bad).
- **Whose votes:** the outcome is taken over one group of voters at a time: one source, or the
  people (``HUMAN_SOURCES``: annotators here, imported labels and adjudications), who are the
  reference that judges and the reward model are measured against. Gold is the outcome of the
  imported votes alone. For the export, an adjudicated vote settles its pair: it is the pair's only
  vote there (``adjudication.final_votes``); every agreement figure still sees all votes.
"""
