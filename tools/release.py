#!/usr/bin/env python3
"""Release tooling (run by the release workflow and the tests; not part of the package).

    python tools/release.py check-tag vX.Y.Z     the tag names the package's version, and the
                                                 changelog has that version's section
    python tools/release.py stamp SHA            write the release commit into the package
    python tools/release.py notes X.Y.Z          print the changelog section (the release notes)
    python tools/release.py check-dist DIR       the built sdist and wheel hold what they should

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "terp_actions"
_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
_SHA = re.compile(r"[0-9a-f]{40}")


def package_version(root: Path = ROOT) -> str:
    found = _VERSION.search((root / "src" / "terp_actions" / "__init__.py").read_text(encoding="utf-8"))
    if not found:
        raise SystemExit("release: src/terp_actions/__init__.py has no __version__")
    return found[1]


def changelog_section(text: str, version: str) -> str:
    """The body of ``## [version] - date`` up to the next version heading."""
    heading = rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}\n"
    match = re.search(heading + r"(.*?)(?=^## \[|^\[[^\]]+\]: |\Z)", text, re.MULTILINE | re.DOTALL)
    if not match or not match[1].strip():
        raise SystemExit(f"release: CHANGELOG.md has no dated section for {version}")
    return match[1].strip() + "\n"


def check_tag(tag: str, root: Path = ROOT) -> str:
    version = package_version(root)
    if tag != f"v{version}":
        raise SystemExit(
            f"release: tag {tag!r} does not name the package's version {version} (want v{version})"
        )
    changelog_section((root / "CHANGELOG.md").read_text(encoding="utf-8"), version)
    return version


def stamp(sha: str, root: Path = ROOT) -> None:
    if not _SHA.fullmatch(sha):
        raise SystemExit(f"release: {sha!r} is not a full commit SHA")
    path = root / "src" / "terp_actions" / "_release.py"
    text = path.read_text(encoding="utf-8")
    stamped, count = re.subn(r'^COMMIT = "[0-9a-f]*"$', f'COMMIT = "{sha}"', text, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit(f"release: {path} has no COMMIT line to stamp")
    path.write_text(stamped, encoding="utf-8")


# What the distributions may hold: the package (its sandbox included: `demo` and `sandbox serve`
# need it), its metadata, and the sdist's build files. Never tests, benchmarks or tooling.
_WHEEL_ALLOWED = re.compile(r"^(terp_actions/.+|terp_actions-[^/]+\.dist-info/.+)$")
_SDIST_ALLOWED = re.compile(
    r"^terp_actions-[^/]+/(PKG-INFO|pyproject\.toml|setup\.cfg|setup\.py|README\.md|LICENSE|CHANGELOG\.md|MANIFEST\.in"
    r"|src/terp_actions/.+|src/terp_actions\.egg-info/.+)$"
)


def check_dist(folder: Path, *, require_stamp: bool = True) -> list[str]:
    """Problems with the one wheel and one sdist in ``folder`` (empty: fine)."""
    problems: list[str] = []
    wheels, sdists = sorted(folder.glob("*.whl")), sorted(folder.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"expected one wheel and one sdist in {folder}, found {len(wheels)} and {len(sdists)}"]
    version = package_version()
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        problems += [f"wheel holds {n}" for n in names if not _WHEEL_ALLOWED.match(n)]
        for needed in (
            "terp_actions/cli/__init__.py",
            "terp_actions/sandbox/demo.py",
            "terp_actions/py.typed",
        ):
            if needed not in names:
                problems.append(f"wheel lacks {needed}")
        meta_name = next((n for n in names if n.endswith(".dist-info/METADATA")), "")
        meta = Parser().parsestr(wheel.read(meta_name).decode()) if meta_name else None
        if meta is None or meta["Name"] != "terp-actions" or meta["Version"] != version:
            problems.append(f"wheel metadata is not terp-actions {version}")
        elif not meta["Requires-Python"] or not meta["License-Expression"]:
            problems.append("wheel metadata lacks Requires-Python or License-Expression")
        entry = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), "")
        if not entry or "terp-actions = terp_actions.cli:main" not in wheel.read(entry).decode():
            problems.append("wheel has no terp-actions console script")
        release = (
            wheel.read("terp_actions/_release.py").decode() if "terp_actions/_release.py" in names else ""
        )
        if require_stamp and not re.search(r'^COMMIT = "[0-9a-f]{40}"$', release, re.MULTILINE):
            problems.append(
                "wheel's terp_actions/_release.py carries no release commit (stamp before building)"
            )
    with tarfile.open(sdists[0]) as sdist:
        problems += [
            f"sdist holds {m.name}"
            for m in sdist.getmembers()
            if m.isfile() and not _SDIST_ALLOWED.match(m.name)
        ]
    return problems


def main(argv: list[str]) -> int:
    command, *args = argv or ["help"]
    if command == "check-tag" and len(args) == 1:
        print(f"release: tag {args[0]} is version {check_tag(args[0])}")
    elif command == "stamp" and len(args) == 1:
        stamp(args[0])
        print(f"release: stamped {args[0]}")
    elif command == "notes" and len(args) == 1:
        print(changelog_section((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), args[0]), end="")
    elif command == "check-dist" and len(args) == 1:
        problems = check_dist(Path(args[0]))
        for problem in problems:
            print(f"release: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("release: the sdist and the wheel hold what they should")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
