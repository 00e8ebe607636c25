"""Searching log text with regular expressions in bounded time: line by line, each line cut to
``MAX_LINE`` characters, so one hostile line (a minified bundle, a base64 blob) cannot make a
pattern take quadratic time over the whole log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

MAX_LINE: Final = 4096


def lines(text: str) -> Iterator[str]:
    """The lines of ``text``, each cut to ``MAX_LINE`` characters."""
    for line in text.splitlines():
        yield line[:MAX_LINE]


def first_match(pattern: re.Pattern[str] | str, text: str) -> str | None:
    """The first line of ``text`` (cut to ``MAX_LINE``) in which ``pattern`` matches, else None."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    return next((line for line in lines(text) if compiled.search(line)), None)
