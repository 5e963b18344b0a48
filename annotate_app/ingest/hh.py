"""Anthropic HH dialogues: split a chosen/rejected pair into the shared turns and two final replies.

Replies sometimes contain the ``\\n\\nAssistant:`` marker themselves, so the split point is the last
Assistant marker that both dialogues share at the same offset, not simply the last one in each.
"""

from __future__ import annotations

import re

HUMAN, ASSISTANT = "\n\nHuman:", "\n\nAssistant:"
_TURN_RE = re.compile(r"\n\n(Human|Assistant):")


class HHParseError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def parse_turns(dialogue: str, field: str) -> list[dict]:
    if not dialogue.startswith(HUMAN):
        raise HHParseError(field, "expected a dialogue starting with '\\n\\nHuman:'")
    parts = _TURN_RE.split(dialogue)
    turns = []
    for speaker, content in zip(parts[1::2], parts[2::2], strict=True):
        role = "user" if speaker == "Human" else "assistant"
        turns.append({"role": role, "content": content.strip()})
    return turns


def split_hh_pair(chosen: str, rejected: str) -> tuple[list[dict], str, str]:
    limit = 0
    while limit < min(len(chosen), len(rejected)) and chosen[limit] == rejected[limit]:
        limit += 1
    cut = -1
    pos = chosen.find(ASSISTANT)
    while 0 <= pos <= limit:
        if rejected.startswith(ASSISTANT, pos):
            cut = pos
        pos = chosen.find(ASSISTANT, pos + 1)
    if cut < 0:
        raise HHParseError(
            "rejected", "chosen and rejected share no turns before a final Assistant reply"
        )
    turns = parse_turns(chosen[:cut], "chosen")
    if not turns or turns[-1]["role"] != "user":
        raise HHParseError("chosen", "the shared conversation must end with a Human turn")
    # An empty final reply is real HH data (the assistant said nothing), so it is kept as a response.
    reply_c = chosen[cut + len(ASSISTANT) :].strip()
    reply_r = rejected[cut + len(ASSISTANT) :].strip()
    return turns, reply_c, reply_r
