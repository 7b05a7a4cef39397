"""Which gunicorn worker holds a connection, read from /proc (Linux), as
tests/test_workers.py does: the server's end of a TCP connection is a socket that exactly
one worker process has open. live_latency.py uses it to spread its sockets over every
worker, and to know every worker serves before it starts.
"""

import contextlib
import os
import socket
import time
from pathlib import Path

from common import CheckFailed


def children(master: int) -> set[int]:
    """The processes whose parent is `master`."""
    pids = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:  # state, then parent
                pids.add(int(name))
    return pids


def server_end(server_port: int, client_port: int) -> str | None:
    """The socket inode of the server's end of the connection from `client_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if (int(local, 16), int(remote, 16)) == (server_port, client_port):
                return fields[9]
    return None


def holder(workers: set[int], server_port: int, client_port: int) -> int:
    """Which of `workers` holds the connection from `client_port` (open right now)."""
    inode = server_end(server_port, client_port)
    if inode is None:
        raise CheckFailed(f"no connection from port {client_port}")
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):  # a worker gone
            for fd in os.listdir(fds):
                with contextlib.suppress(OSError):  # closed meanwhile
                    if os.readlink(fds / fd) == f"socket:[{inode}]":
                        return pid
    raise CheckFailed(f"no worker holds the connection from port {client_port}")


def wait_for_workers(master: int, count: int, port: int, timeout: float = 30) -> set[int]:
    """The `count` workers of `master`, once each has answered GET /healthz (its app has
    started). Each request goes over a new connection; at most 500 of them."""
    deadline = time.monotonic() + timeout
    while len(workers := children(master)) < count:  # forked one after the other
        if time.monotonic() > deadline:
            raise CheckFailed(f"gunicorn started {len(workers)} of {count} workers")
        time.sleep(0.05)
    answered = set()
    for _ in range(500):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if conn.recv(64).startswith(b"HTTP/1.1 200"):
                answered.add(holder(workers, port, conn.getsockname()[1]))
        if answered == workers:
            return workers
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise CheckFailed(f"only workers {sorted(answered)} of {sorted(workers)} answered")
