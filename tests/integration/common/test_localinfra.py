"""Local Postgres and NATS from the wheels: start, serve, stop, and leave nothing behind."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from soleflip.common.bus.names import Names
from soleflip.common.localinfra import InfraError, NatsServer, PostgresServer


def _processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,user,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -eo" not in line]


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
    old_pid = int(stale.pid_path.read_text().split('"pid": ')[1].split(",")[0])
    fresh = NatsServer(base_dir)
    fresh.start()
    try:
        assert fresh.running
        assert _processes_mentioning(f"-p {stale.port} ") == [] or stale.port == fresh.port
        assert not Path(f"/proc/{old_pid}").exists() or _is_zombie(old_pid)
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
