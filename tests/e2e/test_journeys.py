"""What visitors do, end to end, in Chromium against `python -m www`.

One server (and database) serves the whole module; every test registers its own users.
Every test also fails if a page logged a console error or threw (see conftest.py).
"""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .steps import (
    add_comment,
    confirm,
    flash,
    log_in,
    mailed_link,
    nav,
    new_account,
    register,
    sign_up,
    write_post,
)

# A post that uses Markdown, and tries to run a script: it must show as text.
CONTENT = """\
# Release notes

Read [the aiohttp docs](https://docs.aiohttp.org/) first.

<script>window.__pwned = 1</script>
"""

# Wraps the page's WebSocket (before any page script runs) so that a test can wait for
# live.js's socket to be open. The page's own behaviour is unchanged.
TRACK_SOCKETS = """
(() => {
  const NativeWebSocket = window.WebSocket;
  window.__e2eSockets = [];
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      window.__e2eSockets.push(this);
    }
  };
})();
"""
SOCKET_OPEN = "() => window.__e2eSockets.some((s) => s.readyState === WebSocket.OPEN)"


def test_publish_a_post_whose_html_shows_as_text(page: Page, server: str):
    author = sign_up(page, "writer")
    post_id = write_post(page, "Hello, world", "A first post.", CONTENT)

    content = page.locator(".content")
    expect(content.get_by_role("heading", name="Release notes")).to_be_visible()
    link = content.get_by_role("link", name="the aiohttp docs")
    expect(link).to_have_attribute("href", "https://docs.aiohttp.org/")
    expect(content.get_by_text("<script>window.__pwned = 1</script>")).to_be_visible()
    expect(content.locator("script")).to_have_count(0)
    assert page.evaluate("() => typeof window.__pwned") == "undefined"

    nav(page).get_by_role("link", name="Home", exact=True).click()
    expect(page).to_have_url(f"{server}/")
    summary = page.locator("article.post-summary").filter(has_text="Hello, world")
    expect(summary.get_by_role("link", name="Hello, world")).to_have_attribute(
        "href", f"/posts/{post_id}"
    )
    expect(summary).to_contain_text(author.name)
    expect(summary).to_contain_text("A first post.")


def test_edit_then_delete_a_post(page: Page, server: str, browser_errors):
    sign_up(page, "editor")
    post_id = write_post(page, "Draft title", "Short.", "Some *text*.")
    add_comment(page, "A note to self.")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(f"{server}/posts/{post_id}/edit")
    expect(page.get_by_label("Title")).to_have_value("Draft title")
    expect(page.get_by_label("Content")).to_have_value("Some *text*.")
    page.get_by_label("Title").fill("Final title")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{server}/posts/{post_id}")
    expect(flash(page)).to_contain_text("Your changes are saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Final title")
    expect(page.locator(".content em")).to_have_text("text")

    confirm(page, "Yes, delete")
    expect(page).to_have_url(f"{server}/")
    expect(flash(page)).to_contain_text("The post was deleted.")
    expect(page.get_by_role("link", name="Final title")).to_have_count(0)

    browser_errors.allow(404, f"/posts/{post_id}")
    response = page.goto(f"/posts/{post_id}")
    assert response is not None and response.status == 404


def test_a_comment_appears_live_for_another_visitor(page: Page, new_page):
    author = sign_up(page, "talker")
    post_id = write_post(page, "Live comments", content="Say something.")

    reader = new_page()  # another browser context: an anonymous visitor
    reader.add_init_script(TRACK_SOCKETS)
    reader.goto(f"/posts/{post_id}")
    expect(reader.get_by_text("No comments yet.")).to_be_visible()
    reader.wait_for_function(SOCKET_OPEN)
    reader.evaluate("() => { window.__sameDocument = true; }")  # a reload would lose it
    navigations = []
    reader.on("framenavigated", lambda frame: navigations.append(frame.url))

    comment_id = add_comment(page, "Hello <b>live</b> readers!")

    comment = reader.locator("#comment-list .comment")
    expect(comment).to_have_count(1)
    expect(comment).to_have_id(f"comment-{comment_id}")
    expect(comment).to_contain_text(author.name)
    expect(comment.locator("p")).to_have_text("Hello <b>live</b> readers!")  # text, not HTML
    expect(comment.locator("b")).to_have_count(0)
    expect(reader.get_by_text("No comments yet.")).to_have_count(0)
    assert reader.evaluate("() => window.__sameDocument") is True
    assert navigations == []


