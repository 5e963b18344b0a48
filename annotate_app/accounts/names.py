"""What a name may be: account names, invitees and model names all follow these rules.

A name is NFKC-normalised (full-width letters, ligatures and compatibility forms become their plain
equivalents) and its runs of white space become one space. Characters that show nothing or change
how the text around them is shown are refused rather than removed: control characters (NUL,
newline, escape), format characters (zero-width space and joiners, bidi overrides such as U+202E,
soft hyphen), surrogates, private-use and unassigned code points, and line/paragraph separators.

Two names are confusable when a reader cannot tell them apart. The test is the Unicode skeleton of
UTS #39 (each character replaced by the prototype of its confusable class, with NFD around it),
taken both of the name as typed and of its case-folded form, so ``ADMIN``, Cyrillic ``admіn`` and
``adm1n``-style look-alikes of ``admin`` all collide with it. The confusable classes come from the
Unicode ``confusables.txt`` data that the ``confusable-homoglyphs`` package ships; the prototype of
a class is the member every other member maps to.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import unicodedata
from collections.abc import Iterable

# Control, format, surrogate, private use, unassigned, line separator, paragraph separator.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# The data file wraps right-to-left characters in these marks so that it displays well.
_DISPLAY_MARKS = str.maketrans("", "", "\u200e\u200f")


class BadName(ValueError):
    """A name that breaks a rule; the message says which character or which existing name."""


def invisible_characters(text: str) -> list[tuple[int, str]]:
    """(position, character) of every character a name or a text may not rely on being seen."""
    return [(i, ch) for i, ch in enumerate(text) if unicodedata.category(ch) in REFUSED_CATEGORIES]


def describe_character(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def check_characters(text: str, what: str = "a name") -> None:
    """Refuse control and format characters, naming the first one and where it is."""
    bad = invisible_characters(text)
    if bad:
        position, ch = bad[0]
        raise BadName(
            f"{what} may not contain control or invisible characters; "
            f"found {describe_character(ch)} at character {position + 1}"
        )


def normalise(text: str) -> str:
    """The displayed form: NFKC, with runs of white space as one space and no outer space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


@functools.cache
def _prototypes() -> dict[str, str]:
    """Character -> prototype string, from the confusable classes in the shipped data."""
    data_file = importlib.resources.files("confusable_homoglyphs").joinpath("confusables.json")
    data = json.loads(data_file.read_text(encoding="utf-8"))
    neighbours: dict[str, set[str]] = {}
    for key, entries in data.items():
        key = key.translate(_DISPLAY_MARKS)
        for entry in entries:
            other = entry["c"].translate(_DISPLAY_MARKS)
            if key and other and key != other:
                neighbours.setdefault(key, set()).add(other)
                neighbours.setdefault(other, set()).add(key)
    mapping: dict[str, str] = {}
    for member, linked in neighbours.items():
        if len(member) != 1:
            continue
        # confusables.txt maps each source to one prototype, so a source's class is a star around
        # it: the prototype is the linked member with the most links (it is linked to every source)
        prototype = max(linked | {member}, key=lambda m: (len(neighbours.get(m, ())), -len(m), m))
        if prototype != member:
            mapping[member] = prototype
    return mapping


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, every character to its prototype, NFD again."""
    table = _prototypes()
    mapped = "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def confusable_keys(name: str) -> frozenset[str]:
    """Two names are confusable when these sets meet."""
    shown = normalise(name)
    return frozenset({skeleton(shown), skeleton(shown.casefold())})


def confusable_with(name: str, existing: Iterable[str]) -> str | None:
    """The first existing name (other than ``name`` itself) that ``name`` could be mistaken for."""
    keys = confusable_keys(name)
    for other in existing:
        if other != name and keys & confusable_keys(other):
            return other
    return None


def look_alikes(new: Iterable[str], existing: Iterable[str] = ()) -> dict[str, str]:
    """Each name of ``new`` that looks like a different name seen before it (one of ``existing``,
    or an earlier name of ``new``), mapped to that name. Identical names are not look-alikes."""
    seen: dict[str, str] = {}
    for name in existing:
        for key in confusable_keys(name):
            seen.setdefault(key, name)
    found: dict[str, str] = {}
    for name in new:
        keys = confusable_keys(name)
        other = next((seen[k] for k in keys if k in seen and seen[k] != name), None)
        if other is not None:
            found[name] = other
            continue
        for key in keys:
            seen.setdefault(key, name)
    return found


def clean(name: str, *, what: str = "a name", max_length: int | None = None) -> str:
    """The stored form of a new name: characters checked, normalised, length bounded."""
    check_characters(name, what)
    shown = normalise(name)
    if not shown:
        raise BadName(f"{what} cannot be empty")
    if max_length is not None and len(shown) > max_length:
        raise BadName(f"{what} can have at most {max_length} characters")
    return shown


def check_new(name: str, existing: Iterable[str], *, what: str = "a name") -> None:
    """Refuse a new name that looks like one already in use."""
    other = confusable_with(name, existing)
    if other is not None:
        raise BadName(f"{what} {name!r} looks like the existing {other!r}; choose another")
