"""`python -m www.client`: the API from the command line, on top of www.client.Client.

    export WWW_API_URL=https://blog.example.com WWW_API_TOKEN=www_...
    python -m www.client posts list
    python -m www.client posts create --file post.md      (its format: www/client/postfile.py)
    python -m www.client comments follow 7
    python -m www.client files upload photo.jpg

Output is readable text, or JSON with --json (one object a line for `comments follow`).
Exit status: 0 done; 1 the API refused (the message on stderr) or could not be reached;
2 a usage mistake (arguments, an unreadable post file). Uploads and downloads show a
progress bar on stderr when it is a terminal.
"""

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from . import postfile
from .client import Client
from .errors import ClientError
from .http import Retry
from .output import Output, comment_text, human, post_text
from .postfile import PostFileError, parse_post

DEFAULT_URL = "http://127.0.0.1:8080"  # `make run`
PROG = "python -m www.client"


class UsageError(Exception):
    """A mistake in the command's input, found after parsing: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The blog's JSON API from the command line.",
        epilog="Make a token at /account/tokens on the site.",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("WWW_API_URL") or DEFAULT_URL,
        help=f"the site's address (default: $WWW_API_URL, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("WWW_API_TOKEN"),
        help="a personal API token, www_... (default: $WWW_API_TOKEN)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON, not text")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for a request (30)")
    parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to connect")
    parser.add_argument("--attempts", type=int, default=4, help="tries of a safe request (4)")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{posts,comments,files}")

    posts = groups.add_parser("posts", help="list, show, create, edit, delete posts")
    commands = posts.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="a page of posts, newest first")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--per-page", type=int)
    listing.add_argument("--tag", help="only the posts with this tag")
    listing.add_argument("-q", "--query", help="search the posts for these words")
    commands.add_parser("show", help="a post").add_argument("id", type=int)
    create = commands.add_parser(
        "create",
        help="publish a post from a Markdown file",
        description=postfile.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("--file", required=True, type=Path, help="'# Title', then the content")
    create.add_argument("--tags", help="comma-separated (instead of the file's Tags: line)")
    edit = commands.add_parser("edit", help="change a post (only what is given)")
    edit.add_argument("id", type=int)
    edit.add_argument("--file", type=Path, help="a post file: its title, summary, content, tags")
    edit.add_argument("--title")
    edit.add_argument("--summary")
    edit.add_argument("--tags", help="comma-separated")
    commands.add_parser("delete", help="delete a post and its comments").add_argument(
        "id", type=int
    )

    comments = groups.add_parser("comments", help="list, add, follow a post's comments")
    commands = comments.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every comment of a post").add_argument("post_id", type=int)
    add = commands.add_parser("add", help="comment on a post")
    add.add_argument("post_id", type=int)
    add.add_argument("text", help="the comment ('-': read it from stdin)")
    follow = commands.add_parser("follow", help="print new comments as they come (Ctrl-C ends)")
    follow.add_argument("post_id", type=int)
    follow.add_argument("--count", type=int, help="stop after this many comments")
    follow.add_argument(
        "--after", type=int, help="first the comments after this id (0: all of them)"
    )

    files = groups.add_parser("files", help="upload, download, list, delete files")
    commands = files.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="your files, newest first").add_argument(
        "--page", type=int, default=1
    )
    upload = commands.add_parser("upload", help="upload a file (streamed)")
    upload.add_argument("path", type=Path)
    upload.add_argument("--name", help="the name to give it (default: the file's own)")
    download = commands.add_parser("download", help="download a file (streamed)")
    download.add_argument("id", type=int)
    download.add_argument(
        "dest", type=Path, nargs="?", default=Path("."), help="a file or folder (default: .)"
    )
    commands.add_parser("delete", help="delete a file").add_argument("id", type=int)
    return parser


def tags(value: str | None) -> list[str] | None:
    return None if value is None else [tag.strip() for tag in value.split(",") if tag.strip()]


async def read_text(path: Path) -> str:
    try:
        return await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


async def read_post(path: Path) -> dict[str, Any]:
    try:
        return parse_post(await read_text(path))
    except PostFileError as exc:
        raise UsageError(f"{path}: {exc}") from None


async def posts(api: Client, args: argparse.Namespace, output: Output) -> None:
    if args.command == "list":
        page = await api.posts.list(args.page, per_page=args.per_page, tag=args.tag, q=args.query)
        rows = [
            f"#{p.id}  {p.created_at:%Y-%m-%d}  {p.title}  ({p.author.name})" for p in page.items
        ]
        rows.append(f"page {page.page}: {len(page.items)} of {page.total} posts")
        output.show(page, "\n".join(rows))
    elif args.command == "show":
        post = await api.posts.get(args.id)
        output.show(post, post_text(post))
    elif args.command == "create":
        values = await read_post(args.file)
        if args.tags is not None:
            values["tags"] = tags(args.tags)
        post = await api.posts.create(**values)
        output.show(post, f"Published post #{post.id}: {post.title}")
    elif args.command == "edit":
        changes = await read_post(args.file) if args.file else {}
        given = {"title": args.title, "summary": args.summary, "tags": tags(args.tags)}
        changes |= {name: value for name, value in given.items() if value is not None}
        if not changes:
            raise UsageError("nothing to change: give --file, --title, --summary or --tags")
        post = await api.posts.update(args.id, **changes)
        output.show(post, f"Updated post #{post.id}: {post.title}")
    else:
        await api.posts.delete(args.id)
        output.show({"deleted": "post", "id": args.id}, f"Deleted post #{args.id}.")


async def comments(api: Client, args: argparse.Namespace, output: Output) -> None:
    if args.command == "list":
        found = await api.comments.list(args.post_id)
        output.show(found, "\n".join(comment_text(c) for c in found) or "No comments.")
    elif args.command == "add":
        text = await asyncio.to_thread(sys.stdin.read) if args.text == "-" else args.text
        comment = await api.comments.add(args.post_id, text)
        output.show(comment, f"Added comment #{comment.id} to post #{comment.post_id}.")
    else:
        if args.count is not None and args.count < 1:
            raise UsageError("--count must be 1 or more")
        received = 0
        async for comment in api.comments.follow(args.post_id, after=args.after):
            output.show(comment, comment_text(comment))
            received += 1
            if received == args.count:
                break


async def files(api: Client, args: argparse.Namespace, output: Output) -> None:
    if args.command == "list":
        page = await api.files.list(args.page)
        rows = [
            f"#{f.id}  {human(f.size):>10}  {f.created_at:%Y-%m-%d}  {f.name}" for f in page.items
        ]
        rows.append(f"page {page.page}: {len(page.items)} of {page.total} files")
        output.show(page, "\n".join(rows))
    elif args.command == "upload":
        if not await asyncio.to_thread(args.path.is_file):
            raise UsageError(f"{args.path} is not a file")
        bar = output.progress("upload")
        try:
            file = await api.files.upload(args.path, name=args.name, progress=bar)
        finally:
            if bar:
                bar.finish()
        output.show(file, f"Uploaded file #{file.id}: {file.name} ({human(file.size)})")
    elif args.command == "download":
        bar = output.progress("download")
        try:
            where = await api.files.download(args.id, args.dest, progress=bar)
        finally:
            if bar:
                bar.finish()
        output.show({"id": args.id, "path": str(where)}, f"Saved file #{args.id} as {where}")
    else:
        await api.files.delete(args.id)
        output.show({"deleted": "file", "id": args.id}, f"Deleted file #{args.id}.")


COMMANDS: dict[str, Callable[[Client, argparse.Namespace, Output], Awaitable[None]]] = {
    "posts": posts,
    "comments": comments,
    "files": files,
}


async def run(args: argparse.Namespace, output: Output) -> None:
    retry = Retry(attempts=max(1, args.attempts))
    client = Client(
        args.url,
        args.token,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        retry=retry,
    )
    async with client as api:
        await COMMANDS[args.group](api, args, output)


def main(
    argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run a command; returns the exit status (0, 1 or 2)."""
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage mistake (2)
        return int(exc.code or 0)
    if not args.url.startswith(("http://", "https://")):
        print(f"{PROG}: error: --url must start with http:// or https://", file=err)
        return 2
    try:
        asyncio.run(run(args, Output(out, err, args.json)))
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return 2
    except ClientError as exc:
        print(f"{PROG}: error: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
