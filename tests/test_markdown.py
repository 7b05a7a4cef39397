"""The Markdown renderer: its output bound, and rendering in threads of its own."""

import asyncio
import logging
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it.renderer import RendererHTML

from www import markdown
from www.executors import BoundedExecutor, ExecutorBusy
from www.markdown import MarkdownRenderer, TooLarge, render_markdown
from www.ratelog import RateLimitedLog

PLAIN = markdown._build(RendererHTML)  # the same rules, markdown-it-py's own renderer
MARKDOWNISH = st.text(st.sampled_from("ab *_[]()!<>&#`-|>:\n/ \t1."), max_size=300)
# A reference link repeats its address at each use: 3 characters of Markdown, 1,000 of HTML.
AMPLIFIED = "[a]: /" + "x" * 1000 + "\n\n" + "[a] " * 2000


@given(MARKDOWNISH)
def test_the_bound_changes_no_output_under_it(source):
    html = PLAIN.render(source)
    assert render_markdown(source) == html
    assert render_markdown(source, max_chars=len(html)) == html
    if html:
        with pytest.raises(TooLarge):
            render_markdown(source, max_chars=len(html) - 1)


def test_rendering_stops_at_the_bound_not_after():
    assert len(PLAIN.render(AMPLIFIED)) > 2_000_000
    with pytest.raises(TooLarge):
        render_markdown(AMPLIFIED, max_chars=100_000)


@pytest.fixture
def renderer():
    """make(threads, queue): a MarkdownRenderer on its own pool, shut down after the test."""
    made = []

    def make(threads=1, queue=0) -> MarkdownRenderer:
        log = RateLimitedLog(logging.getLogger("test"))
        made.append(BoundedExecutor(threads, queue, "markdown", log))
        return MarkdownRenderer(made[-1], max_html=100_000)

    yield make
    for pool in made:
        pool.shutdown()


class Spy:
    """Stands in for render_markdown: records each call's thread, and can hold calls
    until released (from the test's thread)."""

    def __init__(self, monkeypatch, hold=False):
        self.threads, self.started = [], threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        monkeypatch.setattr(markdown, "render_markdown", self)

    def __call__(self, source, max_chars):
        self.threads.append(threading.current_thread())
        self.started.set()
        self.release.wait(30)
        return render_markdown(source, max_chars)


async def wait_for(event: threading.Event) -> None:
    async with asyncio.timeout(10):
        while not event.is_set():
            await asyncio.sleep(0.01)


async def test_renders_in_its_own_threads(monkeypatch, renderer):
    spy, md = Spy(monkeypatch), renderer()
    assert await md.render("*hi*") == "<p><em>hi</em></p>\n"
    with pytest.raises(TooLarge):
        await md.render(AMPLIFIED)
    assert [thread.name.startswith("markdown") for thread in spy.threads] == [True, True]
    assert threading.main_thread() not in spy.threads


async def test_one_render_for_readers_of_the_same_text_and_503_past_the_queue(
    monkeypatch, renderer
):
    spy, md = Spy(monkeypatch, hold=True), renderer(threads=1, queue=0)
    readers = [asyncio.create_task(md.render("same")) for _ in range(5)]
    await wait_for(spy.started)
    with pytest.raises(ExecutorBusy) as busy:
        await md.render("other")  # one thread, no queue: no room
    assert busy.value.headers["Retry-After"]
    readers[0].cancel()  # one reader leaving does not end the others' render
    spy.release.set()
    assert await asyncio.gather(*readers[1:]) == ["<p>same</p>\n"] * 4
    assert len(spy.threads) == 1
    assert await md.render("other") == "<p>other</p>\n"  # room again
