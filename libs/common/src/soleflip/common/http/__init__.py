"""The shared HTTP edge: the app factory, problem+json errors, bearer-token auth and the server.

Services call `create_app(...)` in their composition root, put `guards=[requires("read")]` on
`/api/v1` controllers, and the CLI runs the result with `serve(app, host=..., port=...)`.
"""

from soleflip.common.http._app import SERVICE_STATE_KEY, SETTINGS_STATE_KEY, create_app
from soleflip.common.http._csv import (
    CSV_MEDIA_TYPE,
    NDJSON_MEDIA_TYPE,
    CellKind,
    copy_csv_stream,
    csv_cell,
    csv_lines,
    csv_stream,
    keyset_chunks,
    ndjson_stream,
    sql_cell,
    wants_csv,
    wants_ndjson,
)
from soleflip.common.http._health import (
    Check,
    Degraded,
    ReadinessSource,
    check_name,
    run_checks,
)
from soleflip.common.http._problems import (
    PROBLEM_JSON,
    FieldError,
    Problem,
    problem_response,
    problem_responses,
    problem_type,
)
from soleflip.common.http._server import (
    GRACEFUL_SHUTDOWN_S,
    SHUTDOWN_REQUESTED,
    build_server,
    serve,
    serve_async,
)
from soleflip.common.http.auth import (
    BEARER_SECURITY,
    SCOPES,
    TokenAuthenticator,
    bearer_token,
    current_principal,
    generate_token,
    granted_scopes,
    hash_token,
    requires,
)

__all__ = [
    "BEARER_SECURITY",
    "CSV_MEDIA_TYPE",
    "GRACEFUL_SHUTDOWN_S",
    "NDJSON_MEDIA_TYPE",
    "PROBLEM_JSON",
    "SCOPES",
    "SERVICE_STATE_KEY",
    "SETTINGS_STATE_KEY",
    "SHUTDOWN_REQUESTED",
    "CellKind",
    "Check",
    "Degraded",
    "FieldError",
    "Problem",
    "ReadinessSource",
    "TokenAuthenticator",
    "bearer_token",
    "build_server",
    "check_name",
    "copy_csv_stream",
    "create_app",
    "csv_cell",
    "csv_lines",
    "csv_stream",
    "current_principal",
    "generate_token",
    "granted_scopes",
    "hash_token",
    "keyset_chunks",
    "ndjson_stream",
    "problem_response",
    "problem_responses",
    "problem_type",
    "requires",
    "run_checks",
    "serve",
    "serve_async",
    "sql_cell",
    "wants_csv",
    "wants_ndjson",
]
