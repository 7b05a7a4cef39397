"""What `python -m www.client` prints: readable text or JSON on stdout, a progress bar on
stderr when it is a terminal (never in a pipe or a log)."""

import json
import time
from typing import Any, TextIO

from pydantic import BaseModel


class Output:
    """Where results go: text or JSON on `out`, progress and errors on `err`."""

    def __init__(self, out: TextIO, err: TextIO, as_json: bool) -> None:
        self.out, self.err, self.as_json = out, err, as_json

    def show(self, value: BaseModel | list[BaseModel] | dict, text: str) -> None:
        if self.as_json:
            if isinstance(value, list):
                text = "[" + ",".join(item.model_dump_json() for item in value) + "]"
            elif isinstance(value, BaseModel):
                text = value.model_dump_json()
            else:
                text = json.dumps(value)
        print(text, file=self.out, flush=True)

    def progress(self, what: str) -> "ProgressBar | None":
        return ProgressBar(self.err, what) if self.err.isatty() else None


class ProgressBar:
    """`[#####.....]  52%  130.0 MiB of 250.0 MiB`, redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, stream: TextIO, what: str) -> None:
        self.stream, self.what, self.drawn = stream, what, 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.1 and done != total:
            return
        self.drawn = now
        share = done / total if total else 1.0
        bar = "#" * int(share * self.WIDTH)
        size = f"{human(done)} of {human(total)}" if total is not None else human(done)
        line = f"\r{self.what} [{bar:.<{self.WIDTH}}] {share:4.0%}  {size}"
        self.stream.write(line)
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def post_text(post: Any) -> str:
    lines = [post.title, f"#{post.id} by {post.author.name}, {post.created_at:%Y-%m-%d %H:%M} UTC"]
    if getattr(post, "tags", None):
        lines.append("Tags: " + ", ".join(post.tags))
    if post.summary:
        lines += ["", post.summary]
    return "\n".join([*lines, "", post.content])


def comment_text(comment: Any) -> str:
    when = f"{comment.created_at:%Y-%m-%d %H:%M:%S}"
    return f"[{when}] #{comment.id} {comment.author.name}: {comment.content}"
