"""The admin, end to end: an administrator finds a post by searching, edits it, sees the
change in the audit log, then deletes it; on a phone the lists scroll sideways. No
console or Content-Security-Policy error on the way (conftest.py)."""

import re

from playwright.sync_api import Page, expect

from .steps import flash, make_admin, nav, sign_up, write_post


def test_find_edit_audit_then_delete_a_post(page: Page, server: str, server_dir):
    account = sign_up(page, "boss")
    post_id = write_post(page, "Needle in the admin", "Find me.", "Some text.")
    write_post(page, "Haystack", "Not this one.", "Other text.")
    expect(nav(page).get_by_role("link", name="Admin")).to_have_count(0)
    make_admin(server_dir, account)
    page.reload()

    nav(page).get_by_role("link", name="Admin", exact=True).click()
    expect(page).to_have_url(f"{server}/admin/")
    page.get_by_role("link", name="Posts", exact=True).click()
    page.get_by_label("Search", exact=True).fill("needle")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/posts/\?.*q=needle"))
    rows = page.locator("table.admin tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Needle in the admin")
    expect(rows).to_contain_text(account.name)  # the author, by name

    rows.get_by_role("link", name=str(post_id), exact=True).click()
    expect(page).to_have_url(f"{server}/admin/posts/{post_id}")
    expect(page.get_by_label("Title")).to_have_value("Needle in the admin")
    page.get_by_label("Title").fill("Needle, renamed")
    page.get_by_role("button", name="Save changes").click()
    expect(flash(page)).to_contain_text("The changes are saved.")

    page.goto("/admin/audit")
    newest = page.locator("table.audit tbody tr").first
    expect(newest).to_contain_text("update")
    expect(newest).to_contain_text(f"posts #{post_id}")
    expect(page.locator("table.audit")).to_contain_text("Needle, renamed")

    page.goto(f"/admin/posts/{post_id}")
    page.get_by_role("link", name="Delete…").click()
    expect(page.locator(".card")).to_contain_text("1 of post html (by post_id): deleted too")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page).to_have_url(f"{server}/admin/posts/")
    expect(flash(page)).to_contain_text("Deleted 1 row.")
    expect(page.locator("table.admin")).not_to_contain_text("Needle")
    expect(page.locator("table.admin")).to_contain_text("Haystack")


def test_lists_scroll_sideways_on_a_phone(new_page, server: str, server_dir):
    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    account = sign_up(phone, "phone")
    make_admin(server_dir, account)
    phone.goto("/admin/users/")
    wrap = phone.locator(".table-wrap")
    expect(wrap).to_be_visible()
    page_width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= 390  # the page fits; the table scrolls inside its box
    assert wrap.evaluate("(box) => getComputedStyle(box).overflowX") == "auto"
