"""Schemathesis against the live app: every operation of /api/openapi.json, fuzzed.

The app runs as a real server on 127.0.0.1 (aiohttp's test server, on the test's event
loop); schemathesis is synchronous (requests), so it runs in a worker thread meanwhile.
Each operation gets positive and negative examples, bounded in number and time, sent
anonymously, as a logged-in user (cookie and CSRF token), and with an API token (bearer).
No response may be a 5xx, and every response must keep to the document: a documented
status code, its content type, headers and schema.
"""

import asyncio
from datetime import timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from www import CONFIG, DB
from www.accounts import tokens
from www.accounts.models import User
from www.accounts.schemas import TokenIn
from www.passwords import hash_password_sync
from www.posts.models import Comment, Post
from www.settings import load_settings

MAX_EXAMPLES = 20  # per operation and generation mode
DEADLINE = timedelta(seconds=2)  # per example
TIMEOUT = 10  # seconds, per request
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PASSWORD = "correct horse"
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture(name="settings")
def generous_settings(tmp_path, db_url):
    """The usual test settings with generous rate limits: fuzzing sends hundreds of
    requests from one client and one user, and they must reach the code, not a 429."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["rate_limits"] = GENEROUS_LIMITS
    return load_settings(overrides=overrides, environ={})


@pytest.fixture
async def base_url(aiohttp_server, app):
    """The app on 127.0.0.1, with two users and a few posts and comments."""
    server = await aiohttp_server(app, host="127.0.0.1")
    db, params = app[DB], app[CONFIG].passwords
    users = [
        await User.create(
            db,
            name=name,
            email=f"{name}@example.com",
            password_hash=hash_password_sync(params, PASSWORD),
        )
        for name in ("alice", "bob")
    ]
    for n, author in enumerate(users * 2, start=1):
        post = await Post.create(db, user_id=author.id, title=f"Post {n}", content="**hi**")
        await Comment.create(db, post_id=post.id, user_id=users[0].id, content=f"Comment {n}")
    return str(server.make_url("")).rstrip("/")


def start_session(base_url: str, email: str | None) -> tuple[dict, dict]:
    """The cookies of a new session (anonymous, or logged in as `email`), and its CSRF
    header; "email" starting with `www_` is an API token instead: no cookie, its header."""
    if email is not None and email.startswith(tokens.PREFIX):
        headers = {"Authorization": f"Bearer {email}"}
        resp = requests.get(f"{base_url}/api/session", headers=headers, timeout=TIMEOUT)
        assert resp.json()["user"]["name"] == "alice", resp.text  # the token works
        return {}, headers
    http = requests.Session()
    resp = http.get(f"{base_url}/api/session", timeout=TIMEOUT)
    token = resp.json()["csrf_token"]
    if email is not None:
        resp = http.post(
            f"{base_url}/api/session",
            json={"email": email, "password": PASSWORD},
            headers={"X-CSRF-Token": token},
            timeout=TIMEOUT,
        )
        assert resp.status_code == 200, resp.text
        token = resp.json()["csrf_token"]
    return http.cookies.get_dict(), {"X-CSRF-Token": token}


def fuzz_operation(operation, mode, base_url: str, email: str | None) -> int:
    """Send `operation`'s examples of one generation mode; returns how many were sent.

    Each run has a fresh session: a DELETE /api/session case logs it out.
    """
    cookies, headers = start_session(base_url, email)
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=DEADLINE,
        derandomize=True,  # the same examples on every run: no flaky CI
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],  # timing only; slow CI machines
    )
    def check(case):
        nonlocal sent
        sent += 1
        # Our session's cookie and token replace generated ones, except where a negative
        # case leaves the token out on purpose (then 403 is the documented answer).
        case.call_and_validate(
            base_url=base_url, headers=headers, cookies=cookies, checks=CHECKS, timeout=TIMEOUT
        )

    check()
    return sent


def fuzz(base_url: str, email: str | None, document: dict) -> dict[str, int]:
    """Fuzz every operation of `document`; returns the cases sent, by operation."""
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config())
    operations = [result.ok() for result in schema.get_all_operations()]
    # DELETEs last, so that the other operations still find the seeded posts.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    sent = {}
    for operation in operations:
        has_inputs = bool(operation.body) or any(True for _ in operation.iter_parameters())
        modes = MODES if has_inputs else MODES[:1]  # nothing to negate otherwise
        sent[operation.label] = sum(
            fuzz_operation(operation, mode, base_url, email) for mode in modes
        )
    return sent


def labels(document: dict) -> set[str]:
    """Every operation of the document, as schemathesis names them."""
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }


@pytest.mark.parametrize("email", [None, "alice@example.com"], ids=["anonymous", "logged in"])
async def test_api_keeps_to_its_openapi_document(base_url, email):
    await keeps_to_its_document(base_url, email)


async def test_api_keeps_to_its_openapi_document_with_a_bearer_token(base_url, app):
    """As a script: alice's API token, no cookie, no CSRF token."""
    alice = await User.select(app[DB]).where(name="alice").first()
    _, token = await tokens.make(app, alice, TokenIn(name="schemathesis"))
    await keeps_to_its_document(base_url, token)


async def keeps_to_its_document(base_url: str, email: str | None) -> None:
    document = await asyncio.to_thread(
        lambda: requests.get(f"{base_url}/api/openapi.json", timeout=TIMEOUT).json()
    )
    sent = await asyncio.to_thread(fuzz, base_url, email, document)
    assert sent.keys() == labels(document)
    assert all(sent.values()), sent  # every operation was exercised
