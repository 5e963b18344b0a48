"""The input shapes, each turned into one normalised ``ParsedRow`` or a ``RowError``.

- ``pairs``: prompt, response_a, response_b (+ model_a, model_b)
- ``chosen-rejected``: prompt, chosen, rejected (+ model_chosen, model_rejected), as TRL/DPO sets;
  also TRL's implicit-prompt conversational shape (no prompt column; chosen and rejected are whole
  message lists), whose shared message prefix is split off as the prompt, as TRL's
  ``maybe_extract_prompt`` does
- ``hh``: chosen and rejected whole ``\\n\\nHuman: ... \\n\\nAssistant: ...`` dialogues
- ``multi-response``: one row per (prompt, response, model); pairs are built per prompt later
- ``verdicts``: a judge's recorded verdicts on pairs (read and imported by ``ingest/verdicts.py``)

Two rules hold for every shape:

- A response that ``is_blank`` is not an error but cannot be compared: the row is dropped, and the
  import report counts it (the export leaves such pairs out by the same test).
- Consecutive turns of one role (two user turns in a row) are merged into one turn, their texts
  joined by a blank line, so every alternating-roles chat template takes the conversation; the
  import report counts the rows that had such runs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from annotate_app.accounts import names
from annotate_app.ingest.errors import RowError
from annotate_app.ingest.hh import HHParseError, split_hh_pair

FORMATS = ("pairs", "chosen-rejected", "hh", "multi-response", "verdicts")
ROLES = ("system", "user", "assistant")
_PROMPT_KEYS = ("prompt", "instruction")
_RESPONSE_KEYS = ("response", "output")
_MODEL_KEYS = ("model", "generator")


@dataclass
class ParsedRow:
    turns: list[dict]
    responses: list[tuple[str, str | None]]  # (text, model); with a label, the first one won
    labeled: bool = False
    category: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    merged_runs: int = 0  # turns merged into the turn before (same role twice in a row)

    @property
    def has_blank_response(self) -> bool:
        return any(is_blank(text) for text, _ in self.responses)


def is_blank(text: object) -> bool:
    """A response with nothing a reader could compare: no text, or only whitespace and invisible
    format characters (zero-width spaces, bidi marks). Import drops such responses and export leaves
    out pairs that hold one; both say how many."""
    if not isinstance(text, str):
        return True
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


class _Invalid(Exception):
    def __init__(self, field_name: str | None, problem: str) -> None:
        self.field_name = field_name
        self.problem = problem


def detect_format(row: dict) -> str | None:
    from annotate_app.ingest.verdicts import is_verdict_row

    keys = set(row)
    if is_verdict_row(row):
        return "verdicts"
    if {"response_a", "response_b"} <= keys:
        return "pairs"
    if {"chosen", "rejected"} <= keys:
        implicit = isinstance(row["chosen"], list) and isinstance(row["rejected"], list)
        return "chosen-rejected" if "prompt" in keys or implicit else "hh"
    if keys & set(_PROMPT_KEYS) and keys & set(_RESPONSE_KEYS):
        return "multi-response"
    return None


def _unicode(key: str, value: str) -> str:
    """JSON can spell a lone surrogate (``"\\ud800"``); no database can store one."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start].encode("unicode_escape").decode()
        raise _Invalid(key, f"unpaired surrogate {bad} at character {exc.start}") from None
    return value


def _text(row: dict, key: str) -> str:
    if key not in row or row[key] is None:
        raise _Invalid(key, "missing (expected a non-empty string)")
    value = row[key]
    if not isinstance(value, str):
        raise _Invalid(key, f"expected a non-empty string, got {type(value).__name__}")
    if is_blank(value):  # white space and zero-width characters alone count as empty
        raise _Invalid(key, "empty (expected a non-empty string)")
    return _unicode(key, value)


def _response_text(row: dict, key: str) -> str:
    """A response: a string, which may be blank (the importer drops and counts those rows)."""
    value = row.get(key)
    if value is None:
        raise _Invalid(key, "missing (expected a string)")
    if not isinstance(value, str):
        raise _Invalid(key, f"expected a non-empty string, got {type(value).__name__}")
    return _unicode(key, value)


def merge_role_runs(turns: list[dict]) -> tuple[list[dict], int]:
    """Turns with each run of one role merged into one turn; and how many turns were merged."""
    merged: list[dict] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1] = {**merged[-1], "content": merged[-1]["content"] + "\n\n" + turn["content"]}
        else:
            merged.append(dict(turn))
    return merged, len(turns) - len(merged)


def _optional_text(row: dict, *keys: str) -> str | None:
    """A short label (model name, category): stored as given, but it follows the name rules of
    ``accounts.names`` (no control or invisible characters); ``names.normalise`` gives the
    displayed form."""
    for key in keys:
        value = row.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int | float):
            raise _Invalid(key, f"expected a string, got {type(value).__name__}")
        try:
            names.check_characters(str(value), "a model name or category")
        except names.BadName as exc:
            raise _Invalid(key, str(exc)) from None
        return _unicode(key, str(value))
    return None


