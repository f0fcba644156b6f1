"""Issue 14 items 1 and 2: the scrubber's forms, pieces and shapes, and what it never touches.

Pure functions (no server): every encoding of a registered secret is masked wherever it sits
in error text; so is any piece of 8 or more characters of a token or the Basic value, and any
cut of a password that keeps its first 8 characters; credential-shaped values are masked even
unregistered; masking comes before every cut; product text printed through the console is
written byte for byte. ``test_canary_forms.py`` drives the same over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import urllib.parse
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import redact
from reconciler.api.auth import credentials_from_env
from reconciler.api.envelope import excerpt, one_line
from reconciler.console import Console
from reconciler.errors import ConfigError
from reconciler.redact import MASK, register, register_basic, scrub, scrub_head

# Any character but the mask's own "*" (a secret like "* a" would be found in "*** after").
SECRET_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="*"),
    min_size=3,
    max_size=40,
)
TOKENS = st.binary(min_size=12, max_size=64).map(
    lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
)
FRESH = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def forget_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_secrets", set())


def only(register_as: Callable[[str], None], value: str) -> None:
    """Make ``value`` the one registered secret (each hypothesis example starts afresh)."""
    redact._secrets.clear()
    register_as(value)


def encodings(secret: str) -> set[str]:
    """The forms the issue names, written independently of ``redact``."""
    raw = secret.encode()
    b64 = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    digest = hashlib.md5(raw).hexdigest()
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(secret))[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        *b64,
        *(b.rstrip("=") for b in b64),
        digest,
        digest.upper(),
        html.escape(secret),
    }


def wordy(piece: str) -> bool:
    return redact._wordy(piece)


@FRESH
@given(secret=SECRET_TEXT)
def test_every_form_of_a_registered_secret_is_masked(secret: str) -> None:
    only(register, secret)
    for form in encodings(secret):
        for text in (form, f"HTTP 500: {form}", f"a{form}b", f"<pre>{form}</pre>"):
            assert form not in scrub(text), (secret, form)


@FRESH
@given(secret=SECRET_TEXT)
def test_a_secret_is_masked_before_our_flattening_and_cutting(secret: str) -> None:
    only(register, secret)
    body = f"<html><body><pre>{'x' * 90}{secret}\n{secret}</pre></body></html>".encode()
    shown = [excerpt(body), excerpt(body, limit=95), one_line("y" * 198 + secret)]
    shown.append(one_line(f"{secret} and {json.dumps(secret)}"))
    for text in shown:
        for form in encodings(secret):
            assert form not in text


@FRESH
@given(token=TOKENS, data=st.data())
def test_no_piece_of_eight_characters_of_a_token_survives(token: str, data: st.DataObject) -> None:
    only(register, token)
    start = data.draw(st.integers(0, len(token) - 8))
    end = data.draw(st.integers(start + 8, len(token)))
    shown = scrub(f"echo: {token[start:end]}\n{token[start:end]}, and more")
    pieces = {token[i : i + 8] for i in range(len(token) - 7)}
    assert not [p for p in pieces if p in shown and not wordy(p)]


def test_the_basic_value_its_digest_and_their_pieces_are_masked_the_user_name_is_not() -> None:
    user, password = "northwind", 'Pw"q\\ü-canary\nline2'
    value = register_basic(user, password)
    digest = hashlib.md5(password.encode()).hexdigest()
    assert base64.b64decode(value).decode() == f"{user}:{digest}"
    for text in (value, value[:9], value[5:30], digest[:8], digest[10:], digest.upper()):
        assert text not in scrub(f"echo {text} end")
    assert scrub(f"decoded: {user}:{digest}") == f"decoded: {user}:{MASK}"
    # A line-wrapped header: every line that holds 8 or more characters of it is masked.
    wrapped = "\n ".join(value[i : i + 10] for i in range(0, len(value), 10))
    assert not [line for line in scrub(wrapped).split() if len(line) >= 8 and line in value]
    assert scrub("club@northwind.example") == "club@northwind.example"


def test_a_cut_password_is_masked_from_its_first_eight_characters() -> None:
    password = 'Pw"q\\ü-canary\nline2-ß7/+='
    register(password)
    for n in range(8, len(password) + 1):
        assert password[:n] not in scrub(f"secret is {password[:n]}")
        assert json.dumps(password)[1 : n + 1] not in scrub(json.dumps(password)[: n + 1])
    # A piece from the middle (a server that wrapped the line) is masked too.
    assert password[9:] not in scrub(f"wrapped: {password[9:]}")
    # A password made of words does not mask those words in every message.
    register("demo-password")
    assert scrub("invalid username or password") == "invalid username or password"
    assert scrub("it was demo-password") == f"it was {MASK}"


def test_a_secret_inside_a_base64_encoded_json_body_is_masked() -> None:
    secret = 'Sé"cr\\et\n-ø-canary-99'
    register(secret)
    for body in (
        json.dumps({"key": "k", "secret": secret}),
        json.dumps({"key": "k1", "secret": secret}, ensure_ascii=False),
        f"x={secret}",
        f"xy={secret}",
    ):
        encoded = base64.b64encode(body.encode()).decode()
        shown = scrub(encoded)
        assert shown != encoded
        assert shown.startswith(encoded[:2])  # the rest of the body is still shown
        assert MASK in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic Y2F", f"Authorization: {MASK}"),
        ("authorization: Bearer abc def\nHost: x", f"authorization: {MASK}\nHost: x"),
        ("X-CAP-API-OAUTH-TOKEN: eyJhbG", f"X-CAP-API-OAUTH-TOKEN: {MASK}"),
        ("cookie=abc; session=1", f"cookie={MASK}"),
        (
            '{"Authorization": "Basic zz", "Host": "h"}',
            f'{{"Authorization": "{MASK}", "Host": "h"}}',
        ),
        (
            '{\\"secret\\":\\"s3cr\\", \\"key\\":\\"k\\"}',
            f'{{\\"secret\\":\\"{MASK}\\", \\"key\\":\\"k\\"}}',
        ),
        ("{'authorization': 'Basic q', 'x': 1}", f"{{'authorization': '{MASK}', 'x': 1}}"),
        ("authorization&quot;: &quot;Basic q&quot;", f"authorization&quot;: &quot;{MASK}&quot;"),
        ('{"accessToken": "tok', f'{{"accessToken": "{MASK}'),
        ("?password=hunter2&x=1", f"?password={MASK}"),
        (
            "Authorization: *** (check the credentials)",
            "Authorization: *** (check the credentials)",
        ),
        ("CAPILLARY_PASSWORD is not set", "CAPILLARY_PASSWORD is not set"),
        # credentials in a URL (a git remote given as a ref, an endpoint): issue 18 review
        (
            "ref 'https://bob:hunter2@example.com/x.git'",
            f"ref 'https://bob:{MASK}@example.com/x.git'",
        ),
        ("git fetch https://ghp_abc123@github.com/o/r", f"git fetch https://{MASK}@github.com/o/r"),
        (
            "see https://example.com/a@b and mailto:x@y",
            "see https://example.com/a@b and mailto:x@y",
        ),
    ],
)
def test_credential_shaped_values_are_masked_in_error_text_even_unregistered(
    text: str, expected: str
) -> None:
    assert scrub(text) == expected


@FRESH
@given(secret=SECRET_TEXT, size=st.integers(1, 300))
def test_a_window_of_a_body_never_cuts_a_secret(secret: str, size: int) -> None:
    only(register, secret)
    body = ("é" * size + secret + "z" * 5000).encode()
    start = 2 * size  # the secret's first byte
    for cut in (start - 1, start, start + 1, start + len(secret.encode()) // 2):
        shown = scrub_head(body, cut)
        assert shown.startswith("é" * min(size, cut // 2))  # what comes before is shown
        for form in encodings(secret):
            assert form not in shown


def test_product_text_is_printed_byte_for_byte_and_messages_are_scrubbed() -> None:
    register_basic("northwind", "nw-till-pass-4417")
    register("s3cret-value")
    product = (
        "sender: club@northwind.example\nAuthorization: Bearer x\ncookie=abc\n"
        "password: hunter2\n  s3cret-value\n"
    )
    out, err = io.StringIO(), io.StringIO()
    console = Console(out, err, verbose=True)
    console.print(product)
    console.raw(product)
    console.error("HTTP 500: s3cret-value cookie=abc")
    console.debug("s3cret-value")
    assert out.getvalue() == product + product
    assert "s3cret-value" not in err.getvalue()
    assert "cookie=abc" not in err.getvalue()


@pytest.mark.parametrize(
    ("auth", "env", "variable"),
    [
        ("basic", {"CAPILLARY_USERNAME": "till", "CAPILLARY_PASSWORD": "q!"}, "CAPILLARY_PASSWORD"),
        (
            "oauth",
            {"CAPILLARY_CLIENT_KEY": "k", "CAPILLARY_CLIENT_SECRET": "Z"},
            "CAPILLARY_CLIENT_SECRET",
        ),
    ],
)
def test_a_secret_shorter_than_three_characters_is_refused_by_name(
    auth: str, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as info:
        credentials_from_env(auth, env)  # type: ignore[arg-type]
    assert variable in info.value.message
    assert "shorter than 3 characters" in info.value.message
    assert env[variable] not in info.value.message


def test_identifiers_are_not_registered() -> None:
    credentials_from_env("basic", {"CAPILLARY_USERNAME": "northwind", "CAPILLARY_PASSWORD": "pw-1"})
    credentials_from_env(
        "oauth", {"CAPILLARY_CLIENT_KEY": "club-key", "CAPILLARY_CLIENT_SECRET": "s-9"}
    )
    assert scrub("northwind club-key pw-1 s-9") == f"northwind club-key {MASK} {MASK}"
