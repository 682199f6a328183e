"""Bearer tokens with read/write/admin scopes on `/api/v1` routes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from soleflip.common.http import (
    TokenAuthenticator,
    bearer_token,
    generate_token,
    granted_scopes,
    hash_token,
    requires,
)
from soleflip.common.settings import ApiToken, load_settings


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_missing_token_is_401_with_www_authenticate(client: TestClient[Litestar]) -> None:
    response = client.get("/api/v1/items")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:soleflip:problem:unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer", "sf_not_even_a_scheme"]
)
def test_invalid_credentials_are_401(client: TestClient[Litestar], header: str) -> None:
    response = client.get("/api/v1/items", headers={"authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_read_token_can_read(client: TestClient[Litestar], tokens: Any) -> None:
    assert client.get("/api/v1/items", headers=bearer(tokens.read)).status_code == 200


def test_read_token_on_a_write_route_is_403(client: TestClient[Litestar], tokens: Any) -> None:
    response = client.post(
        "/api/v1/items", json={"sku": "A", "quantity": 1}, headers=bearer(tokens.read)
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:soleflip:problem:forbidden"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_write_token_can_write_but_not_administer(
    client: TestClient[Litestar], tokens: Any
) -> None:
    created = client.post(
        "/api/v1/items", json={"sku": "A", "quantity": 1}, headers=bearer(tokens.write)
    )
    assert created.status_code == 201
    assert client.post("/api/v1/items/purge", headers=bearer(tokens.write)).status_code == 403


def test_admin_token_may_do_everything(client: TestClient[Litestar], tokens: Any) -> None:
    headers = bearer(tokens.admin)
    assert client.get("/api/v1/items", headers=headers).status_code == 200
    item = {"sku": "A", "quantity": 1}
    assert client.post("/api/v1/items", json=item, headers=headers).status_code == 201
    assert client.post("/api/v1/items/purge", headers=headers).status_code == 204


def test_token_name_is_bound_to_the_request_log(
    client: TestClient[Litestar], tokens: Any, log_lines: Any
) -> None:
    log_lines()
    client.get("/api/v1/items", headers=bearer(tokens.read))
    access = [line for line in log_lines() if line["event"] == "http request"]
    assert access[-1]["principal"] == "read-bot"


def test_principal_does_not_leak_into_the_next_request(
    client: TestClient[Litestar], tokens: Any, log_lines: Any
) -> None:
    client.get("/api/v1/items", headers=bearer(tokens.read))
    log_lines()
    client.get("/health/live")
    client.get("/api/v1/items")
    assert all("principal" not in line for line in log_lines())


def test_hash_token_is_sha256_hex() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


def test_generated_entry_parses_and_authenticates_its_token() -> None:
    token, entry = generate_token("ci", ["write", "read"])
    (parsed,) = load_settings({"SOLEFLIP_API_TOKENS": entry}).api_tokens
    assert parsed == ApiToken(
        name="ci", scopes=frozenset({"read", "write"}), sha256=hash_token(token)
    )
    assert TokenAuthenticator([parsed]).authenticate(token) == parsed
    assert TokenAuthenticator([parsed]).authenticate(token + "x") is None


def test_generated_tokens_are_unique() -> None:
    assert generate_token()[0] != generate_token()[0]


@pytest.mark.parametrize(
    ("name", "scopes"), [("", ["read"]), ("a:b", ["read"]), ("ok", []), ("ok", ["root"])]
)
def test_generate_token_rejects_bad_entries(name: str, scopes: list[str]) -> None:
    with pytest.raises(ValueError, match=r"name|scopes"):
        generate_token(name, scopes)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ({"read"}, {"read"}),
        ({"write"}, {"read", "write"}),
        ({"admin"}, {"read", "write", "admin"}),
    ],
)
def test_scopes_imply_lower_scopes(scopes: set[str], expected: set[str]) -> None:
    token = ApiToken(name="t", scopes=frozenset(scopes), sha256="0" * 64)
    assert granted_scopes(token) == expected


def test_authenticator_finds_the_matching_entry_among_many() -> None:
    entries = [
        ApiToken(name=f"t{i}", scopes=frozenset({"read"}), sha256=hash_token(f"s{i}"))
        for i in range(5)
    ]
    assert TokenAuthenticator(entries).authenticate("s3") == entries[3]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("", None),
        (None, None),
        ("Bearer ", None),
    ],
)
def test_bearer_token_parsing(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


def test_requires_rejects_unknown_scopes() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        requires("superuser")
