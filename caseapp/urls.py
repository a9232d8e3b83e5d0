"""Safe redirect targets: only relative paths within this app."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a plain relative path ("/cases/1?x=y"), else None.

    Refuses absolute URLs, scheme-relative URLs ("//evil"), backslash tricks ("/\\evil"), control
    characters and anything with a scheme or host.
    """
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
