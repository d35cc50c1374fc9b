"""How much of a request the gateway takes, and how much of it an answer quotes back (docs/decisions.md).

One home for the gateway's input limits: the body's size, the nesting depth
of JSON values, and `echo`, through which every value quoted in an error
message passes (cut at 100 characters, lone surrogates escaped so that the
answer can always be written as UTF-8).
"""

from __future__ import annotations

import json
import re

MAX_BODY_BYTES = 1_000_000
MAX_JSON_DEPTH = 64  # arrays and objects inside each other, in any parameter
MAX_ECHO_CHARS = 100  # of a value quoted in a message the gateway writes
MAX_DATABASE_TEXT_CHARS = 1000  # of a message, detail or hint PostgreSQL wrote

# A JSON string (with its escapes), or a character that opens, closes or names a member.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]', re.DOTALL)


class TooDeep(Exception):
    """A JSON text nests deeper than allowed; `member` is the top-level key whose value does, if any."""

    def __init__(self, member: str | None) -> None:
        super().__init__(member)
        self.member = member


def check_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise TooDeep when the JSON `text` nests arrays and objects more than `limit` levels.

    Read before parsing, so that no parser (Python's recursive one, or
    PostgreSQL's) ever meets a deeper value. Brackets inside strings do not
    count. A text with no more than `limit` brackets is not scanned at all.
    """
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    member = last_string = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > limit:
                raise TooDeep(None if member is None else _member_name(member))
        elif token == "]" or token == "}":
            depth -= 1
        elif token == ":":
            if depth == 1:
                member = last_string
        else:
            last_string = token


def depth_message(name: str | None) -> str:
    """The refusal of a value nested too deep: parameter `name`'s, or (None) the body's."""
    where = "the body" if name is None else f"parameter {echo(name)}"
    return f"{where} is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects"


def _member_name(token: str) -> str:
    """A JSON string token as the text it stands for (the token itself when it is not valid JSON)."""
    try:
        name = json.loads(token)
    except ValueError:
        return token
    return name if isinstance(name, str) else token


def echo(value: str, limit: int = MAX_ECHO_CHARS) -> str:
    """`value` as a message may quote it: at most `limit` characters and "…", lone surrogates escaped."""
    shown = value if len(value) <= limit else value[:limit] + "…"
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")
