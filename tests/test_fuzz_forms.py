"""Property-based: random text in every field of every form the site shows never makes the
server fail (5xx).

The forms are found, not listed: tests/test_links.py's crawl visits every page as a
logged-in user and collects each POST form's action and field names. Hypothesis drives
the async test itself (pytest-asyncio runs each example in the test's event loop), so a
failing example is shrunk to a small one and saved in .hypothesis/ to be tried first on
the next run.
"""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from tests.test_links import crawl
from www.settings import load_settings

text = st.text(max_size=300)
NOT_FUZZED = {"csrf_token", "file"}  # the token is the session's; uploads: tests/files/
SKIPPED = re.compile(r"/logout$|/delete$")  # no fields, and they would end the crawl's objects


@pytest.fixture(name="settings")
def generous_settings(tmp_path, db_url):
    """The usual test settings with generous rate limits: the examples share one client
    and one user, and their input must reach the forms, not a 429."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["rate_limits"] = GENEROUS_LIMITS
    return load_settings(overrides=overrides, environ={})


class Forms(HTMLParser):
    """{action: [field names]} of the POST forms of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[str]] = {}
        self._action: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._action = attrs["action"].split("?")[0]
            self.forms.setdefault(self._action, [])
        elif tag in ("input", "textarea") and self._action and attrs.get("name"):
            fields = self.forms[self._action]
            if attrs["name"] not in NOT_FUZZED and attrs["name"] not in fields:
                fields.append(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None


@pytest.fixture
async def forms(auth, client, app) -> dict[str, list[str]]:
    """Every POST form a logged-in user sees (one post of theirs exists), by action."""
    await auth.login_as("fuzzer")
    resp = await auth.post("/posts/new", {"title": "t", "summary": "", "content": "c"})
    assert resp.status == 303, await resp.text()
    found: dict[str, list[str]] = {}
    for page in await crawl(client, app, visited=True):
        parser = Forms()
        parser.feed(await (await client.get(page)).text())
        found.update(parser.forms)
    return {action: fields for action, fields in found.items() if not SKIPPED.search(action)}


async def test_the_forms_are_found(forms):
    """The crawl finds the post, comment and account forms (so the fuzzing below has work)."""
    fields = {field for names in forms.values() for field in names}
    assert {"title", "content", "email", "password", "new_password"} <= fields


@settings(
    max_examples=150,  # about 20 for each of the forms
    deadline=None,
    # The app, client and forms are made once per test and shared by its examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.data())
async def test_random_form_input_never_5xx(auth, forms, values):
    action = values.draw(st.sampled_from(sorted(forms)), "action")
    form = values.draw(st.fixed_dictionaries({name: text for name in forms[action]}), "form")
    resp = await auth.post(action, form)  # with the session's current CSRF token
    assert resp.status < 500, (action, form, resp.status)
