"""Process plumbing shared by the local servers: ports, pid files, users, clean termination."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_libc: ctypes.CDLL | None = None
if sys.platform == "linux":  # pragma: no branch - the servers only run on Linux/macOS
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class InfraError(RuntimeError):
    """A local server could not be found, started or stopped; the message says why."""


@dataclass(frozen=True, slots=True)
class RunAs:
    """The unprivileged account a server runs under when we are root (Postgres refuses root)."""

    uid: int
    gid: int


def unprivileged_user() -> RunAs | None:
    """None when not root; else `nobody` (present on Debian, Alpine, RHEL), else a new
    `soleflip` system user. `nobody` needs no change to the machine, hence first."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", "soleflip"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(entry.pw_uid, entry.pw_gid)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "soleflip"],
        check=True,
        capture_output=True,
    )
    entry = pwd.getpwnam("soleflip")
    return RunAs(entry.pw_uid, entry.pw_gid)


def traversable_by(path: Path, user: RunAs) -> bool:
    """True when `user` can reach `path` (every existing ancestor searchable by it)."""
    for part in [path, *path.parents]:
        if not part.exists():
            continue
        st = part.stat()
        if st.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == user.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if part.is_dir() and not st.st_mode & bit:
            return False
    return True


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on `port` now. SO_REUSEADDR as the servers themselves
    use it: TIME_WAIT leftovers of a stopped server do not block them, so they must not us."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` when it is free, else a port the kernel hands out."""
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tcp_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def die_with_parent(sig: int) -> Callable[[], None]:
    """A `preexec_fn` asking Linux to send `sig` to the child when we die, even by SIGKILL.

    atexit does not run on SIGKILL or a crash; this does. It runs after the uid switch, so the
    setting survives it (a credential change would clear it)."""

    def _preexec() -> None:
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return _preexec


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] == "Z"


def cmdline_contains(pid: int, needle: str) -> bool:
    """Guards against signalling an unrelated process that reused a stale pid."""
    try:
        return needle in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return sys.platform != "linux"  # no /proc: trust the pid file


def terminate(pid: int, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Send `sig`, wait up to `timeout`, then SIGKILL the process group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if wait_gone(pid, timeout):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_gone(pid, 5.0)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


@dataclass(frozen=True, slots=True)
class PidRecord:
    """What we write next to a server's data: its pid, the process that owns it, its ports."""

    pid: int
    owner: int
    ports: tuple[int, ...]


def write_pid_file(path: Path, record: PidRecord) -> None:
    data = {"pid": record.pid, "owner": record.owner, "ports": list(record.ports)}
    path.write_text(json.dumps(data))


def read_pid_file(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text())
        return PidRecord(int(data["pid"]), int(data["owner"]), tuple(data["ports"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_stale(path: Path, needle: str, stop: Callable[[int], None]) -> None:
    """Stop a server left behind by a crashed run; refuse if its owner is still alive."""
    record = read_pid_file(path)
    if record is None:
        path.unlink(missing_ok=True)
        return
    server_alive = pid_alive(record.pid) and cmdline_contains(record.pid, needle)
    if server_alive and record.owner != os.getpid() and pid_alive(record.owner):
        raise InfraError(
            f"{needle} (pid {record.pid}, ports {list(record.ports)}) belongs to a running "
            f"process {record.owner}; stop it first or use another data directory"
        )
    if server_alive:
        stop(record.pid)
    path.unlink(missing_ok=True)


class StoreLock:
    """An exclusive `flock` on a lock file next to a server's data, held by the process that
    runs the server for as long as it does. The kernel drops it when that process dies, so a
    crash leaves nothing stale; a live holder, even one whose pid file is gone or that started
    a moment ago, makes a second server on the same data refuse to start."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (idempotent); InfraError naming the holder when another has it."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InfraError(
                f"{self.what} data under {self.path.parent} is in use by another process "
                f"(pid {holder}); stop that `soleflip dev` (or test run) first, or use another "
                "data directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
