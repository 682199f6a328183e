"""The redactor masks secret keys at any depth and secret-looking text anywhere."""

from __future__ import annotations

import pytest

from soleflip.common.observability import MASK, Redactor, is_secret_key


@pytest.mark.parametrize(
    "key",
    [
        "authorization",
        "Authorization",
        "Proxy-Authorization",
        "webhook-signature",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "stockx_client_secret",
        "password",
        "secret",
        "api_key",
        "x-api-key",
        "X-API-KEY",
        "cookie",
        "set-cookie",
        b"authorization",
    ],
)
def test_secret_keys_are_recognised(key: str | bytes) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["event", "principal", "token_name", "path", "status", 3, None])
def test_ordinary_keys_are_not_secret(key: object) -> None:
    assert not is_secret_key(key)


def test_nested_mappings_lists_and_header_pairs_are_masked() -> None:
    redactor = Redactor()
    event = {
        "event": "call",
        "request": {"headers": {"Authorization": "Bearer x1", "Accept": "json"}},
        "asgi_headers": [(b"authorization", b"Bearer y2"), (b"host", b"example")],
        "httpx_headers": [["X-Api-Key", "k"], ["Accept", "*/*"]],
        "body": [{"password": "hunter2", "user": "me"}],
    }
    out = redactor(None, "info", event)
    assert out["request"]["headers"] == {"Authorization": MASK, "Accept": "json"}
    assert out["asgi_headers"] == [["authorization", MASK], ["host", "example"]]
    assert out["httpx_headers"] == [["X-Api-Key", MASK], ["Accept", "*/*"]]
    assert out["body"] == [{"password": MASK, "user": "me"}]


def test_configured_secret_values_are_replaced_inside_strings() -> None:
    redactor = Redactor(["s3cr3t-value", "s3cr3t-value-longer"])
    text = redactor.redact_text("a=s3cr3t-value-longer b=s3cr3t-value")
    assert "s3cr3t" not in text
    assert text == f"a={MASK} b={MASK}"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig-1", "eyJhbGciOi"),
        ("basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw used", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        (
            "sig v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
            "K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN",
        ),
        ("token sf_abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"),
        ("dsn postgresql://soleflip:pa55word@db:5432/x", "pa55word"),
    ],
)
def test_secret_patterns_are_replaced_inside_strings(text: str, leak: str) -> None:
    assert leak not in Redactor().redact_text(text)


def test_prose_about_bearer_tokens_is_left_alone() -> None:
    assert Redactor().redact_text("a bearer token is required") == "a bearer token is required"


def test_exceptions_and_bytes_are_redacted_as_text() -> None:
    redactor = Redactor(["topsecret99"])
    assert redactor.redact(ValueError("bad topsecret99")) == f"ValueError: bad {MASK}"
    assert redactor.redact(b"x topsecret99") == f"x {MASK}"


def test_non_string_values_pass_through() -> None:
    assert Redactor(["123456"]).redact({"count": 123456, "ok": True}) == {
        "count": 123456,
        "ok": True,
    }
