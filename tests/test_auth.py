"""Unit tests of the redirect-target check and the markdown renderer's safety."""

import pytest

from www.auth import safe_next
from www.markdown import render_markdown


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/posts/1", "/posts/1"),
        ("/?page=2", "/?page=2"),
        (None, "/"),
        ("", "/"),
        ("posts", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/a\\b", "/"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_markdown_never_passes_active_content(source):
    html = render_markdown(source)
    assert "<script" not in html
    assert "<img src=x" not in html
    assert 'href="javascript:' not in html.lower()
    assert 'src="data:text/html' not in html


def test_markdown_features():
    html = render_markdown("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ [l](/posts/1)")
    assert "<h2>T</h2>" in html  # under the page title
    assert "<table>" in html
    assert "<s>old</s>" in html
    assert '<a href="/posts/1" rel="nofollow noopener ugc">l</a>' in html
