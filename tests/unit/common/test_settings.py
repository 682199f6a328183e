"""Settings: every variable is parsed into its typed field; a bad value names its variable."""

from __future__ import annotations

import hashlib

import pytest

from soleflip.common.settings import ApiToken, Settings, SettingsError, load_settings

DIGEST = hashlib.sha256(b"t").hexdigest()

FULL_ENV = {
    "SOLEFLIP_DATABASE_URL": "postgresql://svc@db:5432/soleflip",
    "SOLEFLIP_ADMIN_DATABASE_URL": "postgres://admin@db:5432/soleflip",
    "SOLEFLIP_NATS_URL": "nats://n1:4222, nats://n2:4222",
    "SOLEFLIP_NATS_PREFIX": "ci_run-7",
    "SOLEFLIP_NATS_REPLICAS": "3",
    "SOLEFLIP_HTTP_HOST": "0.0.0.0",
    "SOLEFLIP_HTTP_PORT": "8001",
    "SOLEFLIP_INGEST_URL": "http://ingest.internal:8000",
    "SOLEFLIP_STOCKX_API_URL": "http://sim:8090/v2/",
    "SOLEFLIP_STOCKX_AUTH_URL": "http://sim:8090/",
    "SOLEFLIP_STOCKX_CLIENT_ID": "sim-client",
    "SOLEFLIP_STOCKX_CLIENT_SECRET": "sim-secret",
    "SOLEFLIP_STOCKX_REFRESH_TOKEN": "sim-refresh",
    "SOLEFLIP_STOCKX_API_KEY": "sim-api-key",
    "SOLEFLIP_STOCKX_RATE_PER_S": "2.5",
    "SOLEFLIP_STOCKX_DAILY_BUDGET": "1000",
    "SOLEFLIP_POLL_INTERVAL_S": "30",
    "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": "whsec_b2xk,whsec_bmV3",
    "SOLEFLIP_WEBHOOK_SECRETS_N8N": "whsec_bjhu",
    "SOLEFLIP_N8N_TOKENS": "n8n-token-1,n8n-token-2",
    "SOLEFLIP_API_TOKENS": f"dash:read:{DIGEST}; ops:read,admin:{DIGEST.upper()}",
    "SOLEFLIP_FERNET_KEYS": "key-new,key-old",
    "SOLEFLIP_LOG_LEVEL": "DEBUG",
    "SOLEFLIP_LOG_FORMAT": "console",
    "SOLEFLIP_MAX_BODY_BYTES": "2048",
    "SOLEFLIP_WEBHOOK_RATE_PER_S": "50",
    "SOLEFLIP_EXTRA_SECRETS": "extra-secret-1",
    "SOLEFLIP_BASE_CURRENCY": "gbp",
}

EXPECTED = Settings(
    database_url="postgresql://svc@db:5432/soleflip",
    admin_database_url="postgres://admin@db:5432/soleflip",
    nats_url=("nats://n1:4222", "nats://n2:4222"),
    nats_prefix="ci_run-7",
    nats_replicas=3,
    http_host="0.0.0.0",
    http_port=8001,
    ingest_url="http://ingest.internal:8000",
    stockx_api_url="http://sim:8090/v2",
    stockx_auth_url="http://sim:8090",
    stockx_client_id="sim-client",
    stockx_client_secret="sim-secret",
    stockx_refresh_token="sim-refresh",
    stockx_api_key="sim-api-key",
    stockx_rate_per_s=2.5,
    stockx_daily_budget=1000,
    poll_interval_s=30.0,
    webhook_secrets_stockx=("whsec_b2xk", "whsec_bmV3"),
    webhook_secrets_n8n=("whsec_bjhu",),
    n8n_tokens=("n8n-token-1", "n8n-token-2"),
    api_tokens=(
        ApiToken(name="dash", scopes=frozenset({"read"}), sha256=DIGEST),
        ApiToken(name="ops", scopes=frozenset({"read", "admin"}), sha256=DIGEST),
    ),
    fernet_keys=("key-new", "key-old"),
    log_level="debug",
    log_format="console",
    max_body_bytes=2048,
    webhook_rate_per_s=50.0,
    extra_secrets=("extra-secret-1",),
    base_currency="GBP",
)


