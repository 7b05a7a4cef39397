"""Views: plain functions taking a request and returning a response, one module per area.

`accounts` (register, log in, log out), `posts` (home page, posts, comments, profiles),
`health` (/healthz). Routes live in www/routes.py.
"""
