"""End-to-end fixtures: the real server as a subprocess, driven by Debian's Chromium.

- `server` (per module): `python -m www` on 127.0.0.1 and a free port, with a fresh
  temporary database; stopped after the module, which fails if the server logged an
  error. A module can override it (see test_screenshots.py, which wants sample data,
  and test_scaffold_journey.py, which serves a scratch copy of the repository).
- `browser` (per session): headless Chromium through Playwright's sync API.
- `new_page(**context_options)`: a page in a fresh browser context (its own cookies);
  `page` is one on a desktop viewport. Every page is watched: a console error or an
  uncaught exception, Content-Security-Policy violations included, fails the test
  after it ran, unless the test declared that HTTP error with `browser_errors.allow()`.

Every wait is bounded: Playwright's timeouts are TIMEOUT_MS for actions, navigations
and `expect` assertions.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from tests.serving import ROOT, clean_env, free_port, init_db, serving, write_config

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests may run as root (containers, CI)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No connections of Chromium's own (updates, sync, field trials): only the test's.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored

expect.set_options(timeout=TIMEOUT_MS)


# The server --------------------------------------------------------------------------


def start_server(tmp_path: Path, *, sample: bool = False, root: Path = ROOT) -> Iterator[str]:
    """Serve the app on a fresh database under tmp_path; yields its base URL.

    `root` is the repository whose app is served: this one, or a scratch copy (its own
    `www` package, templates and migrations). After the caller is done the server gets
    SIGTERM; it must stop cleanly (status 0) without having logged an error or a traceback.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Links in mails (password reset) lead to this server; mails go to tmp_path/outbox.
    # Every test registers and logs in its own users from 127.0.0.1, on a server shared by
    # the module: the rate limits stay on, out of their way.
    overrides = {**overrides_for(tmp_path), "site": {"base_url": url}}
    config = write_config(tmp_path, {**overrides, "rate_limits": GENEROUS_LIMITS})
    if sample:
        subprocess.run(
            [sys.executable, "init_db.py", "--config", str(config), "--sample"],
            cwd=root,
            check=True,
            capture_output=True,
            timeout=60,
        )
    else:
        init_db(config, root)
    args = [sys.executable, "-m", "www", "--host", "127.0.0.1", "--port", str(port)]
    env = clean_env(PYTHONPATH=str(root))  # root's www, whatever is installed
    with serving([*args, "--config", str(config)], f"{url}/healthz", env, root) as proc:
        yield url
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    log = out + err
    problems = [
        line for line in log.splitlines() if re.search(r"\b(ERROR|CRITICAL|Traceback)\b", line)
    ]
    assert proc.returncode == 0 and not problems, f"server log:\n{log}"


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory) -> Path:
    """The folder of the module's server: its database, uploads and mail outbox."""
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="module")
def server(server_dir) -> Iterator[str]:
    """The base URL of a server with an empty database, shared by a test module."""
    yield from start_server(server_dir)


# The browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it (Debian: apt-get install chromium),"
            " or set E2E_CHROMIUM to its path. `make e2e` installs it when run as root."
        )
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
    )
    yield browser
    browser.close()


@dataclass
class BrowserErrors:
    """What the pages of one test reported as errors: console errors (CSP violations
    among them) and uncaught exceptions."""

    base_url: str
    errors: list[str] = field(default_factory=list)
    allowed: set[tuple[int, str]] = field(default_factory=set)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught {exc}"))

    def allow(self, status: int, path: str) -> None:
        """Expect the page at `path` to be an HTTP error with `status` (Chromium logs
        one for each), e.g. 400 for a form shown again, 404 for a missing page."""
        self.allowed.add((status, urljoin(self.base_url, path)))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        status = re.fullmatch(
            r"Failed to load resource: the server responded with a status of (\d+) .*",
            message.text,
        )
        url = message.location.get("url", "")
        if status and (int(status.group(1)), url) in self.allowed:
            return
        self.errors.append(f"console error at {url or '?'}: {message.text}")


@pytest.fixture
def browser_errors(server) -> BrowserErrors:
    return BrowserErrors(server)


@pytest.fixture
def new_page(browser, server, browser_errors) -> Iterator[Callable[..., Page]]:
    """`new_page(**context_options)`: a watched page in a new context (a new visitor)."""
    contexts = []

    def make(**options) -> Page:
        context = browser.new_context(base_url=server, **{**DESKTOP, **options})
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        browser_errors.watch(page)
        return page

    yield make
    for context in contexts:
        with contextlib.suppress(Error):  # the browser went away: the test failed already
            context.close()
    assert not browser_errors.errors, "the browser reported errors:\n" + "\n".join(
        browser_errors.errors
    )


@pytest.fixture
def page(new_page) -> Page:
    """A page on a desktop viewport, for one visitor."""
    return new_page()
