"""Property-based: random text in every form field never makes the server fail (5xx).

Hypothesis drives the async test itself (pytest-asyncio runs each example in the test's
event loop), so a failing example is shrunk to a small one and saved in .hypothesis/ to
be tried first on the next run.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

text = st.text(max_size=300)
FORMS = {
    "/register": ["name", "email", "password"],
    "/login": ["email", "password"],
    "/posts/new": ["title", "summary", "content"],
    "/posts/{id}/edit": ["title", "summary", "content"],
    "/posts/{id}/comments": ["content"],
    "/account/password": ["current_password", "new_password"],
}


@pytest.fixture
async def post_id(auth) -> int:
    """A post of the logged-in user "fuzzer", made through the form like any other."""
    await auth.login_as("fuzzer")
    resp = await auth.post("/posts/new", {"title": "t", "summary": "", "content": "c"})
    assert resp.status == 303, await resp.text()
    return int(resp.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.parametrize("path", list(FORMS))
@settings(
    max_examples=25,
    deadline=None,
    # The app, client and post are made once per test and shared by its examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.data())
async def test_random_form_input_never_5xx(auth, post_id, path, values):
    form = values.draw(st.fixed_dictionaries({name: text for name in FORMS[path]}), "form")
    url = path.format(id=post_id)
    resp = await auth.post(url, form)  # with the session's current CSRF token
    assert resp.status < 500, (url, form, resp.status)
