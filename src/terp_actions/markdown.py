"""Untrusted text (log lines, commit subjects, file names, details) made inert for Markdown sinks:
pull-request comments and bodies, and the job summary. Escaped once, here, at the sink."""

from __future__ import annotations

import re
from typing import Final

_MENTION: Final = re.compile(r"@(?=[A-Za-z0-9-])")
# Characters that start Markdown constructs a stranger could use: links and images ([, ], !) and
# emphasis (*, _, ~) are backslashed; "#123" stays a reference to an issue, which is harmless.
_SPECIAL: Final = re.compile(r"([\\[\]!*_~])")


def escape(text: str) -> str:
    """Text shown as it is: no HTML, no links or images, no table breaks, no @-mentions, one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("`", "'").replace("\r", " ").replace("\n", " ")
    text = _SPECIAL.sub(r"\\\1", text).replace("|", "\\|")
    return _MENTION.sub("@\u200b", text)


def code(text: str) -> str:
    """Text as an inline code span that nothing inside can close: backticks become quotes, line
    breaks spaces, and a table's ``|`` is escaped (GitHub splits table cells before code spans)."""
    inner = text.replace("`", "'").replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    return f"`{inner}`" if inner.strip() else "` `"
