"""The post file of `python -m www.client posts create --file post.md`: Markdown whose first
line is the title, then optional `Summary:` and `Tags:` lines, then the content:

    # The title
    Summary: One line for the lists (optional).
    Tags: aiohttp, python

    The content, in **Markdown**, down to the end of the file.

Only lines right after the title, before the first blank line, are read as `Summary:` and
`Tags:` (any letter case); the content starts after them and keeps its indentation.
"""

import re
from typing import Any

TITLE = re.compile(r"#[ \t]+(?P<title>.*\S)[ \t]*#*[ \t]*\Z")
FIELD = re.compile(r"(?P<key>summary|tags)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*\Z", re.IGNORECASE)


class PostFileError(ValueError):
    """A post file that does not follow the format; the message says where."""


def parse_post(text: str) -> dict[str, Any]:
    """{"title", "content"} and "summary" and "tags" when the file has them."""
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    match = TITLE.match(lines[0].strip()) if lines else None
    if match is None:
        raise PostFileError("The first line of a post file must be its title: '# The title'.")
    post: dict[str, Any] = {"title": match["title"].rstrip("#").rstrip()}
    rest = lines[1:]
    while rest and (field := FIELD.match(rest[0])):
        key, value = field["key"].lower(), field["value"]
        post[key] = (
            [tag.strip() for tag in value.split(",") if tag.strip()] if key == "tags" else value
        )
        rest.pop(0)
    while rest and not rest[0].strip():
        rest.pop(0)
    post["content"] = "\n".join(rest).rstrip()
    return post
