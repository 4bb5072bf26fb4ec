"""Inline-button data: `<verb>:<arg>:<arg>…`, at most 64 bytes, parsed strictly.

Button data comes back from the client and can be forged: `parse` returns None for anything that is not
exactly one of the known shapes, and handlers re-check every permission on the server side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_ARG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,40}$")

# verb -> number of arguments
SHAPES: dict[str, int] = {
    "grp": 0,        # browse: list of groups
    "g": 1,          # browse: questions of a group
    "f": 1,          # show an FAQ answer (edit in place when browsing)
    "a": 1,          # show an FAQ answer as a new message (suggestion buttons under free-text answers)
    "fb": 2,         # feedback: question id, 1 = helpful / 0 = not helpful
    "ask": 0,        # "ask an officer" from the FAQ fallback
}


@dataclass(frozen=True)
class Callback:
    verb: str
    args: tuple[str, ...]


def make(verb: str, *args: str | int) -> str:
    """Build button data; raises ValueError if it would be malformed or too long."""
    if verb not in SHAPES or len(args) != SHAPES[verb]:
        raise ValueError(f"bad callback shape {verb}{args}")
    parts = [verb, *(str(a) for a in args)]
    for part in parts[1:]:
        if not _ARG.match(part):
            raise ValueError(f"bad callback argument {part!r}")
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def register_shape(verb: str, nargs: int) -> None:
    """Feature modules add their own verbs at import of their handler module."""
    if verb in SHAPES and SHAPES[verb] != nargs:
        raise ValueError(f"callback verb {verb!r} already registered with {SHAPES[verb]} args")
    SHAPES[verb] = nargs


def parse(data: object) -> Callback | None:
    """Parse button data; None for anything unknown or malformed."""
    if not isinstance(data, str) or not data or len(data.encode()) > MAX_BYTES:
        return None
    verb, *args = data.split(":")
    if SHAPES.get(verb) != len(args) or not all(_ARG.match(a) for a in args):
        return None
    return Callback(verb, tuple(args))
