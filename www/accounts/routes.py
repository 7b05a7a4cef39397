"""The URLs of accounts, each with a name: url("accounts.login")."""

from aiohttp import web

from ..routing import ID
from . import api, pages, reset_pages, token_pages

PAGES = [
    web.get("/register", pages.register_page, name="accounts.register"),
    web.post("/register", pages.register, name="accounts.register"),
    web.get("/login", pages.login_page, name="accounts.login"),
    web.post("/login", pages.login, name="accounts.login"),
    web.post("/logout", pages.logout, name="accounts.logout"),
    web.get("/account/password", pages.password_page, name="accounts.password"),
    web.post("/account/password", pages.change_password, name="accounts.password"),
    web.get("/password/forgot", reset_pages.forgot_page, name="accounts.forgot"),
    web.post("/password/forgot", reset_pages.forgot, name="accounts.forgot"),
    web.get("/password/reset/{token}", reset_pages.reset_page, name="accounts.reset"),
    web.post("/password/reset/{token}", reset_pages.reset, name="accounts.reset"),
    web.get("/account/tokens", token_pages.tokens_page, name="accounts.tokens"),
    web.post("/account/tokens", token_pages.make_token, name="accounts.tokens"),
    web.post(
        f"/account/tokens/{ID}/delete", token_pages.delete_token, name="accounts.token_delete"
    ),
]

API = [  # under /api/ (www/api.py)
    web.get("/session", api.get_session, name="api.session"),
    web.post("/session", api.create_session, name="api.session"),
    web.delete("/session", api.delete_session, name="api.session"),
]
