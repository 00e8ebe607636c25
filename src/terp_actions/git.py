"""The only module that runs git: argument lists (never a shell), streamed output, our errors."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from terp_actions.errors import BadInput, GitError, NotARepository, RefError
from terp_actions.redact import Redactor

_CHUNK: Final = 1 << 20
_F_SETPIPE_SZ: Final = 1031  # Linux fcntl command; absent from the fcntl module before 3.10 on some builds
_HEX: Final = re.compile(r"[0-9a-f]{4,64}")
# A revision is a ref name or object id, optionally followed by ~N / ^N navigation.
_REVISION: Final = re.compile(r"(?P<name>[^~^]+)(?P<nav>(?:[~^][0-9]*)*)")
# Settings that keep git from prompting, taking optional locks or translating its messages.
_QUIET_ENV: Final = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_FLUSH": "0"}
# Options that make diff/log output independent of the user's configuration.
_PLAIN_DIFF: Final = ("--no-renames", "--no-ext-diff", "--no-textconv", "--no-relative", "--no-color")


def decode_path(raw: bytes) -> str:
    """A path as git stores it (bytes) to str; undecodable bytes survive as surrogates."""
    return raw.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Git:
    """A repository to run git in; ``env`` adds variables for every command (e.g. credentials)."""

    repo: Path
    env: Mapping[str, str] = field(default_factory=dict)

    def _environ(self) -> dict[str, str]:
        return {**os.environ, **_QUIET_ENV, **self.env}

    def run(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run ``git ARGS`` to completion; a non-zero exit raises GitError when ``check``."""
        try:
            proc = subprocess.run(
                ["git", *args], cwd=self.repo, env=self._environ(), capture_output=True, check=False
            )
        except FileNotFoundError as exc:
            raise GitError(args, 127, "git is not installed or not on PATH") from exc
        if check and proc.returncode != 0:
            raise _error(args, proc.returncode, proc.stderr)
        return proc

    def text(self, args: Sequence[str]) -> str:
        """Run ``git ARGS`` and return its stdout, stripped."""
        return self.run(args).stdout.decode("utf-8", "surrogateescape").strip()

    def stream(self, args: Sequence[str]) -> Iterator[bytes]:
        """Run ``git ARGS`` and yield its NUL-separated stdout tokens as they arrive.

        Memory holds one read chunk at a time, whatever the output's length. stderr goes to a
        temporary file so a chatty git can never block on a full pipe.
        """
        with tempfile.TemporaryFile() as errfile:
            try:
                proc = subprocess.Popen(
                    ["git", *args],
                    cwd=self.repo,
                    env=self._environ(),
                    stdout=subprocess.PIPE,
                    stderr=errfile,
                )
            except FileNotFoundError as exc:
                raise GitError(args, 127, "git is not installed or not on PATH") from exc
            assert proc.stdout is not None  # noqa: S101 - guaranteed by stdout=PIPE
            fd = proc.stdout.fileno()
            _widen_pipe(fd)
            finished = False
            try:
                rest = b""
                while chunk := os.read(fd, _CHUNK):
                    parts = (rest + chunk).split(b"\0")
                    rest = parts.pop()
                    yield from parts
                if rest:
                    yield rest
                finished = True
            finally:
                if not finished:
                    proc.kill()
                proc.stdout.close()
                returncode = proc.wait()
            if returncode != 0:
                errfile.seek(0)
                raise _error(args, returncode, errfile.read())


