"""Every URL of the application, in one place (see ../shared/CONTRACT.md).

Ids are at most 18 digits, so they always fit SQLite's 64-bit integers; anything else
is a 404 from the router.
"""

from aiohttp import web

from .templating import STATIC_DIR
from .views import accounts, api, files, health, live, posts

ID = r"{id:\d{1,18}}"


def setup_routes(app: web.Application) -> None:
    add = app.router.add_route
    add("GET", "/", posts.index)
    add("GET", "/healthz", health.healthz)

    add("GET", "/register", accounts.register_page)
    add("POST", "/register", accounts.register)
    add("GET", "/login", accounts.login_page)
    add("POST", "/login", accounts.login)
    add("POST", "/logout", accounts.logout)
    add("GET", "/account/password", accounts.password_page)
    add("POST", "/account/password", accounts.change_password)
    add("GET", f"/users/{ID}", posts.user_profile)

    add("GET", "/posts/new", posts.new_post_page)
    add("POST", "/posts/new", posts.create_post)
    add("GET", f"/posts/{ID}", posts.post_page)
    add("GET", f"/posts/{ID}/edit", posts.edit_post_page)
    add("POST", f"/posts/{ID}/edit", posts.update_post)
    add("POST", f"/posts/{ID}/delete", posts.delete_post)
    add("POST", f"/posts/{ID}/comments", posts.add_comment)
    add("POST", f"/comments/{ID}/delete", posts.delete_comment)
    add("GET", f"/ws/posts/{ID}", live.post_socket)

    add("GET", "/files", files.files_page)
    add("POST", "/files", files.upload)
    add("GET", f"/files/{ID}", files.download)
    add("GET", f"/files/{ID}/image", files.image)
    add("POST", f"/files/{ID}/delete", files.delete_file)

    add("GET", "/api/session", api.get_session)
    add("POST", "/api/session", api.create_session)
    add("DELETE", "/api/session", api.delete_session)
    add("GET", "/api/posts", api.list_posts)
    add("POST", "/api/posts", api.create_post)
    add("GET", f"/api/posts/{ID}", api.get_post)
    add("PATCH", f"/api/posts/{ID}", api.update_post)
    add("DELETE", f"/api/posts/{ID}", api.delete_post)
    add("GET", f"/api/posts/{ID}/comments", api.list_comments)
    add("POST", f"/api/posts/{ID}/comments", api.create_comment)
    add("GET", "/api/openapi.json", api.openapi)

    app.router.add_static("/static/", STATIC_DIR, name="static")
