"""Time zones for windows and periods: IANA names resolved through ``zoneinfo`` (the system's tz database)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cw.core.timeline import Window, check_period, check_week_start, make_window
from cw.model.errors import UsageError


def load_zone(name: str, flag: str = "--tz") -> tzinfo:
    """The zone called ``name`` (e.g. Europe/Berlin); an unknown name is a usage error."""
    text = str(name).strip()
    if text.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f'Unknown time zone {flag} "{name}": expected an IANA name such as UTC, Europe/Berlin or America/New_York.'
        ) from None


def zone_name(a: dict[str, Any], ws: Any = None) -> str:
    """``--tz``, else the config's ``timezone`` (repo, then user), else UTC."""
    if ws is None:
        return str(a.get("tz") or "UTC")
    return str(ws.config(a.get("cwd")).get("timezone", a.get("tz")).value)


def window_from_args(a: dict[str, Any], ws: Any = None) -> Window:
    """``--since``/``--until``/``--tz`` as a window (validated: exit 2 on a bad zone, bound or order)."""
    name = zone_name(a, ws)
    zone = load_zone(name)
    return make_window(a.get("since"), a.get("until"), zone, "UTC" if zone is UTC else str(name).strip())


def period_from_args(a: dict[str, Any]) -> tuple[str | None, int]:
    """``--period`` and ``--week-start``; a week start without weeks is refused rather than ignored."""
    period = check_period(a.get("period"))
    week_start = check_week_start(a.get("week_start"))
    if a.get("week_start") is not None and period != "week":
        raise UsageError("--week-start only applies to --period week.")
    return period, week_start
