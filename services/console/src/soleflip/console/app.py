"""Composition root of the console: settings in, a Litestar app out (port 8004, no schema).

The console keeps no state of its own: pages read and write through the REST APIs of ingest,
catalog, orders and pricing with the console's service token; sessions live in an encrypted
cookie; dead letters are read from the `DLQ` stream as `soleflip dlq` reads them.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability
from soleflip.common.settings import Settings
from soleflip.console.filters import FILTERS
from soleflip.console.http import CONTROLLERS, exception_handlers
from soleflip.console.service import ConsoleService
from soleflip.console.settings import ConsoleSettings, load_console_settings

DEFAULT_PORT = 8004
SERVICE = "console"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def build_service(settings: Settings, options: ConsoleSettings | None = None) -> ConsoleService:
    """The console's service: sessions, the four services' clients, NATS for dead letters."""
    return ConsoleService(settings, options or load_console_settings())


def templates() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping on every template and the console's number filters."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def create_app(settings: Settings, options: ConsoleSettings | None = None) -> Litestar:
    """The console app: its pages, `/static`, and the shared health, metrics and error edge."""
    configure_observability(SERVICE, settings)
    service = build_service(settings, options)
    return create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=CONTROLLERS,
        lifespan=[service.lifespan],
        dependencies={"service": Provide(lambda: service, sync_to_thread=False)},
        description="The seller console: server-rendered pages over the services' REST APIs.",
        state={"service": service},
        template_config=templates(),
        extra_exception_handlers=exception_handlers(),
    )
