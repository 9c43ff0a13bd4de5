"""Join links and QR codes for group sessions (pure: no Streamlit, no database).

The join link is `<public base URL>/group_join?code=<CODE>`. The base URL is,
in order:

1. `REPAIRLAB_PUBLIC_URL` when set (e.g. `https://repairlab.example.edu` or
   `https://example.edu/repairlab`): the address trainees' phones can reach,
   needed behind reverse proxies and load balancers that rewrite the host;
2. otherwise the address the host's own browser used, as Streamlit reports it
   (`st.context.url`), trimmed to the app's root;
3. otherwise the request's `X-Forwarded-Proto`/`X-Forwarded-Host` or `Host`
   headers.

When the host opened the app as `localhost`, phones cannot use that address;
`is_loopback()` lets the page say so.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import segno

PUBLIC_URL_ENV = "REPAIRLAB_PUBLIC_URL"
JOIN_PAGE = "group_join"
HOST_PAGE = "group_host"
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}


def public_base_url(
    context_url: str | None,
    headers: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    page_paths: tuple[str, ...] = (JOIN_PAGE, HOST_PAGE),
) -> str | None:
    """The app's root URL as trainees should open it, without a trailing slash."""
    env = os.environ if env is None else env
    override = (env.get(PUBLIC_URL_ENV) or "").strip()
    if override:
        return override.rstrip("/")
    if context_url:
        parts = urlsplit(context_url)
        if parts.scheme and parts.netloc:
            path = parts.path.rstrip("/")
            for page in page_paths:
                if path == f"/{page}" or path.endswith(f"/{page}"):
                    path = path[: -len(page) - 1]
                    break
            return f"{parts.scheme}://{parts.netloc}{path}"
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    host = (headers.get("x-forwarded-host") or headers.get("host") or "").split(",")[0].strip()
    if host and re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host):
        scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip() or "http"
        return f"{scheme}://{host}"
    return None


def join_url(base_url: str | None, code: str) -> str:
    """The link a trainee opens (or scans) to join the session with `code`."""
    query = f"{JOIN_PAGE}?code={quote(code)}"
    return f"{base_url.rstrip('/')}/{query}" if base_url else f"/{query}"


def is_loopback(url: str | None) -> bool:
    host = (urlsplit(url).hostname or "") if url else ""
    return host in _LOOPBACK or host.startswith("127.")


def qr_png(url: str, scale: int = 14) -> bytes:
    """A QR code of `url` as PNG bytes, made in memory (large: for a projector)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=2, dark="#111111")
    return buffer.getvalue()


def qr_svg(url: str, scale: int = 10) -> str:
    """The same QR code as SVG text (for printing or a download)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=scale, border=2, xmldecl=False)
    return buffer.getvalue().decode("utf-8")
