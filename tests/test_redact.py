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
