"""The API reference (/api/docs) in Chromium: Swagger UI renders every operation from
/api/openapi.json under the app's Content-Security-Policy (a violation is a console
error, which fails the test), and "Try it out" works with an API token.
"""

import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, Response, expect

from .steps import sign_up


def make_token(page: Page) -> str:
    """Make an API token on /account/tokens; returns it (shown once)."""
    page.goto("/account/tokens")
    page.get_by_label("Name").fill("api docs")
    page.get_by_role("button", name="Make a token").click()
    token = page.locator("#new-token").input_value()
    assert token.startswith("www_")
    return token


def try_out(page: Page, method: str, path: str) -> Response:
    """Open an operation without parameters, "Try it out", "Execute"; returns the HTTP
    response, once Swagger UI shows its status."""
    path_of = page.locator(f'.opblock-summary-path[data-path="{path}"]')
    block = page.locator(f".opblock-{method.lower()}").filter(has=path_of)
    summary = block.locator(".opblock-summary")
    summary.click()
    block.get_by_role("button", name="Try it out").click()
    with page.expect_response(lambda response: urlsplit(response.url).path == path) as answer:
        block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_have_text(str(answer.value.status))
    return answer.value


def test_the_reference_renders_every_operation(page: Page, server: str):
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="API").click()
    expect(page).to_have_url(re.compile(r"/api/docs$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("API reference")
    summary = page.locator(".opblock-summary", has_text="/api/posts").filter(
        has=page.locator(".opblock-summary-method", has_text="GET")
    )
    expect(summary.first).to_be_visible()
    document = page.request.get(f"{server}/api/openapi.json").json()
    count = sum(
        1 for item in document["paths"].values() for method in item if method != "parameters"
    )
    expect(page.locator(".opblock")).to_have_count(count)


def test_try_it_out_with_a_bearer_token(page: Page, new_page, server: str):
    account = sign_up(page, "docs")
    token = make_token(page)
    visitor = new_page()  # not logged in: the token alone says who it is
    visitor.goto("/api/docs")
    visitor.get_by_role("button", name=re.compile("Authorize")).first.click()
    bearer = visitor.locator(".dialog-ux .auth-container", has_text="bearerAuth")
    bearer.get_by_label("auth-bearer-value").fill(token)
    bearer.get_by_role("button", name="Apply credentials").click()
    expect(bearer.get_by_role("button", name="Remove authorization")).to_be_visible()
    bearer.get_by_role("button", name="Close").click()

    listed = try_out(visitor, "GET", "/api/posts")
    assert listed.status == 200 and listed.request.headers["authorization"] == f"Bearer {token}"
    session = try_out(visitor, "GET", "/api/session")
    assert session.status == 200
    assert session.json()["user"]["name"] == account.name  # the token's user


def test_try_it_out_as_the_logged_in_visitor(page: Page):
    """Without a token, an unsafe request goes with the session cookie and the page's
    CSRF token (static/js/api-docs.js adds the X-CSRF-Token header)."""
    sign_up(page, "session")
    page.goto("/api/docs")
    path_of = page.locator('.opblock-summary-path[data-path="/api/posts"]')
    block = page.locator(".opblock-post").filter(has=path_of)
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.locator("textarea.body-param__text").fill('{"title": "Posted from the reference"}')
    with page.expect_response(
        lambda response: urlsplit(response.url).path == "/api/posts"
    ) as answer:
        block.get_by_role("button", name="Execute").click()
    response = answer.value
    assert response.status == 201, response.text()
    assert "x-csrf-token" in response.request.headers
    page.goto("/")
    expect(page.get_by_role("link", name="Posted from the reference")).to_be_visible()
