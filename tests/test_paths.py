"""GitHub filter patterns: the documented cheat sheet, negation order, refusals, and properties."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from terp_actions.errors import BadInput, PatternError
from terp_actions.paths import MAX_PATTERNS, IgnoreRules, display_path, meant_pattern, parse_pattern, subsumes


def matches(patterns: list[str], path: str) -> bool:
    return IgnoreRules(patterns).is_ignored(path)


# Every row of the "Filter pattern cheat sheet" in GitHub's workflow syntax reference (file paths
# and branch/tag names use the same syntax), with the examples it gives as matches.
CHEAT_SHEET = [
    ("*", ["README.md", "server.rb"]),
    ("*.jsx?", ["page.js", "page.jsx"]),
    ("**", ["all/the/files.md", "README.md"]),
    ("*.js", ["app.js", "index.js"]),
    ("**.js", ["index.js", "js/index.js", "src/js/app.js"]),
    ("docs/*", ["docs/README.md", "docs/file.txt"]),
    ("docs/**", ["docs/README.md", "docs/mona/octocat.txt"]),
    ("docs/**/*.md", ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"]),
    ("**/docs/**", ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"]),
    ("**/README.md", ["README.md", "js/README.md"]),
    ("**/*src/**", ["a/src/app.js", "my-src/code/js/app.js"]),
    ("**/*-post.md", ["my-post.md", "path/their-post.md"]),
    ("**/migrate-*.sql", ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"]),
    ("feature/*", ["feature/my-branch", "feature/your-branch"]),
    ("feature/**", ["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"]),
    ("*", ["main", "releases"]),
    ("**", ["all/the/branches", "every/tag"]),
    ("*feature", ["mona-feature", "feature", "ver-10-feature"]),
    ("v2*", ["v2", "v2.0", "v2.9"]),
    ("v[12].[0-9]+.[0-9]+", ["v1.10.1", "v2.0.0"]),
    ("[CB]at", ["Cat", "Bat"]),
    ("[1-2]00", ["100", "200"]),
]

NON_MATCHES = [
    pytest.param("*", "path/with/slash", id="star-stops-at-slash"),
    pytest.param("*.js", "js/index.js", id="star-js-root-only"),
    pytest.param("*.md", "app/README.md", id="star-md-root-only"),
    pytest.param("docs/*", "docs/mona/octocat.txt", id="docs-star-one-level"),
    pytest.param("docs/**", "docs", id="docs-globstar-needs-a-file-inside"),
    pytest.param("docs/**", "mydocs/a.md", id="anchored-at-root"),
    pytest.param("*.jsx?", "page.jsxx", id="question-zero-or-one"),
    pytest.param("v[12].[0-9]+.[0-9]+", "v3.0.0", id="set-excludes"),
    pytest.param("v[12].[0-9]+.[0-9]+", "v1..1", id="plus-needs-one"),
    pytest.param(".yml", "fyml", id="dot-is-literal"),
    pytest.param("README.md", "readme.md", id="case-sensitive"),
    pytest.param("README.md", "docs/README.md", id="whole-path"),
    pytest.param("docs", "docs/a.md", id="no-prefix-match"),
    pytest.param("**/*src/**", "src", id="globstar-dir-needs-content"),
    pytest.param("[CB]at", "cat", id="set-case-sensitive"),
]


@pytest.mark.parametrize(
    ("pattern", "path"),
    [pytest.param(p, path, id=f"{p} ~ {path}") for p, examples in CHEAT_SHEET for path in examples],
)
def test_cheat_sheet_examples_match(pattern: str, path: str) -> None:
    """Each documented example path matches its pattern."""
    assert matches([pattern], path)


@pytest.mark.parametrize(("pattern", "path"), NON_MATCHES)
def test_paths_outside_a_pattern_do_not_match(pattern: str, path: str) -> None:
    """Paths the documented meaning excludes are not matched."""
    assert not matches([pattern], path)


@pytest.mark.parametrize(
    ("patterns", "path", "ignored", "decider"),
    [
        pytest.param(["*.md", "!README.md"], "hello.md", True, "*.md", id="positive-only"),
        pytest.param(["*.md", "!README.md"], "README.md", False, "!README.md", id="negation-reincludes"),
        pytest.param(["*.md", "!README.md"], "docs/hello.md", False, None, id="no-rule"),
        pytest.param(["*.md", "!README.md", "README*"], "README.md", True, "README*", id="later-wins"),
        pytest.param(["*.md", "!README.md", "README*"], "README.doc", True, "README*", id="later-new"),
        pytest.param(["!README.md", "*.md"], "README.md", True, "*.md", id="negation-first-loses"),
        pytest.param(["docs/**", "!docs/api/**"], "docs/api/x.md", False, "!docs/api/**", id="reinclude-dir"),
        pytest.param(["docs/**", "!docs/api/**"], "docs/guide.md", True, "docs/**", id="dir-still-ignored"),
        pytest.param(["!x"], "x", False, "!x", id="lone-negation"),
    ],
)
def test_last_matching_pattern_decides(
    patterns: list[str], path: str, ignored: bool, decider: str | None
) -> None:
    """Patterns are evaluated in order and the last one matching a path decides."""
    match = IgnoreRules(patterns).match(path)
    assert (match.ignored, match.pattern) == (ignored, decider)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        pytest.param("\\!file", "!file", id="escaped-bang"),
        pytest.param("a\\*b", "a*b", id="escaped-star"),
        pytest.param("a\\?", "a?", id="escaped-question"),
        pytest.param("c\\+\\+/**", "c++/x.cpp", id="escaped-plus"),
        pytest.param("a\\[b]", "a[b]", id="escaped-bracket"),
        pytest.param("escape\\\\backslash", "escape\\backslash", id="escaped-backslash"),
        pytest.param("my docs/**", "my docs/a.md", id="inner-space"),
        pytest.param("a/?b", "ab", id="optional-slash"),
        pytest.param("**", "", id="globstar-empty"),
        pytest.param("x+", "xxxx", id="plus-repeats"),
    ],
)
def test_literal_and_edge_matches(pattern: str, path: str) -> None:
    """Escapes make special characters literal; quantifiers apply to the character before them."""
    assert matches([pattern], path)


def test_escaped_star_is_not_a_wildcard() -> None:
    """``\\*`` matches only a literal star."""
    assert not matches(["a\\*b"], "axb")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("!", "followed by a pattern", id="bare-bang"),
        pytest.param("docs/[abc", "never closed", id="unclosed-bracket"),
        pytest.param("[]x", "empty", id="empty-set"),
        pytest.param("**+", "repeats a repetition", id="plus-after-globstar"),
        pytest.param("*+", "repeats a repetition", id="plus-after-star"),
        pytest.param("a?+", "repeats a repetition", id="plus-after-question"),
        pytest.param("a???", "repeats a repetition", id="third-quantifier"),
        pytest.param("a\\", "escapes nothing", id="dangling-escape"),
        pytest.param("[a-Z]", "range", id="descending-range"),
        pytest.param("[z-a]", "range", id="reversed-range"),
        pytest.param("[-a]x", "range", id="leading-dash"),
        pytest.param("[._]x", "not allowed", id="dot-in-set"),
        pytest.param("[!a]x", "not allowed", id="negated-set"),
        pytest.param("docs/**\nsrc/**", "control character", id="line-break"),
        pytest.param("docs/\t**", "control character", id="tab"),
    ],
)
def test_malformed_patterns_are_refused_with_the_reason(pattern: str, reason: str) -> None:
    """A malformed or never-matching pattern is refused; the error quotes it and says why."""
    with pytest.raises(PatternError) as caught:
        IgnoreRules([pattern], where="ci.yml: ignore")
    message = str(caught.value)
    assert repr(pattern) in message
    assert reason in message
    assert message.startswith("ci.yml: ignore: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("pattern", "fix"),
    [
        pytest.param(".vscode/", "'.vscode/**'", id="trailing-slash"),
        pytest.param("!docs/", "'!docs/**'", id="negated-trailing-slash"),
        pytest.param("/docs/**", "'docs/**'", id="leading-slash"),
        pytest.param("./docs/**", "'docs/**'", id="leading-dot-slash"),
        pytest.param(" docs/**", "'docs/**'", id="leading-space"),
        pytest.param("docs/** ", "'docs/**'", id="trailing-space"),
    ],
)
def test_patterns_github_accepts_but_that_never_match_say_so(pattern: str, fix: str) -> None:
    """GitHub accepts these and they match no changed file: accepted, matching nothing, and
    carrying the one line that names the fix (a warning where rules load, an error in doctor)."""
    parsed = parse_pattern(pattern)
    assert fix in parsed.never
    assert not IgnoreRules([pattern]).is_ignored(".vscode/settings.json")
    assert not IgnoreRules([pattern]).is_ignored("docs/a.md")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        pytest.param("[_a]x", "_x", True, id="underscore-in-set"),
        pytest.param("[A-z]", "_", True, id="range-across-A-z"),
        pytest.param("[^a]", "^", True, id="caret-is-literal-in-a-set"),
        pytest.param("?a", "?a", True, id="leading-question-is-literal"),
        pytest.param("+a", "+a", True, id="leading-plus-is-literal"),
        pytest.param("*?.md", "x.md", True, id="lazy-star-same-as-star"),
        pytest.param("a+?", "aaa", True, id="lazy-plus"),
        pytest.param("a**/b", "ab", True, id="globstar-slash-mid-component-empty"),
        pytest.param("a**/b", "ax/b", True, id="globstar-slash-mid-component-folder"),
        pytest.param("a**/b", "a/b", False, id="globstar-slash-mid-component-not-slash-only"),
    ],
)
def test_what_github_accepts_means_what_it_means_there(pattern: str, path: str, expected: bool) -> None:
    """Sets take A..z and digits, a leading ? or + is literal, a lazy repetition matches like the
    greedy one, and **/ is (.+/)? wherever it stands: GitHub's runner's reading."""
    assert IgnoreRules([pattern]).is_ignored(path) is expected


def test_the_first_invalid_pattern_in_a_list_is_named() -> None:
    """In a list, the error names the bad pattern, not a good neighbour."""
    with pytest.raises(PatternError) as caught:
        IgnoreRules(["docs/**", "src/[oops", "**.md"])
    assert caught.value.pattern == "src/[oops"


def test_star_md_versus_globstar_md() -> None:
    """``*.md`` only matches root files; ``**.md`` matches Markdown anywhere (TERP's intent)."""
    assert matches(["*.md"], "README.md") and not matches(["*.md"], "docs/guide/setup.md")
    assert matches(["**.md"], "docs/guide/setup.md")


def test_rules_remember_no_state_between_paths() -> None:
    """Deciding many paths in any order gives the same answers as deciding each alone."""
    patterns = ["docs/**", "**.md", "!docs/keep.md", "src/**/gen/*.py"]
    paths = ["docs/a", "docs/keep.md", "x.md", "src/a/gen/b.py", "src/gen/b.py", "src/a/b.py"] * 3
    shared = IgnoreRules(patterns)
    together = [shared.is_ignored(p) for p in paths]
    alone = [IgnoreRules(patterns).is_ignored(p) for p in paths]
    assert together == alone
    assert together[:6] == [True, False, True, True, True, False]


def test_the_automaton_is_rebuilt_when_it_outgrows_its_bound() -> None:
    """A state bound far below what the paths need still gives correct answers."""
    rules = IgnoreRules(["**/a*b*c/**", "!**/keep/**"], max_states=3, max_cached_paths=2)
    paths = [f"x{i}/aXbYc/f{i}" for i in range(20)] + ["q/aXbYc/keep/z", "abc"]
    assert [rules.is_ignored(p) for p in paths] == [True] * 20 + [False, False]


# --- Linear time -------------------------------------------------------------------------------

ADVERSARIAL = [
    pytest.param(["**/" * 25 + "a"], "b/" * 2000 + "c", id="nested-globstar-dirs"),
    pytest.param(["*" * 40 + "a"], "b" * 4000, id="many-stars"),
    pytest.param(["a?" * 30 + "a" * 30], "a" * 29 + "b", id="optional-chain"),
    pytest.param(["**" + "**a" * 20], "a" * 3000 + "b", id="globstar-chain"),
    pytest.param(["x+" * 20 + "y"], "x" * 5000, id="plus-chain"),
]


@pytest.mark.parametrize(("patterns", "path"), ADVERSARIAL)
def test_matching_builds_at_most_one_state_per_character(patterns: list[str], path: str) -> None:
    """Work per path is bounded by its length: at most one new automaton state per character.

    A backtracking matcher needs exponential or high-polynomial time on these; the timing
    itself is measured in benchmarks/run.py.
    """
    rules = IgnoreRules(patterns)
    before = rules.states_built
    assert rules.is_ignored(path) is False
    assert rules.states_built - before <= len(path) + 1


# --- Properties --------------------------------------------------------------------------------


def oracle_regex(pattern: str) -> tuple[bool, re.Pattern[str]]:
    """An independent reading of the documented rules as a Python regex (backtracking; small inputs)."""
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    out, i = "", 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out, i = out + "(?:.+/)?", i + 3
        elif body.startswith("**", i):
            out, i = out + ".*", i + 2
        elif c == "*":
            out, i = out + "[^/]*", i + 1
        elif c in "?+":
            out, i = out + (c if i > 0 else re.escape(c)), i + 1
        elif c == "[":
            end = body.index("]", i)
            inner = body[i + 1 : end]
            parts = re.split(r"(.-.)", inner)
            out = out + "[" + "".join(p if len(p) == 3 and p[1] == "-" else re.escape(p) for p in parts) + "]"
            i = end + 1
        elif c == "\\":
            out, i = out + re.escape(body[i + 1]), i + 2
        else:
            out, i = out + re.escape(c), i + 1
    return negated, re.compile(out)


def oracle_ignored(patterns: list[str], path: str) -> bool:
    ignored = False
    for pattern in patterns:
        negated, regex = oracle_regex(pattern)
        if regex.fullmatch(path):
            ignored = not negated
    return ignored


_pattern_text = st.text(alphabet="ab/.*?+![]\\", min_size=1, max_size=8)
_path_text = st.text(alphabet="ab/.", min_size=0, max_size=10)


def _valid(pattern: str) -> bool:
    try:
        parse_pattern(pattern)
    except PatternError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_pattern_text.filter(_valid), min_size=1, max_size=4),
    st.lists(_path_text, min_size=1, max_size=6),
)
def test_automaton_agrees_with_a_regex_reading_of_the_rules(patterns: list[str], paths: list[str]) -> None:
    """On small inputs the linear-time matcher decides exactly as a regex translation does."""
    rules = IgnoreRules(patterns)
    for path in paths:
        assert rules.is_ignored(path) == oracle_ignored(patterns, path), (patterns, path)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_pattern_text.filter(_valid), max_size=4),
    st.lists(_path_text.filter(bool), min_size=1, max_size=5),
    _path_text.filter(bool),
)
def test_adding_a_deployable_file_never_turns_deploy_into_skip(
    patterns: list[str], changed: list[str], extra: str
) -> None:
    """If a range deploys, adding any changed file keeps it deploying; a non-ignored one forces it."""
    rules = IgnoreRules(patterns)

    def deploys(paths: list[str]) -> bool:
        return any(not rules.is_ignored(p) for p in paths)

    if deploys(changed):
        assert deploys([*changed, extra])
    assume(not rules.is_ignored(extra))
    assert deploys([*changed, extra])


