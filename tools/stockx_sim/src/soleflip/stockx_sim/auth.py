"""The simulated Auth0 tenant: authorization codes, token grants and access-token checks.

Access tokens are HS256 JWTs (StockX's are RS256; a shared secret keeps the simulator
self-contained). Expiry is judged on the sim clock, so `POST /_sim/advance` can expire tokens.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import jwt

from soleflip.stockx_sim.errors import ApiError, OAuthError
from soleflip.stockx_sim.world import World

AUDIENCE = "gateway.stockx.com"
ISSUER = "https://accounts.stockx.com/"
_CODE_TTL_S = 600
_SCOPES = {"offline_access", "openid"}


def _client(world: World, form: Mapping[str, str]) -> str:
    client_id = form.get("client_id", "")
    if (
        client_id != world.config.client_id
        or form.get("client_secret") != world.config.client_secret
    ):
        raise OAuthError(401, "access_denied", "Unauthorized")
    audience = form.get("audience")
    if audience is not None and audience != AUDIENCE:
        raise OAuthError(403, "access_denied", f"Service not found: {audience}")
    return client_id


def _tokens(world: World, client_id: str, sub: str, scope: str) -> dict[str, Any]:
    now = world.now()
    jti = secrets.token_hex(12)
    world.auth.issued[jti] = now
    claims = {
        "iss": ISSUER,
        "sub": sub,
        "aud": [AUDIENCE, "https://accounts.stockx.com/userinfo"],
        "iat": int(now),
        "exp": int(now + world.config.token_ttl_s),
        "azp": client_id,
        "scope": scope,
        "jti": jti,
    }
    body: dict[str, Any] = {
        "access_token": jwt.encode(claims, world.config.jwt_secret, algorithm="HS256"),
        "token_type": "Bearer",
        "expires_in": world.config.token_ttl_s,
        "scope": scope,
    }
    if "openid" in scope.split():
        id_claims = {
            "iss": ISSUER,
            "sub": sub,
            "aud": client_id,
            "iat": int(now),
            "exp": int(now + 36_000),
        }
        body["id_token"] = jwt.encode(id_claims, world.config.jwt_secret, algorithm="HS256")
    return body


def _new_refresh(world: World, client_id: str, sub: str, scope: str) -> str:
    token = secrets.token_urlsafe(32)
    world.auth.refresh_tokens[token] = {"client_id": client_id, "sub": sub, "scope": scope}
    return token


def _refresh_grant(world: World, form: Mapping[str, str], client_id: str) -> dict[str, Any]:
    token = form.get("refresh_token", "")
    grant = world.auth.refresh_tokens.get(token)
    if grant is None or grant["client_id"] != client_id:
        raise OAuthError(403, "invalid_grant", "Unknown or invalid refresh token.")
    body = _tokens(world, client_id, grant["sub"], grant["scope"])
    if world.config.rotate_refresh_tokens:
        del world.auth.refresh_tokens[token]
        body["refresh_token"] = _new_refresh(world, client_id, grant["sub"], grant["scope"])
    return body


def _code_grant(world: World, form: Mapping[str, str], client_id: str) -> dict[str, Any]:
    grant = world.auth.codes.pop(form.get("code", ""), None)
    if grant is None or grant["client_id"] != client_id or grant["expires"] < world.now():
        raise OAuthError(403, "invalid_grant", "Invalid authorization code")
    if form.get("redirect_uri") != grant["redirect_uri"]:
        raise OAuthError(403, "invalid_grant", "Redirect URI is wrong for this authorization code")
    challenge = grant.get("code_challenge")
    if challenge:
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
            raise OAuthError(403, "invalid_grant", "Failed to verify code verifier")
    body = _tokens(world, client_id, grant["sub"], grant["scope"])
    if "offline_access" in grant["scope"].split():
        body["refresh_token"] = _new_refresh(world, client_id, grant["sub"], grant["scope"])
    return body


def token_grant(world: World, form: Mapping[str, str]) -> dict[str, Any]:
    """`POST /oauth/token`: refresh_token and authorization_code grants, Auth0 errors."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
    if grant_type == "client_credentials":
        _client(world, form)
        raise OAuthError(
            403,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        )
    if grant_type not in ("refresh_token", "authorization_code"):
        raise OAuthError(403, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")
    client_id = _client(world, form)
    if grant_type == "refresh_token":
        return _refresh_grant(world, form, client_id)
    return _code_grant(world, form, client_id)


def authorize(world: World, params: Mapping[str, str]) -> str:
    """`GET /authorize`: the redirect location carrying `code` (or `error`) and `state`."""
    if params.get("client_id") != world.config.client_id:
        raise OAuthError(400, "invalid_request", "Unknown client")
    redirect = params.get("redirect_uri")
    if not redirect:
        raise OAuthError(400, "invalid_request", "Missing required parameter: redirect_uri")
    state = {"state": params["state"]} if "state" in params else {}
    scope = params.get("scope", "openid")
    error = None
    if params.get("response_type") != "code":
        error = ("unsupported_response_type", "Unsupported response type")
    elif params.get("audience") != AUDIENCE:
        error = ("access_denied", f"Service not found: {params.get('audience')}")
    elif not set(scope.split()) <= _SCOPES:
        error = ("access_denied", "Requested scopes are not allowed")
    sep = "&" if "?" in redirect else "?"
    if error is not None:
        query = {"error": error[0], "error_description": error[1], **state}
        return f"{redirect}{sep}{urlencode(query)}"
    code = secrets.token_urlsafe(24)
    world.auth.codes[code] = {
        "client_id": world.config.client_id,
        "redirect_uri": redirect,
        "scope": scope,
        "sub": "auth0|5f1e0c2a9d3b4c0069a1b2c3",
        "expires": world.now() + _CODE_TTL_S,
        "code_challenge": params.get("code_challenge"),
    }
    return f"{redirect}{sep}{urlencode({'code': code, **state})}"


def verify_bearer(world: World, header: str | None) -> dict[str, Any]:
    """Claims of a valid access token; 401 for a missing, bad, expired or revoked one."""
    if not header or not header.lower().startswith("bearer "):
        raise ApiError(401, "Unauthorized")
    try:
        claims: dict[str, Any] = jwt.decode(
            header[7:].strip(),
            world.config.jwt_secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise ApiError(401, "Unauthorized") from None
    issued = world.auth.issued.get(str(claims.get("jti")), float(claims.get("iat", 0)))
    if float(claims.get("exp", 0)) <= world.now() or issued <= world.auth.revoked_before:
        raise ApiError(401, "Unauthorized: the access token has expired")
    return claims
