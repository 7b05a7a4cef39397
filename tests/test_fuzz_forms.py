"""Property-based: random text in every form field never makes the server fail (5xx)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from www import DB
from www.posts.models import Post

text = st.text(max_size=300)
FORMS = {
    "/register": ["name", "email", "password"],
    "/login": ["email", "password"],
    "/posts/new": ["title", "summary", "content"],
    "/posts/{id}/edit": ["title", "summary", "content"],
    "/posts/{id}/comments": ["content"],
    "/account/password": ["current_password", "new_password"],
}


@pytest.mark.parametrize("path", list(FORMS))
async def test_random_form_input_never_5xx(auth, app, path):
    user = await auth.login_as("fuzzer")
    post = await Post.create(app[DB], user_id=user.id, title="t")
    token = await auth.token()
    url = path.format(id=post.id)
    seen = []

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(st.fixed_dictionaries({name: text for name in FORMS[path]}))
    def check(values):
        seen.append(values)

    check()  # hypothesis drives a sync function; the requests are sent below
    for values in seen:
        resp = await auth.client.post(
            url, data={**values, "csrf_token": token}, allow_redirects=False
        )
        assert resp.status < 500, (url, values, resp.status)