def test_display_path_escapes_what_a_terminal_would_mangle() -> None:
    """Non-UTF-8 bytes and control characters are shown escaped, not raw."""
    assert display_path(os.fsdecode(b"a\xe9.txt")) == "a\\xe9.txt"
    assert display_path("new\nline") == "new\\nline"
    assert display_path("plain/ü.md") == "plain/ü.md"


def test_a_list_longer_than_the_limit_is_refused_with_one_line() -> None:
    """More than MAX_PATTERNS patterns is bad input naming the count, before any matching."""
    with pytest.raises(BadInput, match=r"--ignore: 1,001 ignore patterns; at most 1,000"):
        IgnoreRules([f"dir{i}/**" for i in range(MAX_PATTERNS + 1)], where="--ignore")
    assert len(IgnoreRules([f"dir{i}/**" for i in range(MAX_PATTERNS)])) == MAX_PATTERNS


@pytest.mark.parametrize(
    ("general", "specific", "covered"),
    [
        pytest.param("**.md", "*.md", True, id="root-md-under-all-md"),
        pytest.param("docs/**", "docs/*.txt", True, id="folder-files"),
        pytest.param("**", "anything/at/all", True, id="everything"),
        pytest.param("docs/**/x", "docs/*/x", True, id="any-depth"),
        pytest.param("**.md", "*.mdx", False, id="other-suffix"),
        pytest.param("docs/**", "doc/**", False, id="other-prefix"),
        pytest.param("docs/**", "docs?/x", False, id="optional-prefix-char"),
        pytest.param("a**/b", "a/b", False, id="github-a(.+/)?b"),
        pytest.param("**.md", "!*.md", False, id="negations-never"),
        pytest.param("*.md", "a.md", False, id="general-not-one-double-star"),
    ],
)
def test_a_pattern_is_dropped_only_when_another_surely_covers_it(
    general: str, specific: str, covered: bool
) -> None:
    """subsumes() answers yes only where it is certain every path of one matches the other."""
    assert subsumes(general, specific) is covered
    if covered:
        for path in ("x.md", "docs/a.txt", "docs/q/x", "anything/at/all"):
            if IgnoreRules([specific]).is_ignored(path):
                assert IgnoreRules([general]).is_ignored(path), path


@pytest.mark.parametrize(
    ("written", "meant"),
    [(".vscode/", ".vscode/**"), ("/docs/**", "docs/**"), ("./.github/**", ".github/**"),
     ("!.idea/", "!.idea/**"), (" x ", "x"), ("ok/**", "ok/**")],
)  # fmt: skip
def test_a_never_matching_pattern_is_read_as_meant(written: str, meant: str) -> None:
    """What GitHub's meaning makes clear: a folder means its files; paths are relative to the root
    (a leading './' keeps the dot of '.github')."""
    assert meant_pattern(written) == meant
