"""Build hooks (the project's metadata is in pyproject.toml): a wheel or sdist built from a git
checkout records the commit it was built from in ``terp_actions/_release.py`` (``BUILT_FROM``), so
`terp-actions init` can pin the workflows to exactly that commit however the package was
installed. A build from anything else (an unpacked sdist that carries it already, a copy) keeps
what the file says."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
_RELEASE = Path("terp_actions") / "_release.py"


def _checkout_head() -> str:
    """This folder's HEAD when the folder is the top of a git checkout, else ''."""

    def git(*args: str) -> str:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=20
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != ROOT:
        return ""
    head = git("rev-parse", "--verify", "HEAD^{commit}")
    return head if re.fullmatch(r"[0-9a-f]{40}", head) else ""


def _stamp(path: Path) -> None:
    """Write the source's ``_release.py`` to ``path`` with this checkout's HEAD (none outside a
    checkout): always from the source, so a build folder left by an earlier build never keeps an
    older commit."""
    source = ROOT / "src" / _RELEASE
    if not source.exists() or not path.parent.exists():
        return  # a build from an unpacked sdist: its copy already says what it was built from
    head = _checkout_head()
    text = source.read_text(encoding="utf-8")
    if head:
        text = re.sub(r'^BUILT_FROM = "[0-9a-f]*"$', f'BUILT_FROM = "{head}"', text, flags=re.MULTILINE)
    if path.exists():
        path.unlink()  # it may be a hard link to the source (sdist trees are)
    path.write_text(text, encoding="utf-8")


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        _stamp(Path(self.build_lib) / _RELEASE)


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _stamp(Path(base_dir) / "src" / _RELEASE)


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
