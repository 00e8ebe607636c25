"""Secret redaction for everything terp-actions prints, logs or posts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

MASK: Final = "***"

# Names whose values are secrets wherever they appear. Anything ending like these is one too.
SECRET_NAMES: Final = frozenset(
    {"GITHUB_TOKEN", "GH_TOKEN", "DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DATABASE_URL"}
)
_SECRET_SUFFIXES: Final = ("_TOKEN", "_SECRET", "_PASSWORD", "_API_KEY", "_PRIVATE_KEY")

# Shapes of credentials that must not leak even when we were not told their values. Each names
# literals one of which must occur for it to match (with none: one of the caseless hints), so
# redacting a large output (a plan's JSON) usually costs a few substring scans.
_SHAPES: Final = (
    # user:password@ in any URL; the user name stays, it helps to see which account it was.
    # The password runs to the *last* "@" of the authority, so passwords holding "@" or ":" are
    # hidden whole (mysql://u:p@ss:w@rd@db/x).
    (("://",), re.compile(r"(?<=://)(?P<user>[^/\s:@]*):\S*@(?=[^\s@/]+(?:[/\s?#]|$))"), r"\g<user>:***@"),
    # GitHub tokens (classic and fine-grained) and DigitalOcean tokens.
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
        MASK,
    ),
    (("_v1_",), re.compile(r"\bdo[por]_v1_[a-f0-9]{16,}"), MASK),
    # Authorization headers as git and HTTP clients print them.
    ((), re.compile(r"(?i)(?P<pre>authorization:\s*(?:bearer|basic|token)\s+)\S+"), r"\g<pre>***"),
    # NAME=value for secret-looking names, as in env dumps and app logs.
    (
        "",
        re.compile(
            r"(?P<pre>(?:DATABASE_URL|TOKEN|SECRET|PASSWORD)[A-Z0-9_]*\s*[=:]\s*)(?P<q>['\"]?)[^\s'\"]+(?P=q)"
        ),
        r"\g<pre>***",
    ),
)
_CASELESS_HINTS: Final = ("authorization", "database_url", "token", "secret", "password")
_MIN_SECRET_LENGTH: Final = 4  # shorter values would blank out ordinary words


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    found, start = [], text.find(needle)
    while start != -1:
        found.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return found


def is_secret_name(name: str) -> bool:
    """True for environment variable names whose values must never be shown."""
    upper = name.upper()
    return upper in SECRET_NAMES or upper.endswith(_SECRET_SUFFIXES)


class Redactor:
    """Replaces known secret values and credential shapes in text with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Redactor:
        """A redactor that knows the values of every secret-named variable in ``environ``."""
        return cls(value for name, value in environ.items() if is_secret_name(name))

    def add(self, secret: str) -> None:
        """Treat ``secret`` (and each of its lines) as a value never to be shown."""
        for part in [secret, *secret.splitlines()]:
            if len(part.strip()) >= _MIN_SECRET_LENGTH:
                self._secrets.add(part.strip())

    def _mask_known(self, text: str) -> str:
        """Mask every occurrence of every known secret; overlapping ones are masked as one span, so
        no part of any secret survives (replacing one at a time could cut another in half)."""
        spans = sorted(span for secret in self._secrets if secret in text for span in _spans(text, secret))
        if not spans:
            return text
        merged = [list(spans[0])]
        for start, end in spans[1:]:
            if start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out, last = [], 0
        for start, end in merged:
            out += [text[last:start], MASK]
            last = end
        out.append(text[last:])
        return "".join(out)

    @property
    def secrets(self) -> frozenset[str]:
        """The literal values this redactor hides."""
        return frozenset(self._secrets)

    def __call__(self, text: str) -> str:
        # Replacing can join text around a mask into something secret-shaped again (or reveal a
        # secret that contained another): repeat until nothing changes, a few passes at most.
        for _ in range(4):
            redacted = self._once(text)
            if redacted == text:
                break
            text = redacted
        return text

    def _once(self, text: str) -> str:
        text = self._mask_known(text)
        lowered = text.lower()
        maybe_named = any(hint in lowered for hint in _CASELESS_HINTS)
        for literals, pattern, replacement in _SHAPES:
            if any(lit in text for lit in literals) if literals else maybe_named:
                text = pattern.sub(replacement, text)
        return text
