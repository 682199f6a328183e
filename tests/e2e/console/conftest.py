"""Browser fixtures of the console tests: Debian's Chromium driven by Playwright (never
Playwright's own browser download), installed with apt when missing and the user is root, and
the whole system with the console served from its own processes (`tests.support.stack`).

Under `CI=true` a missing browser fails the run instead of skipping it."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack, served_stack

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"


def _install_chromium() -> None:
    """`apt-get install -y chromium` as root (the test bootstrap; nothing else installs it)."""
    if CHROMIUM.exists() or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env, timeout=1200
    )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    _install_chromium()
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing and could not be installed (apt-get as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """Per module, not per session: while Playwright's sync API is open it keeps an event loop
    running in the main thread, and every asyncio test after it would fail to start its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def stack(database_url: str, nats_url: str) -> Iterator[Stack]:
    """The stack is set up and torn down in a thread of its own: Playwright's sync API keeps an
    event loop running in this one, where the stack's `asyncio.run` calls cannot run."""
    ready: queue.Queue[Stack | BaseException] = queue.Queue()
    done = threading.Event()

    def hold() -> None:
        try:
            with served_stack(database_url, nats_url, console=True) as served:
                ready.put(served)
                done.wait()
        except BaseException as exc:
            ready.put(exc)

    worker = threading.Thread(target=hold, name="console-stack", daemon=True)
    worker.start()
    got = ready.get(timeout=300)
    if isinstance(got, BaseException):
        raise got
    try:
        yield got
    finally:
        done.set()
        worker.join(timeout=120)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
