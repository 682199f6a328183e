"""Local Postgres and NATS servers from PyPI wheels, for `soleflip dev` and the test fixtures.

Both are plain child processes in their own session: we stop them in order on exit, the kernel
stops them if we die (Linux), and a pid file lets the next run clear a server a crash left behind.
"""

from soleflip.common.localinfra._nats import NatsServer, find_nats_server
from soleflip.common.localinfra._postgres import PostgresServer, find_postgres_bin
from soleflip.common.localinfra._proc import (
    InfraError,
    RunAs,
    free_port,
    port_is_free,
    unprivileged_user,
)

__all__ = [
    "InfraError",
    "NatsServer",
    "PostgresServer",
    "RunAs",
    "find_nats_server",
    "find_postgres_bin",
    "free_port",
    "port_is_free",
    "unprivileged_user",
]
