"""The data-text renderer: Markdown in, HTML out, and no markup or fetch from the data survives."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from annotate_app.ui.render import code_css, safe_link, to_html

ALLOWED_TAGS = {"p", "a", "code", "pre", "span", "br", "em", "strong", "table", "thead", "tbody"}
ALLOWED_TAGS |= {"tr", "th", "td", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "hr", "s"}


class _Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def live_markup(out: str) -> list[str]:
    """Elements or attributes that could run code or fetch something."""
    bad = []
    for tag, attrs in _Elements(out).found:
        if tag not in ALLOWED_TAGS:
            bad.append(tag)
        for name, value in attrs.items():
            if name.startswith("on") or name in {"src", "style", "srcdoc"}:
                bad.append(f"{tag}[{name}]")
            if name == "href" and not (value or "").startswith(("http:", "https:", "mailto:")):
                bad.append(f"{tag}[href={value}]")
    return bad


@pytest.mark.parametrize(
    "payload",
    [
        "<script>window.x=1</script>",
        '<img src=x onerror="window.x=1">',
        '<iframe src="javascript:parent.x=1"></iframe>',
        "[click](javascript:window.x=1)",
        "[click](JaVa\tScRiPt:window.x=1)",
        "[click](&#106;avascript:window.x=1)",
        "[click](data:text/html,<script>x</script>)",
        "[click](vbscript:msgbox)",
        "<javascript:alert(1)>",
        "`<b onclick=x>code span</b>`",
        "```\n<script>fenced</script>\n```",
        "```html\n<img src=x onerror=y>\n```",
        "<svg onload=x><style>body{}</style>",
        "![pixel](http://tracker.example/beacon.png)",
        "![inline](data:image/png;base64,AAAA)",
    ],
)
def test_hostile_markdown_renders_inert(payload: str) -> None:
    out = to_html(payload)
    assert live_markup(out) == [], out


def test_raw_html_is_text() -> None:
    out = to_html("a <b>bold</b> and `<i>code</i>`")
    assert "&lt;b&gt;bold&lt;/b&gt;" in out
    assert "<code>&lt;i&gt;code&lt;/i&gt;</code>" in out


def test_remote_image_becomes_a_link_never_an_img() -> None:
    out = to_html("see ![beacon](http://host/beacon.png) here")
    assert "<img" not in out
    assert 'href="http://host/beacon.png"' in out and "[image: " in out
    assert 'referrerpolicy="no-referrer"' in out


def test_safe_links_open_in_a_new_tab_without_referrer() -> None:
    out = to_html("[docs](https://example.org/x?a=1&b=2) and <mailto:a@b.c>")
    assert 'href="https://example.org/x?a=1&amp;b=2"' in out
    assert 'rel="noopener noreferrer nofollow"' in out and 'target="_blank"' in out
    assert 'href="mailto:a@b.c"' in out


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://a.b", True),
        ("/relative", True),
        ("#frag", True),
        ("javascript:x", False),
        (" JAVASCRIPT:x", False),
        ("java\nscript:x", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
    ],
)
def test_safe_link(url: str, ok: bool) -> None:
    assert safe_link(url) is ok


def test_code_blocks_are_highlighted_and_escaped() -> None:
    out = to_html('```python\ndef f():\n    return "<b>"\n```')
    assert '<pre><code class="language-python">' in out
    assert 'class="hl-k">def<' in out
    assert "&lt;b&gt;" in out and "<b>" not in out
    css = code_css(".lb .hl")
    assert ".lb .hl .hl-k" in css and "pre {" not in css
    assert ".lb .hl {" not in css, "no background of its own: the page's theme sets it"
    light, dark = css.split("@media (prefers-color-scheme: dark)")
    assert ".lb .hl .hl-k" in light and ".lb .hl .hl-k" in dark


def test_unknown_language_and_tables() -> None:
    assert "<pre><code" in to_html("```nosuchlang\nx < y\n```")
    assert "<table>" in to_html("| a | b |\n|---|---|\n| 1 | 2 |")
