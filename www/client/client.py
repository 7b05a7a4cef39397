"""`Client`: the API as Python, for other programs and for `python -m www.client`.

    async with Client("https://blog.example.com", token="www_...") as api:
        page = await api.posts.list(page=1)
        post = await api.posts.create(title="Hello", content="*Markdown*")
        async for comment in api.comments.follow(post.id):
            print(comment.author.name, comment.content)

Results are the server's own output schemas (www/posts/schemas.py, www/files/schemas.py),
so one declaration serves both sides; errors are the exceptions of www/client/errors.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from ..files.schemas import FileOut, FilePage
from ..posts.schemas import CommentOut, CommentPage, PostOut, PostPage
from .errors import ClientError, UnexpectedAnswer
from .http import Http, Retry
from .live import follow
from .transfers import Download, Progress, safe_name, upload_form

USER_AGENT = "www-client/1.0 (+aiohttp)"
DEFAULT_RETRY = Retry()  # 4 tries, back-off from 0.5 s to 10 s, Retry-After up to 60 s
MAX_PAGES = 10_000  # read at most, listing every comment of a post


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw: bytes) -> M:
    """`raw` JSON as `model`; UnexpectedAnswer when it is not one."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(map(str, problem["loc"])) or "body"
        raise UnexpectedAnswer(
            f"The server's answer is not a {model.__name__} ({where}: {problem['msg']})."
        ) from None


class Client:
    """The API of the site at `url` (its root: https://blog.example.com), as `token`'s user
    (a personal API token from /account/tokens; None: anonymous, reads only).

    Timeouts, in seconds: `connect_timeout` to connect; `timeout` for a whole request and
    its answer (None: no bound); uploads and downloads have no total bound unless
    `transfer_timeout` sets one, but wait at most `read_timeout` for each read of an answer.
    `retry` says when and how long requests are retried (www/client/http.py).
    `follow_backoff` and `follow_max_backoff`: the first and the longest wait before
    `comments.follow` reconnects.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        connect_timeout: float = 10.0,
        timeout: float | None = 30.0,
        read_timeout: float = 60.0,
        transfer_timeout: float | None = None,
        retry: Retry = DEFAULT_RETRY,
        follow_backoff: float = 0.5,
        follow_max_backoff: float = 30.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"The API's URL must start with http:// or https://: {url!r}")
        self.url = url.rstrip("/")
        self.timeouts = aiohttp.ClientTimeout(
            total=timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self.transfer_timeouts = aiohttp.ClientTimeout(
            total=transfer_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self.follow_backoff, self.follow_max_backoff = follow_backoff, follow_max_backoff
        self.http = Http(url, token, timeout=self.timeouts, retry=retry, user_agent=user_agent)
        self.posts, self.comments, self.files = Posts(self), Comments(self), Files(self)

    async def __aenter__(self) -> Client:
        await self.http.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.close()


class Posts:
    def __init__(self, client: Client) -> None:
        self.http = client.http

    async def list(
        self,
        page: int = 1,
        *,
        per_page: int | None = None,
        tag: str | None = None,
        q: str | None = None,
    ) -> PostPage:
        """A page of posts, newest first; `tag` filters them, `q` searches them."""
        params = {"page": page, "per_page": per_page, "tag": tag, "q": q}
        return parse(PostPage, await self.http.json("GET", "/api/posts", params=params))

    async def get(self, post_id: int) -> PostOut:
        return parse(PostOut, await self.http.json("GET", f"/api/posts/{post_id}"))

    async def create(
        self,
        *,
        title: str,
        content: str = "",
        summary: str = "",
        tags: list[str] | None = None,
    ) -> PostOut:
        """Publish a post (`tags` are sent only when given)."""
        body: dict[str, Any] = {"title": title, "summary": summary, "content": content}
        if tags is not None:
            body["tags"] = list(tags)
        return parse(PostOut, await self.http.json("POST", "/api/posts", json=body))

    async def update(self, post_id: int, **changes: Any) -> PostOut:
        """Change any of title, summary, content (and tags): the others stay as they are."""
        raw = await self.http.json("PATCH", f"/api/posts/{post_id}", json=changes)
        return parse(PostOut, raw)

    async def delete(self, post_id: int) -> None:
        """Delete a post and its comments."""
        await self.http.json("DELETE", f"/api/posts/{post_id}")


class Comments:
    def __init__(self, client: Client) -> None:
        self.client, self.http = client, client.http

    async def list(self, post_id: int, *, per_page: int = 100) -> list[CommentOut]:
        """Every comment of the post, oldest first, read `per_page` at a time."""
        found: list[CommentOut] = []
        for number in range(1, MAX_PAGES + 1):
            current = await self.page(post_id, number, per_page=per_page)
            found += current.items
            if not current.items or len(found) >= current.total:
                break
        return found

    async def page(self, post_id: int, page: int, *, per_page: int | None = None) -> CommentPage:
        """Page `page` of the post's comments, oldest first (`per_page`: the server's
        blog.comments_per_page by default)."""
        params = {"page": page, "per_page": per_page}
        raw = await self.http.json("GET", f"/api/posts/{post_id}/comments", params=params)
        return parse(CommentPage, raw)

    async def add(self, post_id: int, text: str) -> CommentOut:
        raw = await self.http.json("POST", f"/api/posts/{post_id}/comments", json={"content": text})
        return parse(CommentOut, raw)

    def follow(self, post_id: int, *, after: int | None = None) -> AsyncIterator[CommentOut]:
        """The post's new comments as they come, over its WebSocket (see www/client/live.py:
        it reconnects after a drop, and catches up on what it missed, without duplicates).
        `after`: a comment id to resume from (0: every comment of the post first)."""
        return follow(self.client, post_id, after)


class Files:
    def __init__(self, client: Client) -> None:
        self.client, self.http = client, client.http

    async def upload(
        self, path: str | Path, *, name: str | None = None, progress: Progress | None = None
    ) -> FileOut:
        """Upload the file at `path` (streamed from disk), under `name` (its own by
        default). `progress(sent, total)` is called as its bytes are read."""
        path = Path(path)
        opened: list[IO[bytes]] = []
        try:
            raw = await self.http.json(
                "POST",
                "/api/files",
                data=lambda: upload_form(path, name or path.name, opened, progress),
                timeouts=self.client.transfer_timeouts,
            )
        finally:
            for file in opened:
                file.close()
        return parse(FileOut, raw)

    async def get(self, file_id: int) -> FileOut:
        return parse(FileOut, await self.http.json("GET", f"/api/files/{file_id}"))

    async def list(self, page: int = 1, *, per_page: int | None = None) -> FilePage:
        params = {"page": page, "per_page": per_page}
        return parse(FilePage, await self.http.json("GET", "/api/files", params=params))

    async def download(
        self, file_id: int, path: str | Path, *, progress: Progress | None = None
    ) -> Path:
        """Save the file's bytes at `path` (or in it, under the file's name, if it is a
        folder), streamed to disk; checked against its size and SHA-256. Returns where."""
        meta = await self.get(file_id)
        destination = Path(path)
        if await asyncio.to_thread(destination.is_dir):
            destination = destination / safe_name(meta.name)
        async with Download(destination, meta.size, meta.sha256, progress) as download:
            await self.http.send(
                "GET",
                f"/api/files/{file_id}/content",
                download.receive,
                timeouts=self.client.transfer_timeouts,
            )
        return destination

    async def delete(self, file_id: int) -> None:
        await self.http.json("DELETE", f"/api/files/{file_id}")


__all__ = ["Client", "ClientError"]
