"""The multi-process tests' own machinery (tests/cluster.py, tests/live.py) can tell a
failure: it finds which process holds a connection, and its check of what each socket
received catches a comment missing, twice or out of order."""

import os
import socket
import sys

import pytest

from tests.cluster import Cluster, Reply
from tests.live import Live
from tests.procfs import connected_to, holder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_the_holder_of_a_connection_is_found_through_proc():
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as client:
        client.connect(server.getsockname())
        accepted, _ = server.accept()
        with accepted:
            server_port, client_port = server.getsockname()[1], client.getsockname()[1]
            assert holder({os.getpid()}, server_port, client_port) == os.getpid()
            assert holder({os.getppid()}, server_port, client_port) is None
            assert connected_to({os.getpid(), os.getppid()}, server_port) == {os.getpid()}


def reply(n: int) -> Reply:
    return Reply(worker=1, status=201, body={"id": n, "content": f"c{n}"}, cookie=None, at=0.0)


def live_with(*received: list[int]) -> Live:
    """A Live whose sockets (on process 1) received these comment ids, at time 0.5."""
    live = Live(Cluster({8080: {1}}), post_id=1, cookie="", token="")
    live.sockets = [(1, None) for _ in received]
    live.arrivals = [[(0.5, reply(n).body) for n in ids] for ids in received]
    return live


CREATED = [reply(n) for n in range(1, 6)]  # 3 is a probe: some sockets may miss it
REQUIRED = [reply(n) for n in (1, 2, 4, 5)]


def test_check_passes_when_each_socket_got_each_once_in_order():
    assert live_with([1, 2, 3, 4, 5], [1, 2, 4, 5]).check(CREATED, REQUIRED) == [0.5] * 8


@pytest.mark.parametrize(
    ("received", "problem"),
    [
        ([1, 2, 4], "3 of the 4 comments"),
        ([1, 2, 2, 4, 5], "twice or out of order"),
        ([1, 2, 5, 4], "twice or out of order"),
        ([1, 2, 4, 5, 6], "{'id': 6"),
    ],
)
def test_check_fails_on_a_missing_duplicate_misplaced_or_unknown_comment(received, problem):
    with pytest.raises(AssertionError, match=problem):
        live_with([1, 2, 3, 4, 5], received).check(CREATED, REQUIRED)