def _widen_pipe(fd: int) -> None:
    """Give git a 1 MiB pipe (Linux) so it keeps writing while we parse what it already wrote."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _CHUNK)
    except (ImportError, OSError):
        pass  # a smaller pipe is slower, not wrong


def _error(args: Sequence[str], returncode: int, stderr: bytes) -> GitError:
    # Shape-based redaction here too: git echoes remote URLs, which can carry credentials.
    text = Redactor()(stderr.decode("utf-8", "replace"))
    return GitError([Redactor()(a) for a in args], returncode, text)


_PLAIN_NAME: Final = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]+(?<![./])(?<!\.lock)")
_COMMIT_ID: Final = re.compile(r"[0-9a-f]{7,64}")
_FULL_COMMIT_ID: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_commit_id(text: str, *, full: bool = False) -> bool:
    """True for a commit id in hex: at least 7 digits, or (``full``) a whole SHA-1 or SHA-256."""
    return bool((_FULL_COMMIT_ID if full else _COMMIT_ID).fullmatch(text))


def is_branch_name(name: str) -> bool:
    """True for a plain branch (or remote) name: letters, digits, ``.``, ``_``, ``/``, ``-``."""
    return bool(_PLAIN_NAME.fullmatch(name))


def check_names(git: Git, *names: str) -> None:
    """Refuse branch or remote names that are not plain, valid git names (one line, exit 2)."""
    for name in names:
        if (
            not is_branch_name(name)
            or git.run(["check-ref-format", "--branch", name], check=False).returncode
        ):
            raise BadInput(
                f"{name!r} is not a valid branch or remote name (letters, digits, '.', '_', '/', '-')"
            )


def open_repo(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Git:
    """A Git for ``path``, refusing a directory that is not inside a git repository."""
    repo = Path(path)
    try:
        found = repo.is_dir()
    except OSError as exc:  # a name too long for the file system, say
        raise NotARepository(f"{str(repo)[:200]}: not a usable directory ({exc.strerror})") from None
    if not found:
        raise NotARepository(f"{str(repo)[:200]}: no such directory")
    git = Git(repo, env or {})
    proc = git.run(["rev-parse", "--git-dir"], check=False)
    if proc.returncode != 0:
        raise NotARepository(f"{repo}: not a git repository (or any of its parents)")
    return git


def check_revision(git: Git, rev: str, *, what: str = "revision") -> None:
    """Refuse a revision that is not a ref name or object id, with optional ``~N``/``^N``."""
    found = _REVISION.fullmatch(rev)
    if rev.startswith("-") or found is None:
        raise RefError(f"{what} {rev!r} is not a valid git revision")
    name = found["name"]
    if name in {"HEAD", "@"} or _HEX.fullmatch(name):
        return
    proc = git.run(["check-ref-format", "--allow-onelevel", name], check=False)
    if proc.returncode != 0:
        raise RefError(f"{what} {rev!r} is not a valid git ref name")


def resolve_commit(git: Git, rev: str, *, what: str = "revision") -> str | None:
    """The full SHA of the commit ``rev`` names, or None when the repository does not have it."""
    check_revision(git, rev, what=what)
    proc = git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip()


def is_shallow(git: Git) -> bool:
    """True when the repository's history was cut off by a shallow clone."""
    return git.text(["rev-parse", "--is-shallow-repository"]) == "true"


def is_ancestor(git: Git, ancestor: str, descendant: str) -> bool:
    """True when ``ancestor`` is reachable from ``descendant`` (equal counts)."""
    args = ["merge-base", "--is-ancestor", ancestor, descendant]
    proc = git.run(args, check=False)
    if proc.returncode in (0, 1):
        return proc.returncode == 0
    raise _error(args, proc.returncode, proc.stderr)


def changed_paths(git: Git, base: str, head: str, *only: str) -> Iterator[str]:
    """Paths that differ between the trees of ``base`` and ``head`` (renames as delete + add),
    limited to the literal paths ``only`` when given."""
    args = ["diff", "--name-only", "-z", *_PLAIN_DIFF, base, head, "--", *(f":(literal){p}" for p in only)]
    for token in git.stream(args):
        if token:
            yield decode_path(token)


@dataclass(frozen=True)
class CommitChange:
    """One commit along the first parent, with the paths it changed against its first parent."""

    sha: str
    parents: tuple[str, ...]
    subject: str
    files: tuple[str, ...]


