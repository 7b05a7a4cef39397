"""A generated resource in the browser, as a newcomer meets it.

In a scratch copy of the repository: `python -m www.scaffold generate Bookmark ...` and
`python -m www.migrate up`, then the copy's own server and its `python -m www.admin`.
An administrator finds "Bookmarks" in the navigation, creates one through its form
(every kind of field), sees it in the list and on its page, is refused a post that does
not exist with the input kept, edits it; then in the admin finds it with the search box,
exports the list as CSV and deletes it through the confirmation page. No console or
Content-Security-Policy error on any page (conftest.py).
"""

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import overrides_for
from tests.scaffold.conftest import copy_repository
from tests.serving import clean_env

from .conftest import start_server
from .steps import flash, log_in, make_admin, nav, new_account, write_post

SPEC = [
    "Bookmark",
    *("title:str:80", "url:str", "notes:text?", "rating:int", "published:bool"),
    *("due:datetime?", "post:ref:Post", "owner:user"),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory, server_dir) -> Path:
    """The scratch copy with the Bookmark resource generated, its migration applied to
    the database of the module's server."""
    root = copy_repository(tmp_path_factory.mktemp("scaffold"))
    env = clean_env(PYTHONPATH=str(root), WWW_DB__URL=overrides_for(server_dir)["db"]["url"])
    for args in (["www.scaffold", "generate", *SPEC], ["www.migrate", "up"]):
        command = [sys.executable, "-m", *args]
        done = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    assert "_add_bookmarks" in done.stdout, done.stdout  # `up` applied the new migration
    return root


@pytest.fixture(scope="module")
def server(generated, server_dir):
    """Overrides conftest's server: this one serves the copy, bookmarks and all."""
    yield from start_server(server_dir, root=generated)


def styled(page: Page, label: str) -> tuple[str, ...]:
    """How the input of `label` is drawn: its border, padding and width."""
    script = "(e) => ['border', 'padding', 'width'].map((k) => getComputedStyle(e)[k])"
    return tuple(page.get_by_label(label, exact=True).evaluate(script))


def shown(page: Page, label: str) -> Locator:
    """The value of the field called `label` on a bookmark's page."""
    term = page.locator("dl.fields dt").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return term.locator("+ dd")


def fill_bookmark(page: Page, values: dict[str, str | bool]) -> None:
    """Fill in the bookmark form the browser is on: the fields named in `values`."""
    for label, value in values.items():
        field = page.get_by_label(label, exact=True)
        if isinstance(value, bool):
            field.set_checked(value)
        else:
            field.fill(value)


