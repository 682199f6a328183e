"""The simulated Auth0 tenant: grants, rotation, Auth0 error bodies, token checks on `/v2`."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from litestar.testing import TestClient

from soleflip.stockx_sim import SimConfig

Client = TestClient[Any]
SEARCH = "/v2/catalog/search?query=nike"


def _api(client: Client, token: str, key: str | None = "sim-api-key") -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["x-api-key"] = key
    return client.get(SEARCH, headers=headers).status_code


def test_refresh_grant_returns_a_12h_bearer_jwt_without_rotation(
    make_sim: Any, sim_config: SimConfig, refresh: Any
) -> None:
    sim_config.token_ttl_s = SimConfig().token_ttl_s
    with make_sim(sim_config) as sim:
        _check_default_refresh(sim, refresh)


def _check_default_refresh(sim: Client, refresh: Any) -> None:
    response = refresh(sim)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 43200
    assert "refresh_token" not in body
    assert {"access_token", "scope", "id_token"} <= set(body)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 43200
    assert "gateway.stockx.com" in claims["aud"]
    assert refresh(sim).status_code == 200  # the same refresh token keeps working


def test_rotation_issues_a_new_refresh_token_and_kills_the_old_one(
    make_sim: Any, sim_config: SimConfig, refresh: Any
) -> None:
    sim_config.rotate_refresh_tokens = True
    with make_sim(sim_config) as client:
        first = refresh(client).json()
        assert first["refresh_token"] != "sim-refresh"
        dead = refresh(client)
        assert dead.status_code == 403
        assert dead.json() == {
            "error": "invalid_grant",
            "error_description": "Unknown or invalid refresh token.",
        }
        assert refresh(client, first["refresh_token"]).status_code == 200


def test_unknown_refresh_token_is_invalid_grant(sim: Client, refresh: Any) -> None:
    response = refresh(sim, "nope")
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"


def test_client_credentials_is_rejected_as_unauthorized_client(sim: Client) -> None:
    response = sim.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sim-client",
            "client_secret": "sim-secret",
            "audience": "gateway.stockx.com",
        },
    )
    assert response.status_code == 403
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "access_denied"),
        ({"audience": "api.example.com"}, 403, "access_denied"),
        ({"grant_type": "password"}, 403, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_errors_use_the_auth0_shape(
    sim: Client, refresh: Any, form: dict[str, str], status: int, error: str
) -> None:
    response = refresh(sim, **form)
    assert response.status_code == status
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == error


def test_authorization_code_flow_with_pkce_yields_a_refresh_token(sim: Client) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = sim.get(
        "/authorize",
        follow_redirects=False,
        params={
            "response_type": "code",
            "client_id": "sim-client",
            "redirect_uri": "http://app/cb",
            "scope": "offline_access openid",
            "audience": "gateway.stockx.com",
            "state": "s1",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        },
    )
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert query["state"] == ["s1"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": "http://app/cb",
        "client_id": "sim-client",
        "client_secret": "sim-secret",
        "code_verifier": verifier,
    }
    tokens = sim.post("/oauth/token", data=form)
    assert tokens.status_code == 200, tokens.text
    assert "refresh_token" in tokens.json()
    assert _api(sim, tokens.json()["access_token"]) == 200
    assert sim.post("/oauth/token", data=form).json()["error"] == "invalid_grant"  # single use


def test_authorize_with_an_invented_scope_redirects_with_an_error(sim: Client) -> None:
    redirect = sim.get(
        "/authorize",
        follow_redirects=False,
        params={
            "response_type": "code",
            "client_id": "sim-client",
            "redirect_uri": "http://app/cb",
            "scope": "openid catalog.read",
            "audience": "gateway.stockx.com",
            "state": "s",
        },
    )
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert "code" not in query


def test_v2_needs_the_api_key_and_a_valid_token(sim: Client, refresh: Any) -> None:
    token = refresh(sim).json()["access_token"]
    assert _api(sim, token) == 200
    assert _api(sim, token, key=None) == 403
    assert _api(sim, token, key="other") == 403
    forged = jwt.encode({"aud": "gateway.stockx.com", "exp": 2**40}, "x" * 32, algorithm="HS256")
    assert _api(sim, forged) == 401
    response = sim.get(SEARCH, headers={"x-api-key": "sim-api-key"})
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


def test_tokens_expire_on_the_sim_clock(make_sim: Any, sim_config: SimConfig, refresh: Any) -> None:
    sim_config.token_ttl_s = 60
    with make_sim(sim_config) as client:
        token = refresh(client).json()["access_token"]
        assert _api(client, token) == 200
        client.post("/_sim/advance", json={"seconds": 61})
        assert _api(client, token) == 401
        assert _api(client, refresh(client).json()["access_token"]) == 200


def test_token_expiry_fault_kills_every_issued_token(sim: Client, refresh: Any) -> None:
    token = refresh(sim).json()["access_token"]
    sim.put("/_sim/faults", json={"expire_tokens": True})
    assert _api(sim, token) == 401


def test_every_token_request_is_logged_with_its_grant_and_status(sim: Client, refresh: Any) -> None:
    refresh(sim)
    refresh(sim, token="no-such-token")
    sim.post("/oauth/token", data={})
    logged = sim.get("/_sim/token-requests").json()["requests"]
    assert [(r["grant_type"], r["status"]) for r in logged] == [
        ("refresh_token", 200),
        ("refresh_token", 403),
        (None, 400),
    ]
    sim.post("/_sim/requests/clear")
    assert sim.get("/_sim/token-requests").json()["requests"] == []
