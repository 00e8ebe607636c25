"""GitHub filter patterns (``paths``/``paths-ignore`` syntax): parse, validate and match paths.

The meaning is the one GitHub documents in its workflow syntax reference ("Filter pattern cheat
sheet"):

* ``*`` matches any run of characters except ``/``; ``**`` matches any run of characters;
* ``**/`` at the start of a pattern or right after a ``/`` matches zero or more whole directories,
  so ``**/README.md`` matches ``README.md`` and ``docs/**/*.md`` matches ``docs/a.md``;
* ``?`` makes the preceding character optional, ``+`` repeats it one or more times;
* ``[...]`` is one character out of letters, digits and ranges ``a-z``, ``A-Z``, ``0-9``;
* ``\\`` escapes the next character; a leading ``!`` negates the pattern;
* the whole path must match, matching is case-sensitive, and the last matching pattern decides.

A whole list is compiled once into one automaton that is run as a lazily built DFA, so deciding a
path costs time linear in its length whatever the patterns are: there is no backtracking to blow
up (``**/**/**/a`` against a long path takes as long as ``a`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from terp_actions.errors import BadInput, PatternError

__all__ = ["IgnoreRules", "Match", "Pattern", "display_path", "parse_pattern"]

# A list longer than this is refused: matching costs grow with the list, and no team reads one.
MAX_PATTERNS: Final = 1000
# GitHub's runner (and its Go port in nektos/act) lets a set hold characters from 'A' to 'z' in
# ASCII (letters, and [ \ ] ^ _ `) and digits; a range runs within one of those two spans.
_SET_SPANS: Final = (("A", "z"), ("0", "9"))

# Transition kinds of the automaton.
_LIT, _SET, _ANY, _NOT_SLASH = 0, 1, 2, 3

# Builds the PatternError for the pattern being parsed, given the reason.
_Refuse = Callable[[str], PatternError]

# Item kinds of a parsed pattern.
_ATOM, _STAR, _DSTAR, _DIRS = "atom", "star", "dstar", "dirs"


@dataclass(frozen=True, slots=True)
class _Item:
    """One element of a pattern: a character class with a quantifier, or a wildcard."""

    kind: str
    chars: str | frozenset[str] = ""  # a single literal character, or a set of characters
    quant: str = ""  # "", "?" or "+"; only for atoms


@dataclass(frozen=True, slots=True)
class Pattern:
    """A validated pattern: ``source`` as written, ``negated`` when it starts with ``!``."""

    source: str
    negated: bool
    items: tuple[_Item, ...]
    # Why this pattern can never match a changed file (GitHub accepts it; it matches nothing), or "".
    never: str = ""

    def __str__(self) -> str:
        return self.source


@dataclass(frozen=True, slots=True)
class Match:
    """How the rules decided one path: ``pattern`` is the deciding pattern, or None if none did."""

    path: str
    ignored: bool
    pattern: str | None


def parse_pattern(source: str, *, where: str = "") -> Pattern:
    """Parse one pattern, refusing one that is malformed or can never match a changed file.

    ``where`` names the origin (a file and field, or an option) for the error message.
    """

    def refuse(reason: str) -> PatternError:
        return PatternError(source, reason, where=where)

    if not isinstance(source, str):
        raise PatternError(repr(source), "a pattern must be a string", where=where)
    if source == "":
        raise refuse("the pattern is empty")
    control = next((c for c in source if ord(c) < 32 or ord(c) == 127), None)
    if control is not None:
        raise refuse(
            f"it holds the control character {control!r} (GitHub refuses line breaks and control characters)"
        )
    negated = source.startswith("!")
    body = source[1:] if negated else source
    if body == "":
        raise refuse("'!' must be followed by a pattern")
    return Pattern(source, negated, tuple(_parse_items(body, refuse)), _never(body, negated))


def _never(body: str, negated: bool) -> str:
    """Why a pattern GitHub accepts can still never match a changed file, or ''."""
    bang = "!" if negated else ""
    fixed = bang + _meant(body)
    if body.startswith(("/", "./")):
        return f"changed paths are relative to the repository root; write {fixed!r}"
    if body.endswith("/"):
        return f"changed paths are files, never folders; write {fixed!r} for everything under it"
    if body != body.strip():
        return f"it has leading or trailing spaces that no changed path has; write {fixed!r}"
    return ""


def _meant(body: str) -> str:
    """What a never-matching pattern body was meant to say: no surrounding spaces, relative to the
    root (no leading ``/`` or ``./``), and a folder's files rather than the folder."""
    body = body.strip()
    while body.startswith(("./", "/")):
        body = body[2:] if body.startswith("./") else body[1:]
    return body + "**" if body.endswith("/") else body


