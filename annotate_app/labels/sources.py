"""Who gave a label: the sources a label event can carry, and which of them are people."""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    HUMAN = "human"  # an annotator on the label page
    AI = "ai"  # an AI judge's verdict
    IMPORT = "import"  # a label that came with an imported file (gold)
    ADJUDICATED = "adjudicated"  # an admin's final label on a disputed pair


SOURCES: tuple[str, ...] = tuple(s.value for s in Source)

# People: the reference every judge, gold check and reward model is measured against.
HUMAN_SOURCES: tuple[str, ...] = (Source.HUMAN.value, Source.IMPORT.value, Source.ADJUDICATED.value)

# The name of the pooled people group in the ``pair_outcomes`` view's ``voters`` column.
PEOPLE = "people"
