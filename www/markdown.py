"""Markdown to HTML for posts: CommonMark plus tables, with raw HTML escaped.

markdown-it-py with `html: False` escapes any HTML in the source instead of passing it
through, and its link validation drops javascript:, vbscript: and data: URLs. Links get
rel="nofollow noopener ugc", since anyone with an account can write them, and headings
move one level down, under the post's title.
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

    def heading(renderer, tokens, idx, options, env):
        # The post's title is the page's <h1>: "# Heading" in the text becomes an <h2>.
        tokens[idx].tag = f"h{min(int(tokens[idx].tag[1]) + 1, 6)}"
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("heading_open", heading)
    md.add_render_rule("heading_close", heading)
    return md


_MARKDOWN = _build()


@lru_cache(maxsize=1024)
def render_markdown(source: str) -> str:
    """Safe HTML for `source`. Cached: the output depends on the text alone."""
    return _MARKDOWN.render(source)