def first_parent_changes(git: Git, base: str | None, head: str) -> Iterator[CommitChange]:
    """Commits of ``base..head`` along the first parent, newest first, in one streaming log.

    Merge commits are diffed against their first parent, root commits against the empty tree.
    """
    # Each record starts with an empty token (the leading %x00); paths can never be empty, so
    # that is an unambiguous boundary. The first path of a commit follows a newline.
    args = [
        "log", "-z", "--first-parent", "--diff-merges=first-parent", "--name-only", "--root",
        "--no-show-signature", *_PLAIN_DIFF, "--format=%x00%H %P%x00%s",
        head if base is None else f"{base}..{head}", "--",
    ]  # fmt: skip
    start, header, subject_next, first_path, paths = range(5)
    state = start
    sha, subject = "", ""
    parents: tuple[str, ...] = ()
    files: list[str] = []
    for token in git.stream(args):
        # Ordered by frequency: most tokens are paths.
        if state == paths:
            if token:
                files.append(token.decode("utf-8", "surrogateescape"))
                continue
            yield CommitChange(sha, parents, subject, tuple(files))
            state = header
        elif state == first_path:
            if token:  # the first path of a commit follows the newline that ends its header
                files.append(decode_path(token[1:] if token[:1] == b"\n" else token))
                state = paths
            else:  # a commit that changed nothing
                yield CommitChange(sha, parents, subject, ())
                state = header
        elif state == header:
            sha, *rest = token.decode().split(" ")
            parents = tuple(p for p in rest if p)
            state = subject_next
        elif state == subject_next:
            subject = token.decode("utf-8", "replace")
            files = []
            state = first_path
        else:  # the stream opens with the empty token of the first record
            state = header
    if state in (first_path, paths):
        yield CommitChange(sha, parents, subject, tuple(files))


def count_first_parent(git: Git, base: str, head: str) -> int:
    """Number of commits in ``base..head`` along the first parent."""
    return int(git.text(["rev-list", "--count", "--first-parent", f"{base}..{head}", "--"]))


def is_dirty(git: Git) -> bool:
    """True when tracked files have uncommitted changes."""
    return bool(git.run(["status", "--porcelain", "--untracked-files=no"]).stdout.strip())


def has_remote(git: Git, remote: str) -> bool:
    """True when the clone has a remote named ``remote``."""
    return remote in git.text(["remote"]).split()


def remote_url(git: Git, remote: str) -> str:
    """The fetch URL of ``remote``; a remote the clone does not have is bad input naming it."""
    proc = git.run(["remote", "get-url", "--", remote], check=False)
    if proc.returncode != 0:
        raise BadInput(f"{git.repo}: no remote named {remote!r} (`git remote -v` lists the ones there are)")
    return proc.stdout.decode("utf-8", "replace").strip()


def fetch_branches(git: Git, remote: str, branches: Sequence[str]) -> None:
    """Update ``refs/remotes/<remote>/<branch>`` for each branch, through the remote's configured
    fetch refspec (so no forcing refspec ever appears on our command line)."""
    git.run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", remote, *branches])


def tracked_branches(git: Git, remote: str) -> set[str]:
    """The branches this clone knows ``remote`` has (its remote-tracking refs; no request)."""
    prefix = f"refs/remotes/{remote}/"
    refs = git.text(["for-each-ref", "--format=%(refname)", "--", prefix]).split()
    return {ref.removeprefix(prefix) for ref in refs if ref != f"{prefix}HEAD"}


def fetch_commit(git: Git, remote: str, sha: str) -> bool:
    """Fetch one commit by its id (GitHub serves any reachable commit); False when the remote
    does not have it. Nothing is written under refs/."""
    if not is_commit_id(sha):
        return False
    proc = git.run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", remote, sha], check=False)
    return proc.returncode == 0


def remote_has_branch(git: Git, remote: str, branch: str) -> bool:
    """True when ``remote`` has ``branch`` (asks the remote)."""
    args = ["ls-remote", "--exit-code", "--heads", "--", remote, f"refs/heads/{branch}"]
    proc = git.run(args, check=False)
    if proc.returncode in (0, 2):
        return proc.returncode == 0
    raise _error(["ls-remote", remote], proc.returncode, proc.stderr)


def count_commits(git: Git, base: str, head: str) -> int:
    """Number of commits in ``base..head`` (all parents)."""
    return int(git.text(["rev-list", "--count", f"{base}..{head}", "--"]))


def merge_tree(git: Git, ours: str, theirs: str) -> tuple[str | None, list[str]]:
    """Merge two commits without a work tree: (tree, []) or (None, conflicting files)."""
    args = ["merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", ours, theirs]
    proc = git.run(args, check=False)
    if proc.returncode not in (0, 1):
        raise _error(["merge-tree", ours, theirs], proc.returncode, proc.stderr)
    parts = proc.stdout.split(b"\0")
    if proc.returncode == 0:
        return parts[0].decode().strip(), []
    files = []
    for raw in parts[1:]:
        if not raw:
            break
        files.append(decode_path(raw))
    return None, sorted(set(files))