def meant_pattern(pattern: str) -> str:
    """The pattern a never-matching one was meant to be (itself when it can match): ``.vscode/``
    becomes ``.vscode/**``, ``/docs/**`` becomes ``docs/**``."""
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    return ("!" if negated else "") + _meant(body) if _never(body, negated) else pattern


_SPECIAL: Final = frozenset("*?+[]\\!")


def subsumes(general: str, specific: str) -> bool:
    """True when every path ``specific`` matches, ``general`` matches too, decided only where it
    is certain: ``general`` is a literal prefix, one ``**`` and a literal suffix (``**.md``,
    ``docs/**``), and ``specific`` starts and ends with those literals (``*.md``, ``docs/*.txt``).
    Negations are never compared (their order decides)."""
    if general.startswith("!") or specific.startswith("!") or general == specific:
        return False
    prefix, star, suffix = general.partition("**")
    if not star or _SPECIAL & set(prefix + suffix) or "\\" in specific:
        return False
    if suffix.startswith("/") and prefix and not prefix.endswith("/"):
        return False  # "a**/b" is a(.+/)?b on GitHub: it does not match "a/b"
    if len(specific) < len(prefix) + len(suffix) or not specific.startswith(prefix):
        return False
    ends = specific[: len(prefix)] + specific[len(specific) - len(suffix) :]
    if not specific.endswith(suffix) or _SPECIAL & set(ends):
        return False
    # a "?" right after the prefix would make the prefix's last character optional
    return len(specific) == len(prefix) or specific[len(prefix)] != "?"


def _parse_items(body: str, refuse: _Refuse) -> list[_Item]:  # noqa: PLR0912 - one branch per token
    """Turn a pattern body (without ``!``) into items; ``refuse`` builds the error to raise."""
    items: list[_Item] = []
    i, n = 0, len(body)
    lazy = False
    while i < n:
        c = body[i]
        lazy = lazy and c in "?+"
        if c == "*":
            if i + 1 < n and body[i + 1] == "*":
                # "**/" is "zero or more folders" wherever it stands, as in GitHub's runner:
                # "a**/b" is a(.+/)?b there (it matches "ab" and "ax/b", not "a/b").
                if i + 2 < n and body[i + 2] == "/":
                    items.append(_Item(_DIRS))
                    i += 3
                else:
                    items.append(_Item(_DSTAR))
                    i += 2
            else:
                items.append(_Item(_STAR))
                i += 1
        elif c in "?+" and i == 0:  # nothing before it to repeat: GitHub reads it literally
            items.append(_Item(_ATOM, c))
            i += 1
        elif c in "?+":
            last = items[-1]
            repeated = last.kind != _ATOM or last.quant
            if repeated and (c == "+" or lazy):
                # GitHub's runner makes a regular expression of the pattern; a repetition of a
                # repetition ("*+", "a?+", "a???") is one it refuses.
                raise refuse(
                    f"{c!r} at position {i + 1} repeats a repetition; escape it as '\\" + c + "' to match it"
                )
            if repeated:  # "*?", "a+?", "a??": a lazy repetition, matching the same paths
                lazy = True
            else:
                items[-1] = _Item(_ATOM, last.chars, c)
            i += 1
            continue
        elif c == "[":
            chars, i = _parse_set(body, i, refuse)
            items.append(_Item(_ATOM, chars))
        elif c == "\\":
            if i + 1 >= n:
                raise refuse("it ends with a '\\' that escapes nothing")
            items.append(_Item(_ATOM, body[i + 1]))
            i += 2
        else:
            items.append(_Item(_ATOM, c))
            i += 1
    return items


