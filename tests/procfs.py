"""Which process holds a TCP connection, read from /proc (Linux), for the multi-process
tests: the server's end of a connection is a socket that exactly one process has open, so
a test can tell which worker answered, or which process a database connection serves.
"""

import contextlib
import os
from pathlib import Path


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


def tcp_sockets() -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of every TCP socket of this machine."""
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            sockets.append((int(local, 16), int(remote, 16), fields[9]))
    return sockets


def owners(pids: set[int], inodes: set[str]) -> dict[str, int]:
    """Which of `pids` has each of the socket `inodes` open (those that one of them has)."""
    found = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):  # the process is gone
            for fd in os.listdir(fds):
                with contextlib.suppress(OSError):  # closed meanwhile
                    link = os.readlink(fds / fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        found[link[8:-1]] = pid
    return found


READS = 5  # of /proc/net/tcp*, for a connection that is open: see holder()


def holder(pids: set[int], local_port: int, remote_port: int) -> int | None:
    """Which of `pids` holds the connection between these ports (its end at `local_port`).

    The kernel prints its socket table a page at a time, so a table that other programs
    change meanwhile can be read without an entry that was there all along: a connection
    not found is looked for again, a few times."""
    for _ in range(READS):
        inodes = {i for loc, rem, i in tcp_sockets() if (loc, rem) == (local_port, remote_port)}
        found = owners(pids, inodes)
        if found:
            return next(iter(found.values()))
    return None


def connected_to(pids: set[int], port: int) -> set[int]:
    """Which of `pids` hold a connection to `port` (a Redis or PostgreSQL server's); read
    again while some are not found, as in holder()."""
    found: set[int] = set()
    for _ in range(READS):
        inodes = {inode for _, remote, inode in tcp_sockets() if remote == port}
        found |= set(owners(pids, inodes).values())
        if found == pids:
            break
    return found


def started(pid: int) -> str | None:
    """When process `pid` started (in clock ticks since boot), or None if there is none:
    with the PID, it names one process, never a later one that got the PID again."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None
