"""Secret redaction for everything terp-actions prints, logs or posts.

What counts as a secret: the value of every environment variable whose name contains TOKEN,
SECRET, PASSWORD, PASSWD, KEY, DSN or CREDENTIAL (any case), or is DATABASE_URL; the password part
of any URL in those values; every value filled into a spec placeholder; the variables a team
names under ``secrets:`` in the configuration; and anything a command registers (the encoded git
auth header). Each is hidden wherever it appears, alone or inside other text, and in its common
encodings (base64 at any alignment, URL-encoding). Credential shapes (tokens, ``user:pass@`` in
URLs, ``Authorization:`` headers, ``password=…`` / ``"password": "…"`` in any case) are hidden even
when their values were never registered.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import quote, unquote, urlsplit

MASK: Final = "***"

# Names whose values are secrets wherever they appear; so is any name holding one of the words.
SECRET_NAMES: Final = frozenset(
    {"GITHUB_TOKEN", "GH_TOKEN", "DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DATABASE_URL"}
)
SECRET_WORDS: Final = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "DSN", "CREDENTIAL")
# Variables whose names hold a word but whose values are settings, not secrets (git's own
# GIT_CONFIG_KEY_n names a setting; its value is in GIT_CONFIG_VALUE_n, registered on its own).
_NOT_SECRET: Final = re.compile(r"GIT_CONFIG_KEY_\d+|TERP_SECRETS")
# In text, a bare "key" is a field name (an app spec's `key: LOG_LEVEL`): only a qualified one
# (api_key, access-key, private.key) marks a secret there.
_WORDS: Final = r"token|secret|passw(?:or)?d|dsn|credential|database_url|[_.-]key"

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
    # name=value and "name": "value" for secret-looking names in any case, as in env dumps, app
    # logs and JSON. Bounded repetition keeps it linear on one long line. A value that is a
    # reference — a workflow expression ${{ … }} or a spec placeholder ${NAME} — is no secret, and
    # the value is on the name's own line (a YAML key under `secrets:` is a key, not a value).
    (
        "",
        re.compile(
            rf"(?i)(?P<pre>\b[a-z0-9_.-]{{0,64}}(?:{_WORDS})[a-z0-9_.-]{{0,64}}[\"']?"
            r"[ \t]{0,8}[=:][ \t]{0,8})"
            r"(?!['\"]?\$\{)(?:(?P<q>['\"])[^'\"\n]{1,2048}(?P=q)|[^\s'\",;}]{1,2048})"
        ),
        r"\g<pre>\g<q>***\g<q>",
    ),
)
_CASELESS_HINTS: Final = ("authorization", "database_url", "token", "secret", "password", "passwd", "key",
                          "dsn", "credential")  # fmt: skip
_MIN_SECRET_LENGTH: Final = 4  # shorter values would blank out ordinary words
_MIN_ENCODED_LENGTH: Final = 6  # an encoded form shorter than this matches by chance


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    found, start = [], text.find(needle)
    while start != -1:
        found.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return found


def is_secret_name(name: str) -> bool:
    """True for environment variable names whose values must never be shown."""
    upper = name.upper()
    if _NOT_SECRET.fullmatch(upper):
        return False
    return upper in SECRET_NAMES or any(word in upper for word in SECRET_WORDS)


def encodings(secret: str) -> set[str]:
    """The forms a secret takes when encoded: URL-encoded, and base64 at each of the three byte
    alignments it can have inside a longer encoded text (the characters only it determines)."""
    forms = {quote(secret, safe=""), quote(secret, safe="/:@")}
    raw = secret.encode()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + raw).decode()
            start = -(-offset * 4 // 3)  # characters that mix in the padding bytes before it
            end = (offset + len(raw)) * 4 // 3  # the last character may mix with what follows
            if end - start >= _MIN_ENCODED_LENGTH:
                forms.add(text[start:end])
    forms.discard(secret)
    return forms


def url_passwords(value: str) -> set[str]:
    """The password of every ``scheme://user:password@host`` URL in ``value`` (decoded too)."""
    found = set()
    for match in re.finditer(r"[a-zA-Z][a-zA-Z0-9+.-]{0,30}://\S+", value):
        try:
            password = urlsplit(match[0]).password
        except ValueError:
            continue
        if password:
            found |= {password, unquote(password)}
    return found


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
        """Treat ``secret`` (each of its lines, the password of any URL in it, and their encoded
        forms) as values never to be shown."""
        parts = {part.strip() for part in [secret, *secret.splitlines()]} | url_passwords(secret)
        for part in parts:
            if len(part) >= _MIN_SECRET_LENGTH and part not in self._secrets:
                self._secrets.add(part)
                self._secrets |= encodings(part)

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
