"""`create_app`: the Litestar application every service builds, with the shared HTTP edge.

What every app gets: health, readiness and metrics endpoints, OpenAPI under `/schema` (with a
Swagger UI served offline, `_docs`),
problem+json for every error, a body size cap, NUL and undecodable input refused with 4xx,
bearer-token state for `requires`, request logs, server spans continuing the caller's
`traceparent`, and request metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any, TypeAlias

from litestar import Litestar, asgi
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import ASGIRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.template import TemplateConfig
from litestar.types import (
    ASGIApp,
    ControllerRouterHandler,
    ExceptionHandlersMap,
    Middleware,
    Receive,
    Scope,
    Send,
)
from litestar.types.callable_types import LifespanHook

from soleflip.common.http._docs import docs_handlers, docs_ui
from soleflip.common.http._health import ReadinessSource, health_handlers
from soleflip.common.http._input import refuse_unstorable_input
from soleflip.common.http._middleware import TelemetryMiddleware
from soleflip.common.http._problems import exception_handlers, problem_responses
from soleflip.common.http.auth import BEARER_SECURITY, STATE_KEY, TokenAuthenticator
from soleflip.common.settings import Settings

Lifespan: TypeAlias = Callable[[Litestar], AbstractAsyncContextManager[None]]

SETTINGS_STATE_KEY = "soleflip_settings"
SERVICE_STATE_KEY = "soleflip_service"


def create_app(
    *,
    service: str,
    settings: Settings,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    lifespan: Sequence[Lifespan] = (),
    readiness: ReadinessSource = (),
    on_startup: Sequence[LifespanHook] = (),
    on_shutdown: Sequence[LifespanHook] = (),
    max_body_bytes: int | None = None,
    extra_asgi_routes: Mapping[str, ASGIApp | ASGIRouteHandler] | None = None,
    direct_routes: Mapping[str, ASGIApp] | None = None,
    dependencies: Mapping[str, Provide] | None = None,
    middleware: Sequence[Middleware] = (),
    state: Mapping[str, Any] | None = None,
    readiness_timeout_s: float = 2.0,
    version: str = "0.1.0",
    description: str | None = None,
    openapi_tags: Sequence[Tag] = (),
    template_config: TemplateConfig[Any] | None = None,
    extra_exception_handlers: ExceptionHandlersMap | None = None,
    debug: bool = False,
) -> Litestar:
    """Build the Litestar app of `service` (see the module docstring for what it adds).

    `max_body_bytes` defaults to `settings.max_body_bytes`; a route may set its own
    `request_max_body_size`. `readiness` is a list (or name -> check mapping) of async callables
    raising when a dependency is unusable, or a callable returning one after startup. A service
    that renders pages (the console) passes its `template_config` and may answer errors its own
    way with `extra_exception_handlers` (they win over the problem+json ones for their classes).
    `direct_routes` maps exact paths to ASGI apps answered at the outermost layer, before the
    per-request telemetry layer, Litestar's router and its exception handling (ADR 0007: for a
    hot route that keeps cheaper telemetry of its own and answers its own errors); each is also
    registered as a Litestar ASGI route, so the route table, a trailing slash and a wrong
    method still reach it.
    """
    app_state = {
        **(state or {}),
        STATE_KEY: TokenAuthenticator(settings.api_tokens),
        SETTINGS_STATE_KEY: settings,
        SERVICE_STATE_KEY: service,
    }
    handlers: list[ControllerRouterHandler] = [
        *health_handlers(readiness, readiness_timeout_s),
        *docs_handlers(),
        *route_handlers,
        *(_asgi_route(path, app) for path, app in (extra_asgi_routes or {}).items()),
        *(_direct_handler(path, app) for path, app in (direct_routes or {}).items()),
    ]
    app = Litestar(
        route_handlers=handlers,
        lifespan=list(lifespan),
        on_startup=list(on_startup),
        on_shutdown=list(on_shutdown),
        dependencies=dict(dependencies or {}),
        middleware=list(middleware),
        state=State(app_state),
        exception_handlers={**exception_handlers(), **(extra_exception_handlers or {})},
        template_config=template_config,
        # NUL and undecodable bodies are refused here, once for every route (see `_input`).
        before_request=refuse_unstorable_input,
        openapi_config=_openapi(service, version, description, openapi_tags),
        request_max_body_size=max_body_bytes or settings.max_body_bytes,
        # Money is Decimal: Litestar's default would turn it into a float or an int.
        type_encoders={Decimal: str},
        # Logging is configured once by `configure_observability`, never by the framework.
        logging_config=None,
        debug=debug,
    )
    _document_api(app)
    # Outermost, around Litestar's own exception handling, so 404s and 405s are observed too.
    app.asgi_handler = TelemetryMiddleware(app.asgi_handler, service=service)
    if direct_routes:
        # In front of everything Litestar runs per request (its own `__call__` only sets two
        # scope keys before calling `asgi_handler`); lifespan and every other path pass through.
        app.asgi_handler = DirectDispatch(app.asgi_handler, direct_routes)
    return app


class DirectDispatch:
    """The outermost ASGI layer: an exact `direct_routes` path to its app, the rest to `app`.

    One dict lookup per request instead of the telemetry layer, the exception middleware and the
    router (py-spy on ingest: ~6 % of its CPU samples per webhook went there, ADR 0007).
    """

    __slots__ = ("_app", "_routes")

    def __init__(self, app: ASGIApp, routes: Mapping[str, ASGIApp]) -> None:
        self._app = app
        self._routes = dict(routes)

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        # Any: Litestar's Scope union types `type` as its enum; uvicorn's scope has plain str.
        direct = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        await (direct or self._app)(scope, receive, send)


def _direct_handler(path: str, app: ASGIApp) -> ASGIRouteHandler:
    """`app` as a Litestar ASGI route too, for what `DirectDispatch` does not take word for word."""

    async def direct(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    direct.__name__ = f"direct_{path.strip('/').replace('/', '_') or 'root'}"
    return asgi(path, copy_scope=False)(direct)


#: What any `/api` route may answer besides its own results, documented once for every route: bad
#: or unstorable input (400, 413, 415, 422), credentials (401, 403), a missing resource or a state
#: conflict (404, 409), a rate limit (429) and an outage (503) — all as problem+json.
API_PROBLEMS = (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)


def _document_api(app: Litestar) -> None:
    """Document what every `/api` operation shares: the bearer token it requires (so the docs
    UI's "try it" sends one) and the problem+json answers of `API_PROBLEMS`; a route's own
    `responses=` entries win (they may describe a status more precisely)."""
    shared = problem_responses(*API_PROBLEMS)
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            handler.responses = {**shared, **(handler.responses or {})}
            layers = getattr(handler, "ownership_layers", [handler])
            if not any(BEARER_SECURITY[0] in (layer.security or ()) for layer in layers):
                handler.security = [*(handler.security or ()), *BEARER_SECURITY]


def _openapi(
    service: str, version: str, description: str | None, tags: Sequence[Tag]
) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=f"SoleFlip {service}",
        version=version,
        description=description,
        tags=list(tags) or None,
        path="/schema",
        # Swagger UI at /schema (and /schema/swagger) from a package, JSON at /schema/openapi.json.
        render_plugins=docs_ui(),
        components=Components(
            security_schemes={"bearerAuth": SecurityScheme(type="http", scheme="bearer")}
        ),
        use_handler_docstrings=True,
    )


def _asgi_route(path: str, app: ASGIApp | ASGIRouteHandler) -> ASGIRouteHandler:
    if isinstance(app, ASGIRouteHandler):
        return app

    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    mounted.__name__ = f"mounted_{path.strip('/').replace('/', '_') or 'root'}"
    return asgi(path, is_mount=True, copy_scope=True)(mounted)
