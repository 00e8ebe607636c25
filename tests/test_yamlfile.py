"""Reading YAML we are given: size caps, alias bombs, deep nesting, keys, merge keys, one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from terp_actions.errors import BadInput
from terp_actions.yamlfile import MAX_DEPTH, load, locate, parse, read_text

BOMB = "\n".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    """A ~430-byte "billion laughs" document is refused with one line, not expanded."""
    assert len(BOMB) < 600
    with pytest.raises(BadInput, match=r"spec\.yaml: aliases expand the document past 200,000 nodes"):
        parse(BOMB, where="spec.yaml")


def test_aliases_within_the_budget_still_work() -> None:
    """Anchors and aliases as teams use them (a shared env list) load normally."""
    text = "common: &env [{key: A, value: '1'}]\nweb: {envs: *env}\nworker: {envs: *env}\n"
    assert parse(text, where="x")["worker"]["envs"] == [{"key": "A", "value": "1"}]


@pytest.mark.parametrize("shape", ["[", "{a: "], ids=["lists", "mappings"])
def test_deep_nesting_is_refused_without_a_recursion_error(shape: str) -> None:
    """A document nested 5,000 deep is one line naming the limit, not a RecursionError."""
    closer = "]" if shape == "[" else "}"
    with pytest.raises(BadInput, match=f"nested more than {MAX_DEPTH} deep"):
        parse("x: " + shape * 5000 + "1" + closer * 5000, where="config.yml")


def test_merge_keys_are_accepted_and_own_keys_win() -> None:
    """`<<: *defaults` merges, as YAML says; a key of the mapping itself overrides the merged one."""
    data = parse("base: &b {a: 1, b: 2}\nthing:\n  <<: *b\n  b: 3\n", where="x")
    assert data["thing"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: 1\na: 2\n", r"duplicate key 'a' \(line 2\)", id="duplicate-key"),
        pytest.param("? [a, b]\n: 1\n", "a key must be a plain value", id="unhashable-key"),
        pytest.param("a: [1\n", "line 2, column 1: not valid YAML", id="unclosed"),
    ],
)
def test_malformed_documents_are_one_line_naming_the_line(text: str, message: str) -> None:
    """Every problem is BadInput naming the file (and the line where YAML knows it)."""
    with pytest.raises(BadInput, match=message):
        parse(text, where="f.yml")


def test_reads_are_capped_and_decoded(tmp_path: Path) -> None:
    """/dev/zero, a directory named like a file, a broken symlink and non-UTF-8 bytes are each
    one clear line; nothing is read past the cap."""
    with pytest.raises(BadInput, match="is larger than 1024 KiB"):
        read_text(Path("/dev/zero"), what="configuration file")
    folder = tmp_path / "x.yml"
    folder.mkdir()
    with pytest.raises(BadInput, match="cannot be read"):
        read_text(folder)
    link = tmp_path / "gone.yml"
    link.symlink_to(tmp_path / "nowhere.yml")
    with pytest.raises(BadInput, match="cannot be read"):
        read_text(link)
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(BadInput, match="is not UTF-8 text"):
        load(latin)


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: *a}", "x: &x [1, [2, *x]]"])
def test_an_alias_that_refers_to_itself_is_refused_at_once(text: str) -> None:
    """A node holding an alias to itself would expand for ever: one clear line, at once."""
    with pytest.raises(BadInput, match="an alias refers to the node that holds it"):
        parse(text, where="cfg.yml")


def test_locate_finds_the_line_of_a_key_or_an_item() -> None:
    """The line of the key or list item at a path; 0 where there is none."""
    text = "on:\n  push:\n    paths-ignore: [a]\n  pull_request:\n    paths-ignore:\n      - a\n      - b\n"
    assert locate(text, ("on", "pull_request", "paths-ignore", 1)) == 7
    assert locate(text, ("on", "pull_request", "paths-ignore")) == 5
    assert locate(text, ("on", "push", "paths-ignore", 0)) == 3
    assert locate(text, ("on", "schedule")) == 0 and locate("not: [yaml", ("not",)) == 0
