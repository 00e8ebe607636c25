"""One exception family: each error carries what a person needs to act, and its exit code.

    TerpError                    exit 1: the work ran and the answer is no
    ├── BadInput                 exit 2: a wrong option, value, file or configuration
    │   ├── PatternError         an ignore pattern GitHub would refuse
    │   ├── ConfigError          a configuration file (one line per mistake)
    │   ├── RefError             a git revision that is malformed or unknown
    │   └── NotARepository       the folder is not a git work tree
    ├── GitError                 a git command failed (command, return code, stderr)
    ├── ServiceError             an outside API refused or failed (HTTP status)
    │   ├── DigitalOceanError    App Platform (app, deployment)
    │   │   ├── AppNotFound      exit 2: the configured app does not exist for this token
    │   │   ├── TokenRefused     exit 2: App Platform refused the token (401)
    │   │   ├── LogUnavailable   a log that could not be read (never an empty log)
    │   │   └── RequestLost      a write whose answer was lost: look before retrying
    │   └── GitHubError          the GitHub API
    │       └── RateLimited      a rate limit that outlasts the run's wait budget
    ├── SyncConflict             main cannot be merged into staging without a person
    ├── PushRejected             the remote refused our push; nothing was lost
    ├── DeploymentFailed         the deploy did not go live (deployment, phase, fingerprint)
    ├── VerificationFailed       the deploy is live but a check failed
    ├── PromotionRefused         the promotion gate said no; nothing changed
    ├── PromotionFailed          production did not verify (and was rolled back, or not)
    ├── RollbackFailed           rolling back did not bring the app back
    ├── PreviewRefused           a preview app that may not be made, kept or deleted
    └── DoctorFoundErrors        doctor found error-level problems

An error's text is final once raised: a caller that knows more raises a new error (chained).
"""

from __future__ import annotations

from collections.abc import Sequence


class TerpError(Exception):
    """Base of every error terp-actions raises on purpose.

    ``exit_code`` follows the CLI contract: 1 the work ran and the answer is no, 2 bad input or
    configuration. ``hint`` is one line telling the person what to do next.
    """

    exit_code = 1
    title = "terp-actions failed"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class BadInput(TerpError):
    """Input that cannot be acted on: a wrong option, a malformed value."""

    exit_code = 2
    title = "Bad input"


class PatternError(BadInput):
    """An ignore pattern that is malformed or can never match."""

    title = "Invalid ignore pattern"

    def __init__(self, pattern: str, reason: str, *, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid pattern {pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason
        self.where = where


class ConfigError(BadInput):
    """A configuration file that cannot be used; ``problems`` holds one line per mistake."""

    title = "Invalid configuration"

    def __init__(self, problems: Sequence[str], *, hint: str = "") -> None:
        super().__init__("\n".join(problems), hint=hint)
        self.problems = tuple(problems)


class RefError(BadInput):
    """A git revision that is malformed or does not exist in the repository."""

    title = "Unknown git revision"


class NotARepository(BadInput):
    """The directory given as the repository is not a git work tree."""

    title = "Not a git repository"


class GitError(TerpError):
    """A git command that failed; carries the command, its return code and (redacted) stderr."""

    title = "git failed"

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        self.args_ = tuple(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        shown = " ".join(self.args_)
        detail = self.stderr.splitlines()[-1] if self.stderr else "no message"
        super().__init__(f"`git {shown}` exited {returncode}: {detail}")


class ServiceError(TerpError):
    """An outside API (GitHub, App Platform) refused or failed; carries the HTTP status if any."""

    title = "Service request failed"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class DigitalOceanError(ServiceError):
    """App Platform answered with an error; names the app and deployment involved."""

    title = "App Platform request failed"

    def __init__(
        self,
        message: str,
        *,
        app: str = "",
        deployment: str = "",
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        hint: str = "",
    ) -> None:
        where = " ".join(
            p for p in (f"app {app}" if app else "", f"deployment {deployment}" if deployment else "") if p
        )
        text = f"{where}: {message}" if where else message
        super().__init__(text, status=status, retryable=retryable, retry_after=retry_after, hint=hint)
        self.app = app
        self.deployment = deployment


class AppNotFound(DigitalOceanError):
    """The configured app does not exist (or the token cannot see it): a configuration mistake."""

    exit_code = 2
    title = "App not found"


class RequestLost(DigitalOceanError):
    """A request that changes something may have been processed, but its answer was lost."""

    title = "Answer lost"


class TokenRefused(DigitalOceanError):
    """App Platform refused the token (401): DIGITALOCEAN_TOKEN is wrong, expired or revoked."""

    exit_code = 2
    title = "Token refused"


class LogUnavailable(DigitalOceanError):
    """A log App Platform could not hand over: never to be read as an empty log."""

    title = "Log unavailable"


class GitHubError(ServiceError):
    """The GitHub API answered with an error."""

    title = "GitHub request failed"


class RateLimited(GitHubError):
    """GitHub's rate limit asks for a longer wait than the run has left: it names when to rerun.
    Never turned into a warning, since what was not written would otherwise be lost silently."""

    title = "GitHub rate limit"


class SyncConflict(TerpError):
    """main cannot be merged into staging without a person: the files are named."""

    title = "Sync conflict"

    def __init__(self, message: str, files: Sequence[str], *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.files = tuple(files)


class PushRejected(TerpError):
    """The remote refused our push (protected branch, or it kept moving); nothing was lost."""

    title = "Push rejected"


class VerificationFailed(TerpError):
    """The deploy is live but a verification check failed."""

    title = "Verification failed"


class DoctorFoundErrors(TerpError):
    """doctor found at least one error-level problem (it printed them all)."""

    title = "doctor found errors"


class DeploymentFailed(TerpError):
    """The deploy ran and did not go live; carries the last deployment, phase and fingerprint."""

    title = "Deployment failed"

    def __init__(self, message: str, *, deployment: str = "", phase: str = "", fingerprint: str = "") -> None:
        super().__init__(message)
        self.deployment = deployment
        self.phase = phase
        self.fingerprint = fingerprint


class PromotionRefused(TerpError):
    """The gate said no: nothing was pushed or deployed."""

    title = "Promotion refused"

    def __init__(self, message: str, *, sha: str = "", frozen: bool = False) -> None:
        super().__init__(message)
        self.sha = sha  # the commit the gate looked at, when it got that far
        self.frozen = frozen  # a deploy freeze was among the reasons


class PromotionFailed(TerpError):
    """Production did not verify: rolled back (or not), the message says what runs where."""

    title = "Promotion failed"

    def __init__(
        self,
        message: str,
        *,
        runs: str = "",
        holds: str = "",
        migrations: tuple[str, ...] = (),
        partial: object = None,
    ) -> None:
        super().__init__(message)
        self.runs = runs  # the commit production runs after the rollback ('' when not rolled back)
        self.holds = holds  # the commit the production branch holds
        self.migrations = migrations  # the migration files the failed promotion carried
        self.partial = partial  # what the promotion did before it failed (pushed, deployed, rolled back)


class PreviewRefused(TerpError):
    """A preview refused: over the cap, a name taken by another app, a failed verification."""

    title = "Preview refused"


class RollbackFailed(TerpError):
    """Rolling back did not bring the app back; names both failures."""

    title = "Rollback failed"
