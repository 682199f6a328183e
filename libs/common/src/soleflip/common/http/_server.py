"""Running an app under uvicorn (uvloop + httptools) with a graceful SIGTERM stop."""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from soleflip.common.observability import tracer_provider

#: Below Kubernetes' default 30 s termination grace period, so lifespans still get to close.
GRACEFUL_SHUTDOWN_S = 25
#: Set when a served process is told to stop (SIGTERM/SIGINT), before uvicorn drains requests:
#: background work (consumers) stops taking new work then, not only after the drain.
SHUTDOWN_REQUESTED = threading.Event()


def build_server(
    app: Any,
    *,
    host: str,
    port: int,
    workers: int = 1,
    factory: bool = False,
    proxy_headers: bool = False,
    forwarded_allow_ips: str | None = None,
    graceful_shutdown_s: int = GRACEFUL_SHUTDOWN_S,
    install_signal_handlers: bool = True,
) -> uvicorn.Server:
    """A configured, not yet started uvicorn server (`serve_async` runs it in the current loop).

    With `install_signal_handlers=False` the caller owns SIGINT/SIGTERM and stops the server by
    setting `server.should_exit = True`: what a process running several servers needs, since
    each uvicorn server would otherwise replace the previous one's handlers.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=factory,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools",
        lifespan="on",
        # Our middleware logs each request with its context; uvicorn's access log would repeat it.
        access_log=False,
        # Leave logging alone: `configure_observability` already routes uvicorn's loggers.
        log_config=None,
        # Off unless asked: X-Forwarded-* from an untrusted client would spoof addresses.
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    return _Server(config) if install_signal_handlers else _SignallessServer(config)


class _Server(uvicorn.Server):
    """A uvicorn server that announces a stop signal process-wide (`SHUTDOWN_REQUESTED`)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        SHUTDOWN_REQUESTED.set()
        super().handle_exit(sig, frame)


class _SignallessServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    workers: int = 1,
    factory: bool = False,
    proxy_headers: bool = False,
    graceful_shutdown_s: int = GRACEFUL_SHUTDOWN_S,
) -> None:
    """Serve until SIGTERM/SIGINT, then drain in-flight requests and run lifespan shutdown.

    Several workers need `app` as an import string (`"pkg.module:app"`, or a factory with
    `factory=True`): each worker process imports it and must configure observability itself.
    """
    if workers > 1 and not isinstance(app, str):
        raise ValueError("workers > 1 needs the app as an import string 'module:attribute'")
    server = build_server(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=factory,
        proxy_headers=proxy_headers,
        graceful_shutdown_s=graceful_shutdown_s,
    )
    with _stop_signals_return():
        if workers > 1:
            _run_workers(server.config)
        else:
            server.run()
    _flush_traces()


async def serve_async(server: uvicorn.Server) -> None:
    """Run a `build_server` server in the running loop until it is told to exit.

    Several servers can share one loop (`soleflip dev`): build them with
    `install_signal_handlers=False` and set `should_exit` on each when a signal arrives.
    """
    await server.serve()


def _run_workers(config: uvicorn.Config) -> None:
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


@contextmanager
def _stop_signals_return() -> Iterator[None]:
    """After a graceful stop, uvicorn re-raises the signal; this lets `serve` return normally."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _flush_traces() -> None:
    provider = tracer_provider()
    if provider is not None:
        provider.force_flush(timeout_millis=5_000)
