"""Searching posts: what a query's words are, and the excerpt a result shows.

A query is plain words, whatever it holds: quotes, `NEAR(`, `*`, `-`, AND/OR/NOT and
parentheses are not syntax here, only the letters and digits between them are kept (so a
query can never be an SQL or FTS syntax error), lower-cased, at most `search.max_words`
of them. The database finds the posts holding every word (www/db/fulltext.py); the
excerpt is made here, over the post's own text, each piece escaped and the words
wrapped in <mark>: no marker the engine returns is ever trusted as HTML.
"""

import re
from collections.abc import Sequence

from markupsafe import Markup, escape

from ..schemas import Invalid
from .models import Post

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script


def words(query: str, max_length: int, max_words: int) -> list[str]:
    """The distinct words of `query`, lower-cased, in order, at most `max_words`. Raises
    Invalid (field `q`) when the query is longer than `max_length` characters."""
    if len(query) > max_length:
        raise Invalid({"q": f"Search for at most {max_length} characters."})
    found = dict.fromkeys(word.lower() for word in _WORD.findall(query))
    return list(found)[:max_words]


def _pattern(found: Sequence[str]) -> re.Pattern[str]:
    """The words, whole, in any letter case (the longest first, for words that overlap)."""
    alternatives = "|".join(map(re.escape, sorted(found, key=len, reverse=True)))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


def highlight(text: str, found: Sequence[str]) -> Markup:
    """`text` escaped, with each of the words in <mark>."""
    if not found:
        return escape(text)
    parts, last = [], 0
    for match in _pattern(found).finditer(text):
        parts += [escape(text[last : match.start()]), Markup("<mark>")]
        parts += [escape(match.group()), Markup("</mark>")]
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def excerpt(post: Post, found: Sequence[str], length: int) -> Markup:
    """About `length` characters of the post's summary or content (its Markdown, as text)
    around the first of the words, highlighted; the start of the summary (or content)
    when no word shows there as typed (the engine may have matched a word's accented
    form, or the title only)."""
    pattern = _pattern(found) if found else None
    for text in (post.summary, post.content):
        match = pattern.search(text) if pattern else None
        if match:
            return _around(text, match.start(), length, found)
    return _around(post.summary or post.content, 0, length, found)


def _around(text: str, at: int, length: int, found: Sequence[str]) -> Markup:
    start = max(0, at - length // 3)
    if start:  # begin at a word
        space = text.find(" ", start, at)
        start = space + 1 if space != -1 else start
    piece = " ".join(text[start : start + length].split())  # Markdown's lines as one
    before = "…" if start else ""
    after = "…" if start + length < len(text) else ""
    return escape(before) + highlight(piece, found) + escape(after)
