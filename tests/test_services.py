"""tests/services.py itself: the Redis server the tests run answers, restarts on the same
port with a new PID, stops by PID, and is required in CI."""

import socket

import pytest

from tests import services


def test_redis_server_answers_restarts_and_stops(redis_server):
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    first = redis_server.pid
    assert first is not None and services.ping(redis_server.port)
    redis_server.restart()
    assert redis_server.pid not in (None, first) and services.ping(redis_server.port)
    redis_server.stop()
    assert redis_server.pid is None and not services.ping(redis_server.port)
    redis_server.stop()  # twice is harmless


def test_start_twice_is_an_error(redis_server):
    with pytest.raises(RuntimeError, match="already running"):
        redis_server.start()


@pytest.mark.parametrize(
    ("ci", "outcome"), [(True, pytest.fail.Exception), (False, pytest.skip.Exception)]
)
def test_without_redis_ci_fails_where_others_skip(monkeypatch, ci, outcome):
    monkeypatch.setattr(services, "REDIS_SERVER", None)
    monkeypatch.setattr(services, "IN_CI", ci)
    with pytest.raises(outcome, match=r"^redis-server is not installed"):
        services.redis_or_skip()


def test_a_server_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:  # the port is someone else's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = services.RedisServer(tmp_path, services.redis_or_skip(), taken.getsockname()[1])
        with pytest.raises(AssertionError, match="redis-server exited with"):
            server.start()
    assert server.pid is None
