"""Content-derived ids: the same text always gets the same id, so re-imports deduplicate for free."""

from __future__ import annotations

import hashlib
import json


def digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def prompt_id(turns: list[dict]) -> str:
    return digest("prompt", json.dumps(turns, sort_keys=True, ensure_ascii=False))


def response_id(prompt: str, text: str) -> str:
    return digest("response", prompt, text)


def pair_id(response_1: str, response_2: str) -> str:
    """Order-free: both orders of the same two responses give one id."""
    return digest("pair", *sorted((response_1, response_2)))


def text_hash(text: str) -> str:
    return digest("text", text)
