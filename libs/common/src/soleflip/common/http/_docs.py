"""The browsable API docs: Swagger UI served from a Python package, so they work offline.

The script, style and preset come from the `swagger-ui-py` wheel (Swagger UI's release files with
their Apache-2.0 licence, pinned by `uv.lock`), served under `/schema/assets/` by every service;
no page loads anything from a CDN. The UI's "Authorize" button takes a bearer token for the
`bearerAuth` scheme every `/api` operation declares, so "Try it out" works.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.params import FromPath

from soleflip.common.errors import NotFound

ASSETS_PATH = "/schema/assets"
#: The files a docs page loads (and the licence they ship with), with their media types.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "LICENSE": "text/plain",
}


def docs_ui() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at `/schema` (and `/schema/swagger`, the address it had before)."""
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon="",
        )
    ]


@cache
def _asset(name: str) -> bytes:
    return (files("swagger_ui") / "static" / name).read_bytes()


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def docs_asset(name: FromPath[str]) -> Response[bytes]:
    """One file of the docs UI, from the installed package (cached in memory once read)."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no docs asset {name!r}")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={"cache-control": "public, max-age=86400"},
    )


def docs_handlers() -> list[HTTPRouteHandler]:
    return [docs_asset]