def _parse_set(body: str, start: int, refuse: _Refuse) -> tuple[frozenset[str], int]:
    """Parse ``[...]`` starting at ``start``; return its characters and the index after ``]``."""
    close = body.find("]", start + 1)
    if close == -1:
        raise refuse(f"the '[' at position {start + 1} is never closed with ']'")
    inner = body[start + 1 : close]
    if not inner:
        raise refuse(f"the set at position {start + 1} is empty ('[]' matches nothing)")
    chars: set[str] = set()
    j = 0
    while j < len(inner):
        c = inner[j]
        if c == "-" or (j + 1 < len(inner) and inner[j + 1] == "-"):
            hi = inner[j + 2] if j + 2 < len(inner) and c != "-" else ""
            if not hi or not any(lo_ <= c <= hi <= hi_ for lo_, hi_ in _SET_SPANS):
                raise refuse(
                    f"the range in '[{inner}]' at position {start + j + 2} is not within A-z or 0-9 in "
                    "ascending order"
                )
            chars.update(chr(k) for k in range(ord(c), ord(hi) + 1))
            j += 3
            continue
        if not any(lo_ <= c <= hi_ for lo_, hi_ in _SET_SPANS):
            raise refuse(f"{c!r} in '[{inner}]' is not allowed: a set holds characters from A to z and 0-9")
        chars.add(c)
        j += 1
    return frozenset(chars), close + 1


