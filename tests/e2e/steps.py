"""What a visitor does in the browser, one step at a time, shared by the journeys.

Each step checks that it worked (the page it lands on, the message shown), so a journey
fails at the step that broke. `make_admin` is the operator's step, on the command line.
"""

import email
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from email.policy import default
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.serving import ROOT, clean_env


@dataclass(frozen=True)
class Account:
    name: str
    email: str
    password: str = "correct horse battery"


def new_account(prefix: str) -> Account:
    """An account no other test uses (the server's database lives for a whole module)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return Account(name=name, email=f"{name}@example.com")


def mailed_link(outbox: Path, to: str, timeout: float = 10.0) -> str:
    """The password reset link of the mail to `to` that the server wrote to its outbox
    (it has no SMTP server), once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in outbox.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            if message["To"] == to:
                text = message.get_body(("plain",)).get_content()
                return re.search(r"https?://\S+/password/reset/\S+", text).group(0)
        time.sleep(0.05)
    raise AssertionError(f"no mail to {to} in {outbox} after {timeout} s")


def make_admin(server_dir: Path, account: Account, *, new: bool = False, root: Path = ROOT) -> None:
    """`python -m www.admin create-admin` on the server's database, as an operator does:
    promotes the account, or creates it as an administrator when `new` (the password
    given on standard input). `root` is the repository of the server's app."""
    command = [sys.executable, "-m", "www.admin", "create-admin", account.email]
    command += ["--name", account.name, "--password-stdin"] if new else []
    command += ["--config", str(server_dir / "config.yaml")]
    done = subprocess.run(
        command,
        cwd=root,
        env=clean_env(PYTHONPATH=str(root)),
        input=account.password + "\n" if new else "",
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = "Created the administrator" if new else "is now an administrator"
    assert done.returncode == 0 and said in done.stdout, done


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def flash(page: Page) -> Locator:
    return page.locator(".flashes")


def register(page: Page, account: Account) -> None:
    page.goto("/register")
    page.get_by_label("Name").fill(account.name)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(flash(page)).to_contain_text("Your account is ready.")


def log_in(page: Page, account: Account, *, password: str | None = None) -> None:
    """Fill in and send the form of the login page the browser is on."""
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password if password is None else password)
    page.get_by_role("button", name="Log in", exact=True).click()


def sign_up(page: Page, prefix: str) -> Account:
    """Register a new account and log in with it; returns the account."""
    account = new_account(prefix)
    register(page, account)
    log_in(page, account)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(nav(page).get_by_role("link", name=account.name, exact=True)).to_be_visible()
    return account


def write_post(page: Page, title: str, summary: str = "", content: str = "") -> int:
    """Publish a post through the form; returns its id."""
    page.goto("/posts/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Summary").fill(summary)
    page.get_by_label("Content").fill(content)
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(r"/posts/\d+$"))
    expect(flash(page)).to_contain_text("Your post is published.")
    expect(page).to_have_title(f"{title} · www")
    return int(page.url.rsplit("/", 1)[1])


def add_comment(page: Page, text: str) -> int:
    """Comment on the post the browser is on; returns the comment's id."""
    page.get_by_label("Add a comment").fill(text)
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page).to_have_url(re.compile(r"/posts/\d+#comment-\d+$"))
    comment_id = int(page.url.rsplit("-", 1)[1])
    expect(page.locator(f"#comment-{comment_id}")).to_contain_text(text)
    return comment_id


def confirm(scope: Page | Locator, button: str) -> None:
    """Use the in-page `<details class="confirm">` whose form has `button`: open it by
    its summary, then press the button."""
    page = scope if isinstance(scope, Page) else scope.page
    details = scope.locator("details.confirm").filter(has=page.locator("button", has_text=button))
    expect(details.get_by_role("button", name=button)).to_be_hidden()  # closed at first
    details.locator("summary").click()
    details.get_by_role("button", name=button).click()