def _messages(value: list, key: str, blank_last: bool = False) -> list[dict]:
    """Chat messages; ``blank_last``: the last one is a reply and may be blank."""
    turns = []
    for i, msg in enumerate(value):
        if not isinstance(msg, dict):
            raise _Invalid(f"{key}[{i}]", f"expected a message object, got {type(msg).__name__}")
        role, content = msg.get("role"), msg.get("content")
        if role not in ROLES:
            raise _Invalid(f"{key}[{i}].role", f"expected one of {', '.join(ROLES)}, got {role!r}")
        reply = blank_last and i == len(value) - 1
        if not isinstance(content, str) or (not reply and not content.strip()):
            raise _Invalid(f"{key}[{i}].content", "expected a non-empty string")
        turns.append({"role": role, "content": _unicode(f"{key}[{i}].content", content)})
    if not turns:
        raise _Invalid(key, "empty message list")
    return turns


def _prompt_turns(row: dict, *keys: str) -> list[dict]:
    """A prompt is a string (one user turn) or a chat message list ending with a user turn."""
    key = next((k for k in keys if row.get(k) is not None), keys[0])
    value = row.get(key)
    if isinstance(value, list):
        turns = _messages(value, key)
        if turns[-1]["role"] != "user":
            raise _Invalid(key, "a conversation prompt must end with a user turn")
        return turns
    return [{"role": "user", "content": _text(row, key)}]


def _reply(row: dict, key: str) -> str:
    """A reply is a string, or (TRL conversational style) a message list whose last turn answers."""
    value = row.get(key)
    if isinstance(value, list):
        turns = _messages(value, key, blank_last=True)
        if turns[-1]["role"] != "assistant":
            raise _Invalid(key, "a conversational reply must end with an assistant turn")
        return turns[-1]["content"]
    return _response_text(row, key)


def _implicit_prompt(row: dict) -> tuple[list[dict], str, str]:
    """TRL's implicit-prompt shape: chosen and rejected are whole conversations. The longest shared
    message prefix is the prompt (as ``trl.data_utils.maybe_extract_prompt`` splits it); what
    follows on each side must be one assistant reply."""
    chosen = _messages(row["chosen"], "chosen", blank_last=True)
    rejected = _messages(row["rejected"], "rejected", blank_last=True)
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    prompt = chosen[:shared]
    if not prompt or prompt[-1]["role"] != "user":
        raise _Invalid("chosen", "the shared message prefix (the prompt) must end with a user turn")
    for key, side in (("chosen", chosen), ("rejected", rejected)):
        rest = side[shared:]
        if len(rest) != 1 or rest[0]["role"] != "assistant":
            raise _Invalid(key, "after the shared prompt, expected exactly one assistant message")
    return prompt, chosen[shared]["content"], rejected[shared]["content"]


def _distinct(first: str, second: str, fields: str) -> None:
    if first == second and not is_blank(first):
        raise _Invalid(fields, "the two responses are identical, so there is nothing to compare")


def _extras(row: dict, used: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in used and v is not None}


def _parse(row: dict, fmt: str) -> ParsedRow:
    if fmt == "verdicts":
        from annotate_app.ingest.verdicts import verdict_content

        return verdict_content(row)
    category = _optional_text(row, "category", "dataset")
    if fmt == "pairs":
        a, b = _response_text(row, "response_a"), _response_text(row, "response_b")
        _distinct(a, b, "response_b")
        used = {"prompt", "response_a", "response_b", "model_a", "model_b", "category"}
        return ParsedRow(
            _prompt_turns(row, "prompt"),
            [(a, _optional_text(row, "model_a")), (b, _optional_text(row, "model_b"))],
            category=category,
            metadata=_extras(row, used),
        )
    if fmt == "chosen-rejected":
        if row.get("prompt") is None and isinstance(row.get("chosen"), list):
            turns, chosen, rejected = _implicit_prompt(row)
        else:
            turns = _prompt_turns(row, "prompt")
            chosen, rejected = _reply(row, "chosen"), _reply(row, "rejected")
        _distinct(chosen, rejected, "rejected")
        used = {"prompt", "chosen", "rejected", "model_chosen", "model_rejected", "category"}
        return ParsedRow(
            turns,
            [
                (chosen, _optional_text(row, "model_chosen")),
                (rejected, _optional_text(row, "model_rejected")),
            ],
            labeled=True,
            category=category,
            metadata=_extras(row, used),
        )
    if fmt == "hh":
        chosen, rejected = _text(row, "chosen"), _text(row, "rejected")
        try:
            turns, reply_c, reply_r = split_hh_pair(chosen, rejected)
        except HHParseError as exc:
            raise _Invalid(exc.field, exc.problem) from None
        _distinct(reply_c, reply_r, "rejected")
        return ParsedRow(
            turns,
            [(reply_c, None), (reply_r, None)],
            labeled=True,
            category=category,
            metadata=_extras(row, {"chosen", "rejected", "category"}),
        )
    prompt_key = next((k for k in _PROMPT_KEYS if k in row), "prompt")
    response_key = next((k for k in _RESPONSE_KEYS if k in row), "response")
    used = {prompt_key, response_key, *_MODEL_KEYS, "category"}
    return ParsedRow(
        _prompt_turns(row, prompt_key),
        [(_response_text(row, response_key), _optional_text(row, *_MODEL_KEYS))],
        category=category,
        metadata=_extras(row, used),
    )


def parse_row(row: dict, fmt: str, file: str, line: int) -> ParsedRow | RowError:
    try:
        parsed = _parse(row, fmt)
    except _Invalid as exc:
        return RowError(file, line, exc.field_name, exc.problem)
    parsed.turns, parsed.merged_runs = merge_role_runs(parsed.turns)
    return parsed
