"""The GitHub Actions runner interface: outputs, step summary, annotations, groups and masks.

Rendering is pure (``render_*``); writing is one call on a :class:`Runner`. Outside Actions the
same calls degrade to plain text on the given streams, so commands behave alike on a laptop.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from terp_actions.errors import BadInput

Level = Literal["error", "warning", "notice"]
# A value of a ``--json`` document; the same datum as an action output is ``output_text`` of it.
Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]


def output_text(value: Json) -> str:
    """An action output's text for a JSON value: '' for null, true/false, JSON for lists and maps."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def escape_data(text: str) -> str:
    """Escape a workflow command's message so it stays one command on one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (``title=``, ``file=``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_annotation(level: Level, message: str, *, title: str = "", file: str = "") -> str:
    """The ``::error title=…::message`` line for one annotation."""
    props = [f"{key}={escape_property(value)}" for key, value in (("title", title), ("file", file)) if value]
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"


def render_outputs(outputs: Mapping[str, str], token: str | None = None) -> str:
    """``$GITHUB_OUTPUT`` text for ``outputs``: every value in a heredoc with a random delimiter.

    The delimiter is random per value and checked against it, so no value (a commit subject, a
    file name) can end the heredoc early and inject another output.
    """
    chunks = []
    for name, value in outputs.items():
        delimiter = f"ghadelimiter_{token or os.urandom(16).hex()}"
        if delimiter in value:  # only possible with a caller-chosen token
            raise ValueError(f"output {name!r} contains its own delimiter")
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(chunks)


@dataclass
class Runner:
    """Where a command's runner-facing effects go; built from the environment by ``cli.py``."""

    in_actions: bool = False
    output_file: Path | None = None
    summary_file: Path | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    # Applied to everything written: outputs, summary, annotations (cli.py passes its Redactor).
    redact: Callable[[str], str] = field(default=lambda text: text)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], out: TextIO, err: TextIO) -> Runner:
        """Read ``GITHUB_ACTIONS``, ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``."""
        output = environ.get("GITHUB_OUTPUT") or None
        summary = environ.get("GITHUB_STEP_SUMMARY") or None
        return cls(
            in_actions=environ.get("GITHUB_ACTIONS") == "true",
            output_file=Path(output) if output else None,
            summary_file=Path(summary) if summary else None,
            out=out,
            err=err,
        )

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Append step outputs to ``$GITHUB_OUTPUT`` (nothing when it is not set). A file that
        cannot be written is bad input naming it: later steps would read outputs that are not there."""
        if self.output_file is not None:
            try:
                with self.output_file.open("a", encoding="utf-8", errors="surrogateescape") as fh:
                    fh.write(render_outputs({k: self.redact(v) for k, v in outputs.items()}))
            except OSError as exc:
                raise BadInput(
                    f"GITHUB_OUTPUT {str(self.output_file)[:200]}: cannot be written "
                    f"({exc.strerror or type(exc).__name__}); this step's outputs are lost"
                ) from None

    def add_summary(self, markdown: str) -> None:
        """Append Markdown to the job summary (nothing when it is not set). A summary that cannot
        be written is a warning: it is for people, and the step's result stands."""
        if self.summary_file is not None:
            try:
                with self.summary_file.open("a", encoding="utf-8", errors="surrogateescape") as fh:
                    fh.write(self.redact(markdown).rstrip("\n") + "\n")
            except OSError as exc:
                self.annotate(
                    "warning",
                    f"GITHUB_STEP_SUMMARY {str(self.summary_file)[:200]}: cannot be written "
                    f"({exc.strerror or type(exc).__name__}); the job summary misses this step",
                    title="Job summary",
                )

    def annotate(self, level: Level, message: str, *, title: str = "") -> None:
        """One annotation in Actions; one ``level: message`` line on stderr elsewhere."""
        message, title = self.redact(message), self.redact(title)
        if self.in_actions:
            print(render_annotation(level, message, title=title), file=self.err)
        else:
            for index, line in enumerate(message.splitlines() or [""]):
                # A hint follows its message indented, so the error itself stays one line.
                hint = index and line.startswith("hint: ")
                print(f"  {line}" if hint else f"terp-actions: {level}: {line}", file=self.err)

    def mask(self, value: str) -> None:
        """Ask the runner to hide ``value`` (each of its lines) from the log."""
        if self.in_actions:
            for line in value.splitlines():
                if line.strip():
                    print(f"::add-mask::{escape_data(line)}", file=self.out)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible log group in Actions; a heading line elsewhere."""
        if self.in_actions:
            print(f"::group::{escape_data(title)}", file=self.out)
        else:
            print(f"== {title}", file=self.out)
        try:
            yield
        finally:
            if self.in_actions:
                print("::endgroup::", file=self.out)

    @contextmanager
    def untrusted(self) -> Iterator[None]:
        """Suspend workflow-command processing while text we do not control is printed."""
        token = os.urandom(16).hex()
        if self.in_actions:
            print(f"::stop-commands::{token}", file=self.out)
        try:
            yield
        finally:
            if self.in_actions:
                print(f"::{token}::", file=self.out)
