"""Screenshots of the main pages on a desktop and a phone, saved under screenshots/.

The server here has the sample data (`init_db.py --sample`), so the pages look like a
blog in use. Besides saving the pictures, each test checks the page renders without
console errors and without scrolling sideways. Each page is saved twice: the viewport
(`<page>-<screen>.png`, the set copied to docs/screenshots/) and the whole page
(`<page>-<screen>-full.png`, for review).
"""

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import DESKTOP, SCREENSHOTS, start_server
from .steps import Account, log_in, nav

SAMPLE_AUTHOR = Account("alice", "alice@example.com", "alice-password")  # init_db.py
SAMPLE_POST = "Writing posts in Markdown"  # alice's: headings, a list, code, a table


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Overrides conftest's server: this one starts with the sample data."""
    yield from start_server(tmp_path_factory.mktemp("sample-server"), sample=True)


@pytest.fixture(params=["desktop", "phone", "desktop-dark"])
def screen(request, playwright) -> tuple[str, dict]:
    """(name, browser context options) of a screen to take pictures on."""
    phone = {
        **playwright.devices["iPhone 13"],  # is_mobile, has_touch, a phone's user agent
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,  # keeps the PNGs small
    }
    screens = {
        "desktop": DESKTOP,
        "phone": phone,
        "desktop-dark": {**DESKTOP, "color_scheme": "dark"},
    }
    return request.param, screens[request.param]


def snap(page: Page, name: str, screen: str) -> None:
    """Check the page fits its width, then save the viewport and the whole page."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} scrolls sideways: {width}px wide"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{screen}.png", animations="disabled")
    page.screenshot(
        path=SCREENSHOTS / f"{name}-{screen}-full.png", full_page=True, animations="disabled"
    )


def test_home_page(new_page, screen):
    name, options = screen
    page = new_page(**options)
    page.goto("/")
    expect(page.locator("article.post-summary")).to_have_count(5)
    expect(nav(page).get_by_role("link", name="Register", exact=True)).to_be_visible()
    snap(page, "home", name)


def test_post_page(new_page, screen):
    """As its author, so that the Edit and Delete controls and the comment form show."""
    name, options = screen
    page = new_page(**options)
    page.goto("/login")
    log_in(page, SAMPLE_AUTHOR)
    page.get_by_role("link", name=SAMPLE_POST).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SAMPLE_POST)
    expect(page.locator(".content table")).to_be_visible()
    expect(page.locator("#comment-list .comment")).to_have_count(1)
    snap(page, "post", name)


def test_404_page(new_page, screen, browser_errors):
    name, options = screen
    page = new_page(**options)
    browser_errors.allow(404, "/no/such/page")
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    snap(page, "404", name)


def test_tag_page(new_page, screen):
    """A list of posts with their tags (init_db.py's SAMPLE_TAGS)."""
    name, options = screen
    page = new_page(**options)
    page.goto("/")
    page.locator("article.post-summary").first.get_by_role("link", name="deploy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Posts tagged deploy")
    expect(page.locator("article.post-summary")).to_have_count(2)
    expect(page.locator("article.post-summary .tag").first).to_be_visible()
    snap(page, "tag", name)


def test_search_results(new_page, screen):
    """Results of the header's search box, the words highlighted."""
    name, options = screen
    page = new_page(**options)
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search posts")
    box.fill("SQLite database")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=SQLite\+database$"))
    expect(page.locator("article.post-summary")).to_have_count(1)
    expect(page.locator("article.post-summary mark").first).to_be_visible()
    snap(page, "search", name)


def test_api_reference_page(new_page, screen):
    """The API reference (/api/docs), reached by the footer's link, with the posts'
    operations listed."""
    name, options = screen
    page = new_page(**options)
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="API").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API reference")
    expect(page.locator('.opblock-summary-path[data-path="/api/posts"]').first).to_be_visible()
    page.locator('.opblock-tag-section h3[data-tag="posts"]').scroll_into_view_if_needed()
    snap(page, "api", name)
