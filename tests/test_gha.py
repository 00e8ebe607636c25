"""The runner interface: outputs that cannot be injected into, annotations, masks, groups."""

from __future__ import annotations

import io
from pathlib import Path

from terp_actions.gha import Runner, escape_property, render_annotation, render_outputs


def test_outputs_use_a_fresh_random_delimiter_per_value() -> None:
    """Each value gets its own heredoc delimiter, so a value cannot close it and add outputs."""
    text = render_outputs({"a": "x\nEOF\nevil=1", "b": "y"})
    first, second = (line.split("<<")[1] for line in text.splitlines() if "<<" in line)
    assert first != second and first.startswith("ghadelimiter_")
    assert text.splitlines()[1:4] == ["x", "EOF", "evil=1"]


def test_annotations_escape_newlines_and_properties() -> None:
    """A multi-line message stays one command; title colons and commas are escaped."""
    line = render_annotation("error", "bad\nthing 100%", title="a: b, c")
    assert line == "::error title=a%3A b%2C c::bad%0Athing 100%25"
    assert escape_property("x,y") == "x%2Cy"


def test_runner_writes_files_only_in_actions(tmp_path: Path) -> None:
    """Outputs and summary are appended to the runner's files; without them nothing is written."""
    out, err = io.StringIO(), io.StringIO()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "o"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s"),
    }
    runner = Runner.from_environ(env, out, err)
    runner.set_outputs({"deploy": "true"})
    runner.add_summary("# hi")
    runner.mask("s3cret\nline2")
    with runner.group("Plan"):
        print("inside", file=out)
    assert "deploy<<ghadelimiter_" in (tmp_path / "o").read_text()
    assert (tmp_path / "s").read_text() == "# hi\n"
    assert out.getvalue().splitlines() == [
        "::add-mask::s3cret",
        "::add-mask::line2",
        "::group::Plan",
        "inside",
        "::endgroup::",
    ]

    local = Runner.from_environ({}, io.StringIO(), err2 := io.StringIO())
    local.set_outputs({"deploy": "true"})
    local.annotate("warning", "two\nlines")
    assert err2.getvalue() == "terp-actions: warning: two\nterp-actions: warning: lines\n"


def test_untrusted_text_is_fenced_by_stop_commands() -> None:
    """In Actions, untrusted text is printed between stop-commands and its resume token."""
    out = io.StringIO()
    runner = Runner(in_actions=True, out=out, err=io.StringIO())
    with runner.untrusted():
        print("::set-env name=X::y", file=out)
    lines = out.getvalue().splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
