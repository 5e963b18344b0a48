"""The choice scale: what an annotator presses (about the shown order) and what is stored (about the
pair's own A/B), with each choice's side and strength."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["a", "b"]


@dataclass(frozen=True)
class ScaleChoice:
    key: str  # the keyboard shortcut on the label page
    label: str  # about the shown order: "A" is the left response
    shown: int | None  # +2..-2 about the shown left (A) vs right (B); None for both bad
    both_bad: bool = False


# In the order the label page shows them.
SCALE: tuple[ScaleChoice, ...] = (
    ScaleChoice("1", "A much better", 2),
    ScaleChoice("2", "A better", 1),
    ScaleChoice("3", "Tie", 0),
    ScaleChoice("4", "B better", -1),
    ScaleChoice("5", "B much better", -2),
    ScaleChoice("6", "Both bad", None, both_bad=True),
)
CHOICE_VALUES: tuple[int, ...] = tuple(c.shown for c in SCALE if c.shown is not None)


def stored_choice(shown: int, left_side: Side) -> int:
    """Map a choice about the shown left/right order back to the pair's own A/B."""
    return shown if left_side == "a" else -shown