def test_a_generated_resource_in_the_browser(
    page: Page, server: str, server_dir, generated, browser_errors
):
    admin = new_account("owner")
    make_admin(server_dir, admin, new=True, root=generated)
    page.goto("/login")
    log_in(page, admin)
    expect(page).to_have_url(f"{server}/")
    post_id = write_post(page, "A post to point at")

    # Create, through the form: text, textarea, number, checkbox, datetime-local.
    nav(page).get_by_role("link", name="Bookmarks", exact=True).click()
    expect(page).to_have_url(f"{server}/bookmarks")
    expect(page.locator("main")).to_contain_text("No bookmarks yet.")
    page.get_by_role("link", name="New bookmark").click()
    expect(page).to_have_url(f"{server}/bookmarks/new")
    assert styled(page, "Due (UTC)") == styled(page, "Rating")  # a box like the others
    values = {
        "Title": "Needle bookmark",
        "Url": "https://docs.aiohttp.org/",
        "Notes": "Read twice.\nThen <b>once</b> more.",
        "Rating": "4",
        "Published": True,
        "Due (UTC)": "2026-12-24T18:30",
        "Post": str(post_id + 1000),  # no such post: refused below
    }
    fill_bookmark(page, values)
    browser_errors.allow(400, "/bookmarks/new")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errors")).to_contain_text("There is no such post.")
    for label, value in values.items():  # every input kept, the refused one too
        field = page.get_by_label(label, exact=True)
        if isinstance(value, bool):
            expect(field).to_be_checked()
        else:
            expect(field).to_have_value(value)

    fill_bookmark(page, {"Post": str(post_id)})
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/bookmarks/\d+$"))
    bookmark_id = int(page.url.rsplit("/", 1)[1])
    expect(flash(page)).to_contain_text("The bookmark is saved.")
    expect(page).to_have_title("Needle bookmark · www")
    expect(shown(page, "Url")).to_have_text("https://docs.aiohttp.org/")
    expect(shown(page, "Notes")).to_have_text("Read twice.\nThen <b>once</b> more.")
    expect(shown(page, "Notes").locator("b")).to_have_count(0)  # its HTML shows as text
    expect(shown(page, "Rating")).to_have_text("4")
    expect(shown(page, "Published")).to_have_text("Yes")
    expect(shown(page, "Due")).to_have_text("24 Dec 2026, 18:30 UTC")
    expect(shown(page, "Post")).to_have_text(str(post_id))
    expect(page.locator("p.meta")).to_contain_text(f"by {admin.name}")

    nav(page).get_by_role("link", name="Bookmarks", exact=True).click()
    listed = page.locator("article.bookmarks-summary")
    expect(listed).to_have_count(1)
    listed.get_by_role("link", name="Needle bookmark").click()
    expect(page).to_have_url(f"{server}/bookmarks/{bookmark_id}")

    # Edit: the form starts from the saved values; an invalid one is refused, then fixed.
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(f"{server}/bookmarks/{bookmark_id}/edit")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Needle bookmark")
    expect(page.get_by_label("Due (UTC)", exact=True)).to_have_value("2026-12-24T18:30")
    expect(page.get_by_label("Published", exact=True)).to_be_checked()
    fill_bookmark(page, {"Title": "   ", "Rating": "5"})
    browser_errors.allow(400, f"/bookmarks/{bookmark_id}/edit")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errors")).to_contain_text("Title is required.")
    expect(page.get_by_label("Rating", exact=True)).to_have_value("5")
    fill_bookmark(page, {"Title": "Needle, renamed", "Published": False, "Due (UTC)": ""})
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{server}/bookmarks/{bookmark_id}")
    expect(flash(page)).to_contain_text("Your changes are saved.")
    expect(page.get_by_role("heading", name="Needle, renamed")).to_be_visible()
    expect(shown(page, "Rating")).to_have_text("5")
    expect(shown(page, "Published")).to_have_text("No")
    expect(shown(page, "Due")).to_have_text("")

    # A second one, which the admin's search must leave out.
    page.goto("/bookmarks/new")
    fill_bookmark(page, {"Title": "Haystack", "Url": "https://example.com/", "Rating": "1"})
    fill_bookmark(page, {"Post": str(post_id)})
    page.get_by_role("button", name="Save").click()
    expect(flash(page)).to_contain_text("The bookmark is saved.")

    # The admin: search, export as CSV, delete through the confirmation.
    nav(page).get_by_role("link", name="Admin", exact=True).click()
    page.locator("main").get_by_role("link", name="Bookmarks", exact=True).click()
    expect(page).to_have_url(f"{server}/admin/bookmarks/")
    rows = page.locator("table.admin tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Search", exact=True).fill("needle")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/bookmarks/\?.*q=needle"))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Needle, renamed")
    expect(rows).to_contain_text(f"A post to point at (#{post_id})")  # the post, by name

    export = page.get_by_role("link", name="Export CSV")
    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    assert download.suggested_filename == "bookmarks.csv"
    exported = Path(download.path()).read_bytes()
    header, *found = csv.reader(io.StringIO(exported.decode("utf-8"), newline=""))
    assert header[:5] == ["id", "title", "url", "rating", "published"]
    assert [row[:5] for row in found] == [
        [str(bookmark_id), "Needle, renamed", "https://docs.aiohttp.org/", "5", "False"]
    ]
    answer = page.request.get(export.get_attribute("href"))
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.body() == exported

    rows.get_by_role("link", name=str(bookmark_id), exact=True).click()
    expect(page).to_have_url(f"{server}/admin/bookmarks/{bookmark_id}")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Needle, renamed")
    page.get_by_label("Due (UTC)", exact=True).fill("2027-01-02T03:04:05")
    page.get_by_role("button", name="Save changes").click()
    expect(flash(page)).to_contain_text("The changes are saved.")
    expect(page.get_by_label("Due (UTC)", exact=True)).to_have_value("2027-01-02T03:04:05")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete 1 row of bookmarks?")).to_be_visible()
    expect(page.locator(".card")).to_contain_text(f"Needle, renamed (#{bookmark_id})")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page).to_have_url(f"{server}/admin/bookmarks/")
    expect(flash(page)).to_contain_text("Deleted 1 row.")
    expect(page.locator("table.admin")).not_to_contain_text("Needle")
    expect(page.locator("table.admin")).to_contain_text("Haystack")

    nav(page).get_by_role("link", name="Bookmarks", exact=True).click()
    expect(page.locator("article.bookmarks-summary")).to_have_count(1)
    expect(page.locator("article.bookmarks-summary")).to_contain_text("Haystack")
