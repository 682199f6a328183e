"""The console's pages: one controller per page, the static files, errors as pages."""

from __future__ import annotations

from pathlib import Path

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from soleflip.console.http._auth import AuthController
from soleflip.console.http._catalog import CatalogController
from soleflip.console.http._common import exception_handlers
from soleflip.console.http._inventory import InventoryController
from soleflip.console.http._listings import ListingsController
from soleflip.console.http._operations import OperationsController
from soleflip.console.http._orders import OrdersController
from soleflip.console.http._today import TodayController

STATIC = Path(__file__).resolve().parent.parent / "static"

CONTROLLERS: list[ControllerRouterHandler] = [
    AuthController,
    TodayController,
    InventoryController,
    ListingsController,
    OrdersController,
    CatalogController,
    OperationsController,
    create_static_files_router(
        path="/static",
        directories=[STATIC],
        include_in_schema=False,
        cache_control=None,
        name="static",
    ),
]

__all__ = ["CONTROLLERS", "exception_handlers"]
