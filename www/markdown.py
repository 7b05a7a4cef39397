"""Markdown to HTML for posts: CommonMark plus tables, with raw HTML escaped.

markdown-it-py with `html: False` escapes any HTML in the source instead of passing it
through, and its link validation drops javascript:, vbscript: and data: URLs. Links get
rel="nofollow noopener ugc", since anyone with an account can write them.
"""

from functools import lru_cache

from markdown_it import MarkdownIt

LINK_REL = "nofollow noopener ugc"


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False})
    md.enable(["table", "strikethrough"])

    def link_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("rel", LINK_REL)
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MARKDOWN = _build()


@lru_cache(maxsize=64)
def render_markdown(source: str) -> str:
    """Safe HTML for `source`. Cached: the output depends on the text alone."""
    return _MARKDOWN.render(source)