def test_upload_a_file_and_download_it_back(page: Page, server: str):
    sign_up(page, "keeper")
    nav(page).get_by_role("link", name="Files", exact=True).click()
    expect(page).to_have_url(f"{server}/files")
    expect(page.get_by_text("No files yet.")).to_be_visible()

    data = bytes(range(256)) * 64 + b"\x00the end\xff"  # every byte value, not text
    page.get_by_label("Upload a file").set_input_files(
        {"name": "notes.bin", "mimeType": "application/octet-stream", "buffer": data}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page).to_have_url(f"{server}/files")
    expect(flash(page)).to_contain_text("File uploaded.")
    row = page.locator("table.list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("16.0 KiB")

    with page.expect_download() as download_info:
        row.get_by_role("link", name="notes.bin").click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == "notes.bin"
    assert Path(download.path()).read_bytes() == data

    confirm(row, "Delete this file")
    expect(flash(page)).to_contain_text("The file was deleted.")
    expect(page.get_by_text("No files yet.")).to_be_visible()


def test_log_out_then_back_in(page: Page, server: str):
    account = sign_up(page, "leaver")

    nav(page).get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{server}/")
    expect(nav(page).get_by_role("link", name="Log in", exact=True)).to_be_visible()
    expect(nav(page).get_by_role("link", name="Register", exact=True)).to_be_visible()
    expect(nav(page)).not_to_contain_text(account.name)

    page.goto("/posts/new")  # needs a login: back here after it
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)posts(/|%2F)new$"))
    log_in(page, account)
    expect(page).to_have_url(f"{server}/posts/new")
    expect(nav(page).get_by_role("link", name=account.name, exact=True)).to_be_visible()


def test_a_wrong_password_is_refused(page: Page, browser_errors):
    account = new_account("forgetful")
    register(page, account)  # on the login page now
    browser_errors.allow(400, "/login")  # the form comes back with status 400

    for who in (account, new_account("stranger")):  # wrong password, unknown email
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/login")
        ) as response_info:
            log_in(page, who, password="not the password")
        assert response_info.value.status == 400
        expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
        expect(page.get_by_label("Email")).to_have_value(who.email)  # kept
        expect(page.get_by_label("Password")).to_have_value("")  # never sent back
        expect(nav(page).get_by_role("link", name="Log in", exact=True)).to_be_visible()

    log_in(page, account)
    expect(nav(page).get_by_role("link", name=account.name, exact=True)).to_be_visible()


def test_reset_a_forgotten_password(page: Page, server: str, server_dir: Path, browser_errors):
    account = new_account("forgetful")
    register(page, account)  # on the login page now
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(f"{server}/password/forgot")
    page.get_by_label("Email").fill(account.email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page).to_have_url(f"{server}/login")
    expect(flash(page)).to_contain_text("a link to choose a new password is on its way")

    link = mailed_link(server_dir / "outbox", account.email)  # the server writes its mails
    assert link.startswith(f"{server}/password/reset/")  # from site.base_url
    page.goto(link)
    page.get_by_label("New password").fill("a brand new password")
    page.get_by_role("button", name="Set the new password").click()
    expect(page).to_have_url(f"{server}/login")
    expect(flash(page)).to_contain_text("Your password was changed.")

    browser_errors.allow(400, "/login")  # the old password: the form again, with 400
    log_in(page, account)
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    log_in(page, account, password="a brand new password")
    expect(nav(page).get_by_role("link", name=account.name, exact=True)).to_be_visible()

    browser_errors.allow(400, link)  # a link works once
    page.goto(link)
    expect(page.get_by_text("This link has expired or was already used.")).to_be_visible()


def test_a_missing_page_shows_the_404_page(page: Page, server: str, browser_errors):
    browser_errors.allow(404, "/no/such/page")
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(page).to_have_title("Page not found · www")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator(".error-code")).to_have_text("404")

    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(f"{server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Latest posts")