def commit_tree(
    git: Git, tree: str, parents: Sequence[str], message: str, identity: Mapping[str, str]
) -> str:
    """Create a commit object (no ref moves); ``identity`` sets author and committer."""
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    return Git(git.repo, {**git.env, **identity}).text([*args, "-m", message])


@dataclass(frozen=True)
class PushOutcome:
    """What the remote said about one ref we pushed."""

    ok: bool
    moved: bool  # rejected because the remote branch moved (fetch first / non-fast-forward)
    reason: str


def push_commit(git: Git, remote: str, sha: str, branch: str) -> PushOutcome:
    """Push ``sha`` to ``branch`` on ``remote`` with a plain push: the remote refuses it unless it
    fast-forwards what the branch holds now, so nothing there can be lost. Never forced."""
    ref = f"refs/heads/{branch}"
    proc = git.run(["push", "--porcelain", "--quiet", "--", remote, f"{sha}:{ref}"], check=False)
    if proc.returncode == 0:
        return PushOutcome(True, False, "")
    redact = Redactor()
    out = redact(proc.stdout.decode("utf-8", "replace"))
    err = redact(proc.stderr.decode("utf-8", "replace")).strip()
    # Porcelain: "<flag>\t<from>:<to>\t<summary> (<reason>)"; "!" is a rejection.
    line = next((ln for ln in out.splitlines() if ln.startswith("!") and ref in ln), "")
    summary = line.split("\t")[-1] if line else ""
    # Moved under us: refused as not a fast-forward of the new tip, or (a push racing ours while
    # it was being sent) the server's compare-and-swap of the ref failed.
    signs = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref", "but expected",
             "incorrect old value")  # fmt: skip
    moved = any(k in summary for k in signs)
    reason = summary or (err.splitlines()[-1] if err else "push refused")
    return PushOutcome(False, moved, reason[:300])


def auth_env(
    url: str, token: str, server_url: str = "https://github.com", environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment that makes git send ``token`` to ``server_url`` (never written to disk or argv).

    Git reads ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` as configuration, so
    the header lives only in the environment of the git processes that need it.
    """
    if not token or not url.startswith(server_url.rstrip("/") + "/"):
        return {}
    import base64  # noqa: PLC0415

    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    index = int((environ or os.environ).get("GIT_CONFIG_COUNT", "0") or 0)  # keep settings already given
    return {
        "GIT_CONFIG_COUNT": str(index + 1),
        f"GIT_CONFIG_KEY_{index}": f"http.{server_url.rstrip('/')}/.extraheader",
        f"GIT_CONFIG_VALUE_{index}": f"AUTHORIZATION: basic {basic}",
    }


def subjects(git: Git, base: str | None, head: str) -> Iterator[str]:
    """Subjects of every commit in ``base..head`` (all parents, not only the first)."""
    return (subject for _, subject in commit_subjects(git, base, head))


def commit_subjects(git: Git, base: str | None, head: str) -> Iterator[tuple[str, str]]:
    """``(sha, subject)`` of every commit in ``base..head``, newest first (all parents)."""
    args = [
        "log",
        "-z",
        "--no-show-signature",
        "--format=%H %s",
        head if base is None else f"{base}..{head}",
        "--",
    ]
    for token in git.stream(args):
        if token:
            sha, _, subject = token.decode("utf-8", "replace").partition(" ")
            yield sha, subject


@dataclass(frozen=True)
class Message:
    """One commit's message on a first-parent line: its id, parents, subject and body."""

    sha: str
    parents: tuple[str, ...]
    subject: str
    body: str


def first_parent_messages(git: Git, revisions: str, *, limit: int | None = None) -> Iterator[Message]:
    """The commits of ``revisions`` (a tip or a ``base..tip`` range) along the first-parent
    line, newest first, with their whole messages (streamed, NUL-separated)."""
    args = ["log", "--first-parent", "-z", "--no-show-signature", "--format=%H%x01%P%x01%s%x01%b"]
    if limit is not None:
        args.append(f"-n{limit}")
    for token in git.stream([*args, revisions, "--"]):
        parts = token.decode("utf-8", "replace").split("\x01")
        if len(parts) == 4:
            yield Message(parts[0], tuple(parts[1].split()), parts[2], parts[3])
