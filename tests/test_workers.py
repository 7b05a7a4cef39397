"""Several gunicorn workers on SQLite, served as the README deploys them: live comments
reach the sockets of every worker, a session made by one worker works on the others, and a
post edited through one worker shows the change on the next page from another.

The machinery (which worker answered, the sockets, the checks) is in tests/cluster.py and
tests/live.py, shared with tests/test_scale_out.py (PostgreSQL, Redis).
"""

import contextlib
import sys

import pytest

from tests.cluster import gunicorn, seed, sessions_and_edits
from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from tests.live import live_comments
from tests.serving import clean_env, init_db, write_config
from www.settings import load_settings

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="tells workers apart through /proc"
)


@pytest.fixture
async def served(tmp_path):
    """start(N): gunicorn with N workers, on a database holding alice and one post; returns
    (Cluster, the post's id). Stopped after the test."""
    # 100 comments by one user: the rate limits stay on, out of the way.
    config = write_config(tmp_path, {**overrides_for(tmp_path), "rate_limits": GENEROUS_LIMITS})
    init_db(config)
    post_id = await seed(load_settings(config, environ={}))

    async def start(workers: int):
        cluster = await gunicorn(servers, config, workers, clean_env(), tmp_path / "logs")
        return cluster, post_id

    with contextlib.ExitStack() as servers:
        yield start


@pytest.mark.parametrize("workers", [2, 4])
async def test_live_comments_reach_the_sockets_of_every_worker(served, workers, record_property):
    cluster, post_id = await served(workers)
    record_property("figure", await live_comments(cluster, post_id))


async def test_sessions_and_edits_are_seen_by_every_worker(served):
    await sessions_and_edits(*await served(4))
