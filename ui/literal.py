"""Text typed by people, made safe to place inside Markdown.

Streamlit renders Markdown (never raw HTML) in most elements and in the
navigation's section labels, so a name such as ``**Ana**`` or ``[x](y)`` would
be formatted, or become a link, unless its Markdown characters are escaped.
"""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$&:-])")


def md(value: object) -> str:
    """`value` as text that Markdown shows literally (names, emails, usernames)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))
