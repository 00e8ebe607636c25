"""Secret redaction: known values, credential shapes, and what must stay readable."""

from __future__ import annotations

import pytest

from terp_actions.redact import Redactor, is_secret_name


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        pytest.param("https://x-access-token:abc123def@github.com/o/r.git", "abc123def", id="url-password"),
        pytest.param("token ghp_" + "a" * 36, "ghp_" + "a" * 36, id="github-classic"),
        pytest.param("github_pat_" + "B" * 40, "github_pat_" + "B" * 40, id="github-fine-grained"),
        pytest.param("dop_v1_" + "0f" * 32, "dop_v1_" + "0f" * 32, id="digitalocean"),
        pytest.param("Authorization: Bearer sekrit-value", "sekrit-value", id="auth-header"),
        pytest.param("DATABASE_URL=postgres://u:pw@db/terp", "postgres://u:pw@db/terp", id="database-url"),
        pytest.param("MY_API_TOKEN: 'quoted-one'", "quoted-one", id="token-assignment"),
    ],
)
def test_credential_shapes_are_hidden(text: str, hidden: str) -> None:
    """Credentials are hidden even when their values were never registered."""
    out = Redactor()(text)
    assert hidden not in out and "***" in out


def test_known_values_are_hidden_everywhere_and_longest_first() -> None:
    """Registered secrets vanish wherever they appear, including each line of a multi-line one."""
    redact = Redactor(["short-secret", "short-secret-but-longer", "line-one\nline-two"])
    out = redact("a short-secret-but-longer b short-secret c line-two")
    assert out == "a *** b *** c ***"


def test_ordinary_text_is_untouched() -> None:
    """Text without secrets, URLs without passwords, and tiny values stay as they were."""
    redact = Redactor(["ab"])
    text = "deploy abc1234 to https://terp.example/health (user@host) in 3m"
    assert redact(text) == text


def test_from_environ_takes_secret_named_variables_only() -> None:
    """Only secret-named variables are registered."""
    redact = Redactor.from_environ(
        {"GITHUB_TOKEN": "gh-token-value", "HOME": "/home/runner", "X_PASSWORD": "pw-value"}
    )
    assert redact.secrets == {"gh-token-value", "pw-value"}
    assert is_secret_name("digitalocean_token") and not is_secret_name("GITHUB_REPOSITORY")


@pytest.mark.parametrize(
    ("url", "password"),
    [
        pytest.param("mysql://user:pass@host/db", "pass", id="plain"),
        pytest.param("mysql://user:p@ss:w@rd@db.example:3306/terp", "p@ss:w@rd", id="at-and-colon"),
        pytest.param(
            "postgres://doadmin:Xy9%40z@db-postgresql-nyc1.b.db.ondigitalocean.com:25060/defaultdb",
            "Xy9%40z",
            id="encoded",
        ),
    ],
)
def test_url_passwords_are_hidden_whole(url: str, password: str) -> None:
    """Passwords in URLs vanish entirely, even when they contain '@' or ':'; the host stays."""
    out = Redactor()(f"connecting to {url} now")
    assert password not in out and ":***@" in out and out.endswith(" now")
    host = url.rsplit("@", 1)[1].split("/", maxsplit=1)[0]
    assert host in out


def test_overlapping_secrets_leave_no_part_behind() -> None:
    """Two secrets that overlap in the text are masked as one span: no tail of either survives."""
    redact = Redactor(["abcd1234", "1234wxyz"])
    assert redact("x abcd1234wxyz y") == "x *** y"


def test_masking_is_rechecked_until_nothing_changes() -> None:
    """Masking one part cannot leave a secret-shaped remainder: the result is stable."""
    redact = Redactor(["token-value-1"])
    once = redact("DATABASE_URL=postgres://u:token-value-1@db/x and token-value-1")
    assert redact(once) == once and "token-value-1" not in once
