"""Local Postgres and NATS from the wheels: start, serve, stop, and leave nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from soleflip.common.bus.names import Names
from soleflip.common.localinfra import InfraError, NatsServer, PostgresServer


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live (non-zombie) processes containing `text`, read from /proc."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name} {cmdline}")
    return found


def _uid_of(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


@pytest.fixture
def base_dir() -> Iterator[Path]:
    # Not tmp_path: when root, Postgres runs as `nobody`, who cannot traverse pytest's 0700 dirs.
    path = Path(tempfile.mkdtemp(prefix="soleflip-li-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


async def test_servers_start_serve_and_stop_without_orphans(base_dir: Path) -> None:
    pg = PostgresServer(base_dir, durable=False)
    ns = NatsServer(base_dir)
    pg.start()
    ns.start()
    try:
        pg.ensure_database("soleflip")
        conn = await asyncpg.connect(pg.dsn("soleflip"))
        assert await conn.fetchval("SELECT current_database()") == "soleflip"
        await conn.close()
        nc = await nats.connect(ns.url)
        info = await nc.jetstream().account_info()
        assert info.streams == 0
        await nc.close()
        assert pg.data_dir.parent == base_dir
        assert len(_processes_mentioning(str(base_dir))) == 2  # postgres and nats-server
        if os.geteuid() == 0:
            assert _uid_of(_postmaster_pid(pg)) != 0, "postgres must not run as root"
    finally:
        pg.stop()
        ns.stop()
    assert not pg.running
    assert not ns.running
    assert _processes_mentioning(str(base_dir)) == []


def _postmaster_pid(pg: PostgresServer) -> int:
    return int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])


async def test_data_survives_a_restart_on_the_same_directory(base_dir: Path) -> None:
    first = PostgresServer(base_dir)
    first.start()
    try:
        first.ensure_database("kept")
        conn = await asyncpg.connect(first.dsn("kept"))
        await conn.execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (7)")
        await conn.close()
    finally:
        first.stop()
    second = PostgresServer(base_dir)
    second.start()
    try:
        second.ensure_database("kept")  # exists already: a no-op
        conn = await asyncpg.connect(second.dsn("kept"))
        assert await conn.fetchval("SELECT id FROM marker") == 7
        await conn.close()
    finally:
        second.stop()


def test_server_left_by_a_dead_owner_is_replaced(base_dir: Path) -> None:
    stale = NatsServer(base_dir)
    stale.start()
    record = json.loads(stale.pid_path.read_text())
    gone = subprocess.Popen(["true"])
    gone.wait()
    # As if the process that started the server had crashed without stopping it: its pid file
    # names a dead owner, and the kernel dropped that owner's store lock.
    stale.pid_path.write_text(json.dumps({**record, "owner": gone.pid}))
    stale._lock.release()
    fresh = NatsServer(base_dir)
    fresh.start()
    try:
        assert fresh.running
        assert not Path(f"/proc/{record['pid']}").exists() or _is_zombie(record["pid"])
        assert json.loads(fresh.pid_path.read_text())["owner"] == os.getpid()
    finally:
        fresh.stop()
        stale.stop()


def _is_zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_server_owned_by_a_live_process_is_not_taken_over(base_dir: Path) -> None:
    owner = subprocess.Popen(["sleep", "30"])
    first = NatsServer(base_dir)
    first.start()
    try:
        record = first.pid_path.read_text().replace(
            f'"owner": {os.getpid()}', f'"owner": {owner.pid}'
        )
        first.pid_path.write_text(record)
        first._lock.release()  # the pid file alone must still protect it
        with pytest.raises(InfraError, match="belongs to a running process"):
            NatsServer(base_dir).start()
        assert first.running
    finally:
        owner.kill()
        owner.wait()
        first.stop()


async def test_nats_server_fixture_restarts_on_its_port_with_streams_kept(
    nats_server: NatsServer, names: Names
) -> None:
    stream = names.stream("KEEP")
    nc = await nats.connect(nats_server.url)
    await nc.jetstream().add_stream(name=stream, subjects=[names.subject("keep.>")])
    await nc.close()
    url = nats_server.url
    nats_server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", nats_server.port), timeout=1).close()
    nats_server.start()
    assert nats_server.url == url
    nc = await nats.connect(url)
    info = await nc.jetstream().stream_info(stream)
    assert info.config.name == stream
    await nc.close()


_HOLDER = """
import sys, time
from pathlib import Path
from soleflip.common.localinfra import NatsServer, PostgresServer
base = Path(sys.argv[1])
PostgresServer(base, durable=False).start()
nats = NatsServer(base)
nats.start()
nats.pid_path.unlink()  # lost, or from a version that wrote none: the lock must still hold
(base / "postgres.pid").unlink()
print("up", flush=True)
time.sleep(120)
"""


def _servers_on(base_dir: Path, name: str) -> list[str]:
    return [p for p in _processes_mentioning(str(base_dir)) if Path(p.split()[1]).name == name]


def test_a_second_server_on_data_a_live_process_holds_is_refused(base_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(base_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "up"
        for server in (NatsServer(base_dir), PostgresServer(base_dir, durable=False)):
            with pytest.raises(
                InfraError, match=f"in use by another process \\(pid {holder.pid}\\)"
            ):
                server.start()
            assert not server.running
        assert len(_servers_on(base_dir, "nats-server")) == 1
    finally:
        holder.kill()
        holder.wait()


def test_nats_server_that_ignores_sigterm_is_killed_after_the_grace_period(base_dir: Path) -> None:
    server = NatsServer(base_dir)
    server.start()
    pid = json.loads(server.pid_path.read_text())["pid"]
    os.kill(pid, signal.SIGSTOP)  # a stopped process acts on no signal but SIGKILL
    started = time.monotonic()
    server.stop(timeout=1.0)
    assert time.monotonic() - started < 10
    assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    assert not server.pid_path.exists()
    again = NatsServer(base_dir)  # the store is free again
    again.start()
    again.stop()


_STARTER = """
import sys, time
from pathlib import Path
from soleflip.common.localinfra import NatsServer, PostgresServer
base = Path(sys.argv[1])
PostgresServer(base, durable=False).start()
NatsServer(base).start()
print("up", flush=True)
time.sleep(120)
"""


def test_servers_die_with_a_killed_parent(base_dir: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _STARTER, str(base_dir)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "up"
    assert len(_processes_mentioning(str(base_dir))) >= 3
    parent.kill()  # SIGKILL: no atexit, no cleanup code runs
    parent.wait()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(base_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(base_dir)) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Postgres as another user")
def test_root_keeps_postgres_data_out_of_a_private_directory() -> None:
    private = Path(tempfile.mkdtemp(prefix="soleflip-private-"))  # 0700: nobody cannot enter
    server = PostgresServer(private, durable=False)
    try:
        assert server.data_dir.is_relative_to(Path(tempfile.gettempdir()))
        assert not server.data_dir.is_relative_to(private)
        server.start()
        assert server.running
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(private), str(server.data_dir.parent)], check=False)
