"""What a server process sets in the interpreter once its app has started
(www/interpreter.py): the garbage collector's threshold, and start-up's objects frozen
out of its scans."""

import gc

import pytest

from www.interpreter import tune_on_startup
from www.keys import CONFIG


@pytest.fixture
def interpreter_state():
    """The test process's own settings, put back after the test."""
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


async def test_a_served_app_tunes_the_interpreter_at_the_end_of_its_start_up(
    aiohttp_client, app, interpreter_state
):
    server = app[CONFIG].server
    assert server.gc_threshold == 10000  # the default
    tuned = server.model_copy(update={"gc_threshold": 4321})
    app[CONFIG] = app[CONFIG].model_copy(update={"server": tuned})
    frozen_before = []

    async def earlier_start_up(app):
        frozen_before.append(gc.get_freeze_count())

    app.on_startup.append(earlier_start_up)
    tune_on_startup(app)
    gc.unfreeze()
    assert gc.get_threshold()[0] != 4321  # nothing before start-up
    await aiohttp_client(app)
    assert gc.get_threshold()[0] == 4321
    assert frozen_before == [0] and gc.get_freeze_count() > 0  # after the rest of start-up
