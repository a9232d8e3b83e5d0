"""Time helpers. The database stores naive UTC datetimes everywhere; the interface shows Stockholm time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(STOCKHOLM)


def local_text(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Stockholm time text (the templates' `localtime` filter); "" for None."""
    local = to_local(value)
    if not local:
        return ""
    if fmt == "%Y-%m-%d %H:%M":  # the default, dozens per page: the same text without strftime's parsing
        return local.replace(tzinfo=None).isoformat(" ", "minutes")
    return local.strftime(fmt)
