"""Secret redaction: known values, credential shapes, and what must stay readable."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert {"gh-token-value", "pw-value"} <= redact.secrets and "/home/runner" not in redact.secrets
    assert is_secret_name("digitalocean_token") and not is_secret_name("GITHUB_REPOSITORY")
    for name in (
        "SENTRY_DSN",
        "stripe_key",
        "DB_PASSWD",
        "AWS_CREDENTIALS",
        "session_secret",
        "DATABASE_URL",
    ):
        assert is_secret_name(name), name
    assert not is_secret_name("GIT_CONFIG_KEY_0") and not is_secret_name("TERP_SECRETS")


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


_PASSWORD = "pW-4x!Tz9q"
_DATABASE_URL = f"postgres://terp:{_PASSWORD}@db.internal:25060/terp?sslmode=require"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(f"FATAL: password was {_PASSWORD} for user terp", id="free-text"),
        pytest.param(f"connect password={_PASSWORD} host=db", id="libpq"),
        pytest.param(f'{{"user": "terp", "password": "{_PASSWORD}"}}', id="json"),
        pytest.param(f"Password: {_PASSWORD}", id="title-case-key"),
        pytest.param(f"url={quote(_DATABASE_URL, safe='')}", id="url-encoded-url"),
        pytest.param(f"pw {quote(_PASSWORD, safe='')}", id="url-encoded-password"),
    ],
)
def test_a_database_url_password_is_hidden_outside_url_form(line: str) -> None:
    """The password inside DATABASE_URL is a secret of its own, whatever text surrounds it."""
    out = Redactor.from_environ({"DATABASE_URL": _DATABASE_URL})(line)
    assert _PASSWORD not in out and quote(_PASSWORD, safe="") not in out and "***" in out


@given(
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    form=st.sampled_from(["raw", "base64", "urlsafe-base64", "url-encoded", "line-of-multiline"]),
)
@settings(max_examples=300, deadline=None)
def test_a_registered_secret_never_survives_in_any_form(
    secret: str, before: str, after: str, form: str
) -> None:
    """Any secret, inserted anywhere in any text, raw or encoded, is gone after redaction."""
    redact = Redactor([secret])
    text = before + secret + after
    if form == "raw":
        shown, needle = text, secret
    elif form == "line-of-multiline":
        shown, needle = f"{before}\n{secret}\n{after}", secret
    elif form == "url-encoded":
        shown, needle = quote(text, safe=""), quote(secret, safe="")
    else:
        encode = base64.b64encode if form == "base64" else base64.urlsafe_b64encode
        shown = encode(text.encode()).decode()
        # The characters of the encoded text that only the secret's bytes decide.
        offset, raw = len(before.encode()) % 3, secret.encode()
        start, end = -(-offset * 4 // 3), (offset + len(raw)) * 4 // 3
        needle = shown[len(before.encode()) // 3 * 4 :][start:end]
    assert needle not in redact(shown)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "    secrets:\n      DIGITALOCEAN_TOKEN: ${{ secrets.DIGITALOCEAN_TOKEN }}", id="workflow-secrets"
        ),
        pytest.param(
            '      - {key: SESSION_SECRET, value: "${SESSION_SECRET}", type: SECRET}', id="spec-placeholder"
        ),
        pytest.param("api_key: ${{ vars.API_KEY }}", id="expression"),
    ],
)
def test_keys_and_references_are_never_masked(text: str) -> None:
    """A YAML key and a ${{ }} expression or ${NAME} placeholder are no secrets: shown as written."""
    assert Redactor()(text) == text


def test_a_secret_value_after_a_key_is_still_masked() -> None:
    """The value on a secret-looking name's own line is masked, the name kept."""
    assert Redactor()("token: abc123def\npassword = hunter22") == "token: ***\npassword = ***"
