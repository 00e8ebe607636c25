"""Adopting terp-actions in a repository: write the configuration and the caller workflows, check
them with doctor, and say what a person must still do."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from terp_actions import yamlfile
from terp_actions.adopt import (
    PROMOTE_CALLER,
    STAGING_CALLER,
    Adoption,
    Pin,
    checklist,
    plan_adoption,
    read_facts,
)
from terp_actions.config import DEFAULT_PATH, Config, parse
from terp_actions.doctor import Finding, Repository, diagnose, read_repository
from terp_actions.errors import BadInput, DoctorFoundErrors, TerpError
from terp_actions.flows.outcome import Console, Outcome
from terp_actions.gha import Json

if TYPE_CHECKING:
    from terp_actions.git import Git


@dataclass
class InitOutcome(Outcome):
    """The files (and what became of each), doctor's findings on them, and the checklist."""

    pin: Pin
    adoption: Adoption
    actions: dict[str, str] = field(default_factory=dict)  # path -> written | unchanged | would write | …
    findings: list[Finding] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    dry_run: bool = False
    failure: TerpError | None = None

    def data(self) -> dict[str, Json]:
        return {
            "files": [{"path": path, "action": action} for path, action in self.actions.items()],
            "pin": self.pin.sha,
            "release": self.pin.release,
            "version": self.pin.version,
            "findings": [
                {"severity": f.severity, "file": f.file, "line": f.line, "message": f.message, "fix": f.fix}
                for f in self.findings
            ],
            "checklist": list(self.steps),
            "dry-run": self.dry_run,
        }


def adopt_repository(
    git: Git, root: Path, pin: Pin, *, console: Console, force: bool = False, dry_run: bool = False
) -> InitOutcome:
    """Plan the three files; refuse to overwrite a different file without ``force`` (before
    writing anything); write them (or, in a dry run, show them); run doctor over the result."""
    writes = (DEFAULT_PATH, STAGING_CALLER, PROMOTE_CALLER)
    repository = read_repository(git, root, Config(), DEFAULT_PATH)  # read once: facts, then doctor
    facts = read_facts(git, repository, writes)
    adoption = plan_adoption(facts, pin)
    outcome = InitOutcome(pin, adoption, dry_run=dry_run)
    changed = {}
    for planned in adoption.files:
        target = root / planned.path
        current = target.read_text(encoding="utf-8", errors="replace") if target.exists() else None
        if current == planned.text:
            outcome.actions[planned.path] = "unchanged"
        else:
            changed[planned.path] = current is not None
    clashes = [path for path, exists in changed.items() if exists]
    if clashes and not force and not dry_run:
        verbs = "exists and differs" if len(clashes) == 1 else "exist and differ"
        raise BadInput(
            f"{', '.join(clashes)} already {verbs} from what init would write; nothing was written "
            "(--dry-run shows it, --force overwrites)"
        )
    for planned in adoption.files:
        if planned.path not in changed:
            continue
        if dry_run:
            outcome.actions[planned.path] = "would overwrite" if changed[planned.path] else "would write"
            with console.group(f"{outcome.actions[planned.path]} {planned.path}"):
                console.say(planned.text.rstrip("\n"))
            continue
        target = root / planned.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(planned.text, encoding="utf-8")
        outcome.actions[planned.path] = "overwritten" if changed[planned.path] else "written"
    outcome.findings = _doctor(repository, adoption)
    outcome.steps = checklist(adoption, facts)
    errors = sum(1 for f in outcome.findings if f.severity == "error")
    if errors:
        outcome.failure = DoctorFoundErrors(
            f"doctor found {errors} error{'s' if errors != 1 else ''} in the repository as init leaves it: "
            "fix them (each is listed with its fix) before the first run"
        )
    return outcome


def _doctor(repository: Repository, adoption: Adoption) -> list[Finding]:
    """doctor over the repository with the planned files in place (written or not)."""
    texts = {planned.path: planned.text for planned in adoption.files}
    repository.config = parse(texts[DEFAULT_PATH], where=DEFAULT_PATH)
    repository.config_text = texts[DEFAULT_PATH]
    for path in (STAGING_CALLER, PROMOTE_CALLER):
        repository.workflows[path] = (texts[path], yamlfile.parse(texts[path], where=path))
    return diagnose(repository)