class _Automaton:
    """A Thompson NFA over all patterns, with every pattern's accepting state tagged by index."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.moves: list[list[tuple[int, str | frozenset[str], int]]] = []
        self.eps: list[list[int]] = []
        self.accept: dict[int, int] = {}
        self.starts: list[int] = []
        for index, pattern in enumerate(patterns):
            start = self._new()
            self.starts.append(start)
            end = self._build(start, pattern.items)
            self.accept[end] = index
        # Moves indexed for step(): what any character, any but "/", and each literal lead to.
        self._any: list[tuple[int, ...]] = []
        self._not_slash: list[tuple[int, ...]] = []
        self._lit: list[dict[str, list[int]]] = []
        self._sets: list[tuple[tuple[frozenset[str], int], ...]] = []
        for moves in self.moves:
            lit: dict[str, list[int]] = {}
            for kind, arg, dst in moves:
                if kind == _LIT:
                    lit.setdefault(str(arg), []).append(dst)
            self._any.append(tuple(dst for kind, _, dst in moves if kind == _ANY))
            self._not_slash.append(tuple(dst for kind, _, dst in moves if kind == _NOT_SLASH))
            self._lit.append(lit)
            self._sets.append(
                tuple((arg, dst) for kind, arg, dst in moves if kind == _SET and isinstance(arg, frozenset))
            )

    def _new(self) -> int:
        self.moves.append([])
        self.eps.append([])
        return len(self.moves) - 1

    def _edge(self, src: int, kind: int, arg: str | frozenset[str], dst: int) -> None:
        self.moves[src].append((kind, arg, dst))

    def _build(self, cur: int, items: Iterable[_Item]) -> int:
        for item in items:
            entry, out = self._new(), self._new()
            self.eps[cur].append(entry)
            if item.kind == _ATOM:
                kind = _LIT if isinstance(item.chars, str) else _SET
                self._edge(entry, kind, item.chars, out)
                if item.quant == "?":
                    self.eps[entry].append(out)
                elif item.quant == "+":
                    self.eps[out].append(entry)
            elif item.kind in (_STAR, _DSTAR):
                self._edge(entry, _NOT_SLASH if item.kind == _STAR else _ANY, "", entry)
                self.eps[entry].append(out)
            else:  # _DIRS: zero or more whole directories, i.e. the regex (.+/)?
                middle = self._new()
                self.eps[entry].append(out)
                self._edge(entry, _ANY, "", middle)
                self._edge(middle, _ANY, "", middle)
                self._edge(middle, _LIT, "/", out)
            cur = out
        return cur

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        """The states reachable through epsilon moves, keeping only those that matter."""
        seen: set[int] = set()
        stack = list(states)
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            stack.extend(self.eps[s])
        return frozenset(s for s in seen if self.moves[s] or s in self.accept)

    def step(self, states: frozenset[int], ch: str) -> frozenset[int]:
        """The closed state set after reading ``ch``."""
        nxt: list[int] = []
        slash = ch == "/"
        anys, not_slash, lits, sets = self._any, self._not_slash, self._lit, self._sets
        for s in states:
            nxt += anys[s]
            if not slash:
                nxt += not_slash[s]
            found = lits[s].get(ch)
            if found:
                nxt += found
            for chars, dst in sets[s]:
                if ch in chars:
                    nxt.append(dst)
        return self.closure(nxt)

    def decision(self, states: frozenset[int]) -> int:
        """Index of the last pattern that accepts in ``states``, or -1."""
        return max((self.accept[s] for s in states if s in self.accept), default=-1)


class IgnoreRules:
    """An ordered list of patterns, compiled once, deciding whether paths are ignored.

    Matching runs a DFA that is built lazily and bounded in size (it is dropped and rebuilt when
    it grows past ``max_states``), so memory stays flat and each path costs O(len(path)).
    """

    _DEAD = 0

    def __init__(
        self,
        patterns: Iterable[str | Pattern],
        *,
        where: str = "",
        max_states: int = 4096,
        max_cached_paths: int = 100_000,
    ) -> None:
        listed = list(patterns)
        if len(listed) > MAX_PATTERNS:
            prefix = f"{where}: " if where else ""
            raise BadInput(
                f"{prefix}{len(listed):,} ignore patterns; at most {MAX_PATTERNS:,} are supported "
                "(fold them with ** and [] sets)"
            )
        parsed = [p if isinstance(p, Pattern) else parse_pattern(p, where=where) for p in listed]
        self.patterns: tuple[Pattern, ...] = tuple(parsed)
        self._negated = tuple(p.negated for p in parsed)
        self._nfa = _Automaton(self.patterns)
        self._max_states = max_states
        self._max_cached_paths = max_cached_paths
        self._results: dict[str, int] = {}
        self.states_built = 0
        self._reset()

    def _reset(self) -> None:
        empty: frozenset[int] = frozenset()
        self._ids: dict[frozenset[int], int] = {empty: self._DEAD}
        self._sets: list[frozenset[int]] = [empty]
        self._trans: list[dict[str, int]] = [{}]
        self._decisions: list[int] = [-1]
        self._folders: dict[str, int] = {}
        self._start = self._state_id(self._nfa.closure(self._nfa.starts))

    def _state_id(self, states: frozenset[int]) -> int:
        found = self._ids.get(states)
        if found is not None:
            return found
        new = len(self._sets)
        self._ids[states] = new
        self._sets.append(states)
        self._trans.append({})
        self._decisions.append(self._nfa.decision(states))
        self.states_built += 1
        return new

    def _walk(self, state: int, text: str) -> int:
        trans = self._trans
        for ch in text:
            nxt = trans[state].get(ch)
            if nxt is None:
                nxt = self._state_id(self._nfa.step(self._sets[state], ch))
                trans[state][ch] = nxt
            state = nxt
            if state == self._DEAD:
                break
        return state

    def _decide(self, path: str) -> int:
        cached = self._results.get(path)
        if cached is not None:
            return cached
        if len(self._sets) > self._max_states:
            self._reset()
        if len(self._results) >= self._max_cached_paths:
            self._results.clear()
        if len(self._folders) >= self._max_cached_paths:
            self._folders.clear()
        # Files share folders: the state after "folder/" is computed once per folder, so a new
        # path costs a walk over its file name only. The DFA is deterministic, so this gives
        # exactly the state a walk over the whole path would.
        folder, slash, name = path.rpartition("/")
        state = self._start
        if slash:
            found = self._folders.get(folder)
            if found is None:
                found = self._folders[folder] = self._walk(self._start, folder + "/")
            state = found
        decided = self._decisions[self._walk(state, name)] if state != self._DEAD else -1
        self._results[path] = decided
        return decided

    def match(self, path: str) -> Match:
        """Decide one path: ignored when the last pattern matching it is not negated."""
        index = self._decide(path)
        if index < 0:
            return Match(path, ignored=False, pattern=None)
        pattern = self.patterns[index]
        return Match(path, ignored=not pattern.negated, pattern=pattern.source)

    def not_ignored(self, paths: Iterable[str]) -> list[str]:
        """The paths the rules do not ignore, in order (the batch form of ``is_ignored``)."""
        results, decide, negated = self._results, self._decide, self._negated
        kept = []
        for path in paths:
            index = results.get(path)
            if index is None:
                index = decide(path)
            if index < 0 or negated[index]:
                kept.append(path)
        return kept

    def is_ignored(self, path: str) -> bool:
        """True when the rules ignore ``path``."""
        index = self._decide(path)
        return index >= 0 and not self.patterns[index].negated

    def __len__(self) -> int:
        return len(self.patterns)

    def __repr__(self) -> str:
        return f"IgnoreRules({[p.source for p in self.patterns]!r})"


def display_path(path: str) -> str:
    """A path for people: undecodable bytes shown as ``\\xNN``, control characters escaped."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