def test_every_variable_is_parsed() -> None:
    assert load_settings(FULL_ENV) == EXPECTED


def test_the_full_environment_sets_every_field() -> None:
    # A new field without a variable (or missing from FULL_ENV) fails here.
    assert set(Settings.__struct_fields__) == {
        f for f in Settings.__struct_fields__ if getattr(EXPECTED, f) != getattr(Settings(), f)
    }


def test_defaults_work_without_any_variable() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.stockx_api_url == "https://api.stockx.com/v2"
    assert settings.stockx_daily_budget == 25_000
    assert settings.max_body_bytes == 1_048_576
    assert settings.log_format == "json"


def test_empty_values_mean_default() -> None:
    assert load_settings({"SOLEFLIP_HTTP_PORT": "", "SOLEFLIP_LOG_LEVEL": ""}) == Settings()


def test_admin_dsn_falls_back_to_the_service_dsn() -> None:
    assert load_settings({"SOLEFLIP_DATABASE_URL": "postgresql://a@b/c"}).admin_dsn == (
        "postgresql://a@b/c"
    )
    assert EXPECTED.admin_dsn == "postgres://admin@db:5432/soleflip"


def test_secret_values_lists_every_configured_secret() -> None:
    values = set(EXPECTED.secret_values())
    assert {"sim-secret", "sim-refresh", "sim-api-key", "n8n-token-1", "extra-secret-1"} <= values
    assert {"whsec_b2xk", "whsec_bmV3", "whsec_bjhu", "key-new", "key-old"} <= values
    assert "sim-client" not in values


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SOLEFLIP_DATABASE_URL", "mysql://x"),
        ("SOLEFLIP_ADMIN_DATABASE_URL", "localhost"),
        ("SOLEFLIP_NATS_URL", "http://n:4222"),
        ("SOLEFLIP_NATS_URL", " , "),
        ("SOLEFLIP_NATS_PREFIX", "has.dot"),
        ("SOLEFLIP_NATS_REPLICAS", "0"),
        ("SOLEFLIP_NATS_REPLICAS", "7"),
        ("SOLEFLIP_NATS_REPLICAS", "three"),
        ("SOLEFLIP_HTTP_PORT", "70000"),
        ("SOLEFLIP_HTTP_PORT", "http"),
        ("SOLEFLIP_STOCKX_API_URL", "ftp://api.stockx.com"),
        ("SOLEFLIP_STOCKX_API_URL", "https://"),
        ("SOLEFLIP_STOCKX_AUTH_URL", "accounts.stockx.com"),
        ("SOLEFLIP_STOCKX_RATE_PER_S", "0"),
        ("SOLEFLIP_STOCKX_RATE_PER_S", "fast"),
        ("SOLEFLIP_STOCKX_DAILY_BUDGET", "-1"),
        ("SOLEFLIP_POLL_INTERVAL_S", "-5"),
        ("SOLEFLIP_WEBHOOK_SECRETS_STOCKX", "not-a-whsec"),
        ("SOLEFLIP_WEBHOOK_SECRETS_N8N", "whsec_ok,bad"),
        ("SOLEFLIP_API_TOKENS", "name:read"),
        ("SOLEFLIP_API_TOKENS", f"name:root:{DIGEST}"),
        ("SOLEFLIP_API_TOKENS", "name:read:abc"),
        ("SOLEFLIP_API_TOKENS", f":read:{DIGEST}"),
        ("SOLEFLIP_LOG_LEVEL", "verbose"),
        ("SOLEFLIP_LOG_FORMAT", "xml"),
        ("SOLEFLIP_MAX_BODY_BYTES", "0"),
        ("SOLEFLIP_WEBHOOK_RATE_PER_S", "nan?"),
        ("SOLEFLIP_BASE_CURRENCY", "euro"),
    ],
)
def test_invalid_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value})


def test_invalid_secret_value_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"SOLEFLIP_WEBHOOK_SECRETS_STOCKX": "plain-secret-value"})
    assert "plain-secret-value" not in str(info.value)
