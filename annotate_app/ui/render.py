"""Data text (prompts, responses) to HTML that can never carry markup of its own.

Markdown is rendered by markdown-it-py with raw HTML off, so ``<script>`` or ``<img onerror>`` in the
data arrives as text. Links keep only http, https and mailto targets (``javascript:``, ``data:``,
``vbscript:`` and every other scheme are dropped to plain text), open in a new tab and send no
referrer. Images are never loaded: a Markdown image shows as a link to its address, so viewing a pair
cannot fetch a tracking pixel. Fenced code with a known language is highlighted by Pygments (its
output is escaped text in spans); the page lets code blocks scroll sideways.

No Streamlit here: any page or export that shows data text can call ``to_html``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")
CODE_CLASS_PREFIX = "hl-"
CODE_STYLE = "friendly"
CODE_STYLE_DARK = "github-dark"  # the same token classes, coloured for a dark page
_FORMATTER = HtmlFormatter(nowrap=True, classprefix=CODE_CLASS_PREFIX, style=CODE_STYLE)
LINK_ATTRS = {
    "target": "_blank",
    "rel": "noopener noreferrer nofollow",
    "referrerpolicy": "no-referrer",
}


def safe_link(url: str) -> bool:
    """A link target the page may carry: a relative address or an http(s)/mailto one."""
    # Browsers drop control characters and whitespace inside a scheme ("java\tscript:").
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(url))
    match = _SCHEME.match(cleaned)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


def _highlight(code: str, lang: str, _attrs: str) -> str:
    if not lang:
        return ""  # markdown-it escapes it as plain code
    try:
        lexer = get_lexer_by_name(lang.split()[0].lower())
    except ClassNotFound:
        return ""
    return highlight(code, lexer, _FORMATTER)


def _image(_renderer, tokens: Sequence[Token], idx: int, _options, _env) -> str:
    """An image as a link to it: the address is shown, never fetched."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = html.escape(token.content or "image")
    if not safe_link(src):
        return f'<span class="md-image">[image: {alt}]</span>'
    attrs = " ".join(f'{k}="{v}"' for k, v in LINK_ATTRS.items())
    return (
        f'<span class="md-image">[image: <a href="{html.escape(src, quote=True)}" {attrs}>'
        f"{alt}</a>]</span>"
    )


def _link_open(renderer, tokens: Sequence[Token], idx: int, options, env) -> str:
    for key, value in LINK_ATTRS.items():
        tokens[idx].attrSet(key, value)
    return renderer.renderToken(tokens, idx, options, env)


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "breaks": True})
    md.enable(["table", "strikethrough"])
    md.validateLink = safe_link
    md.add_render_rule("image", _image)
    md.add_render_rule("link_open", _link_open)
    return md


def to_html(text: str) -> str:
    """Markdown data text as inert HTML."""
    return _markdown().render(text or "")


def _token_rules(style: str, scope: str) -> str:
    """One style's token colours under ``scope``: Pygments' rules for ``pre``, line numbers and the
    scope's own background are left out (the page sets those for light and dark themes)."""
    formatter = HtmlFormatter(nowrap=True, classprefix=CODE_CLASS_PREFIX, style=style)
    rules = formatter.get_style_defs(scope).splitlines()
    return "\n".join(r for r in rules if r.startswith(f"{scope} ."))


def code_css(scope: str) -> str:
    """The highlighting colours under the CSS selector ``scope``, for a light page and, inside a
    ``prefers-color-scheme: dark`` query, for a dark one."""
    dark = _token_rules(CODE_STYLE_DARK, scope)
    return f"{_token_rules(CODE_STYLE, scope)}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}"
