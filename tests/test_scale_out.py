"""Scaling out with a real broker between the processes (issue #11): with 2 and then 4
server processes, live comments posted through random processes reach every socket on
every process, exactly once, in order, each within 1 s; half-way, the broker's connection
is killed (Redis restarted, or the listening PostgreSQL backends terminated) and the
comments after the processes reconnect must all arrive (tests/live.py says how).

The deployments: gunicorn workers on SQLite with Redis; separate `python -m www` processes
on PostgreSQL (a port each, one database), with LISTEN/NOTIFY or with Redis. SQLite
without Redis is tests/test_workers.py. The PostgreSQL ones run under `make test-pg`
(and CI), and skip elsewhere; a missing redis-server skips, or fails with CI=true.
"""

import asyncio
import contextlib
import sys
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from tests import databases
from tests.cluster import Cluster, gunicorn, processes, seed, sessions_and_edits
from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from tests.live import live_comments
from tests.procfs import connected_to, holder
from tests.services import RedisServer, running_redis
from tests.serving import clean_env, init_db, write_config
from www.settings import load_settings

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="tells processes apart through /proc"
)

LISTENER = "www-live"  # application_name of each process's LISTEN connection (PostgreSQL)
RECONNECT_MAX = 1.0  # live.reconnect_max: the back-off stays short in the tests


class Setup(NamedTuple):
    postgres: bool
    redis: bool


SQLITE, POSTGRES = pytest.mark.sqlite_only, pytest.mark.postgres_only
SETUPS = [
    pytest.param(Setup(postgres=False, redis=True), id="sqlite-redis", marks=SQLITE),
    pytest.param(Setup(postgres=True, redis=False), id="postgres", marks=POSTGRES),
    pytest.param(Setup(postgres=True, redis=True), id="postgres-redis", marks=POSTGRES),
]


class Deployment(NamedTuple):
    cluster: Cluster
    post_id: int
    setup: Setup
    redis: RedisServer | None


@pytest.fixture
async def deploy(tmp_path, db_url):
    """deploy(setup, N): N server processes as `setup` says, on a database holding alice
    and one post (and a Redis of the test's own if it says so). All stopped after the test,
    Redis last."""

    async def start(setup: Setup, count: int) -> Deployment:
        overrides = overrides_for(tmp_path, db_url)
        overrides["live"] = {"reconnect_max": RECONNECT_MAX}
        overrides["rate_limits"] = GENEROUS_LIMITS  # 100 comments by one user
        config = write_config(tmp_path, overrides)
        init_db(config)
        post_id = await seed(load_settings(config, environ={}))
        redis = servers.enter_context(running_redis(tmp_path / "redis")) if setup.redis else None
        env = clean_env(**({"WWW_REDIS__URL": redis.url} if redis else {}))
        logs = tmp_path / "logs"
        if setup.postgres:
            cluster = processes(servers, config, count, env, logs)
        else:
            cluster = await gunicorn(servers, config, count, env, logs)
        return Deployment(cluster, post_id, setup, redis)

    with contextlib.ExitStack() as servers:
        yield start


# --- the broker's connections, and killing them -------------------------------------------
@contextlib.asynccontextmanager
async def postgres():
    """A connection to the test server, as the test's own role (that of the app)."""
    import asyncpg

    conn = await asyncpg.connect(databases.URL, timeout=databases.CONNECT_TIMEOUT)
    try:
        yield conn
    finally:
        await conn.close()


async def listeners(cluster: Cluster) -> dict[int, int]:
    """{backend pid: process} of the LISTEN connections of `cluster`'s processes (found by
    their client port: other tests' servers may listen on the same PostgreSQL)."""
    server_port = urlsplit(databases.URL).port or 5432
    async with postgres() as conn:
        sql = "SELECT pid, client_port FROM pg_stat_activity WHERE application_name = $1"
        rows = await conn.fetch(sql, LISTENER)
    found = {
        row["pid"]: holder(cluster.workers, row["client_port"] or 0, server_port) for row in rows
    }
    return {backend: pid for backend, pid in found.items() if pid is not None}


async def terminate_listeners(cluster: Cluster) -> str:
    """pg_terminate_backend() on the LISTEN connection of every process."""
    backends = await listeners(cluster)
    assert sorted(backends.values()) == sorted(cluster.workers), (
        f"LISTEN connections {backends}, expected one for each of {cluster.workers}"
    )
    async with postgres() as conn:
        for backend in backends:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", backend), backend
    return f"{len(backends)} listening backends terminated"


async def restart_redis(deployment: Deployment) -> str:
    """Restart Redis on its port (a new process: every connection to it is broken)."""
    redis, workers = deployment.redis, deployment.cluster.workers
    assert connected_to(workers, redis.port) == workers, "a process is not connected to Redis"
    before = redis.pid
    await asyncio.to_thread(redis.restart)
    assert redis.pid not in (None, before)
    return f"Redis restarted (PID {before} -> {redis.pid})"


# --- the tests ----------------------------------------------------------------------------
@pytest.mark.parametrize("count", [2, 4])
@pytest.mark.parametrize("setup", SETUPS)
async def test_live_comments_reach_every_process_through_a_killed_broker(
    deploy, setup, count, record_property
):
    deployment = await deploy(setup, count)
    cluster = deployment.cluster
    if setup.postgres and setup.redis:  # Redis carries the comments, not LISTEN/NOTIFY
        assert await listeners(cluster) == {}

    async def kill() -> str:
        if setup.redis:
            return await restart_redis(deployment)
        return await terminate_listeners(cluster)

    record_property("figure", await live_comments(cluster, deployment.post_id, kill))


@pytest.mark.postgres_only
async def test_sessions_and_edits_are_seen_by_every_process(deploy):
    deployment = await deploy(Setup(postgres=True, redis=False), 4)
    await sessions_and_edits(deployment.cluster, deployment.post_id)
