"""When things happened, windows over those dates, and calendar periods.

Dates (the one rule every verb uses):

* a unit's spend happens at its usage's ``attestedAt``, else at its worker
  output's ``recordedAt``, else at its task's ``completedAt`` (``unit_at``);
* revenue happens at the entry's ``at``: a booking at its own date, a
  reversal at its own date (``cw revenue reverse --at``).

A window is ``[since, until)``: ``--since`` inclusive, ``--until``
exclusive. A bound is ``YYYY-MM-DD`` (midnight in the window's zone) or an
ISO time; a time without an offset is read in the zone. Periods (``day``,
``week``, ``month``) are calendar periods of that zone, so a day across a
DST change is 23 or 25 hours long. Week labels are ISO-style ``YYYY-Www``
of the week's fourth day (for weeks starting Monday: exactly the ISO week).

The zone is a ``tzinfo`` the shell resolved (the core reads no files).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple

from cw.core.numbers import CALENDAR_TEXT, in_calendar, parse_iso_ms
from cw.model.errors import UsageError

PERIODS = ("day", "week", "month")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?")


@lru_cache(maxsize=65536)
def parse_at(value: str) -> datetime | None:
    """An ISO time with an offset as an aware UTC datetime; None when it is not one."""
    if not isinstance(value, str) or not _TIME.fullmatch(value) or not (value.endswith("Z") or value[-6] in "+-"):
        return None
    if parse_iso_ms(value) is None:  # outside cw's calendar (or no such day)
        return None
    try:
        return datetime.fromisoformat(_trim_fraction(value)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _trim_fraction(value: str) -> str:
    # fromisoformat takes at most 6 fraction digits
    m = re.search(r"\.(\d+)", value)
    if m and len(m.group(1)) > 6:
        value = value[: m.start(1) + 6] + value[m.end(1) :]
    return value


def event_at(value: Any) -> datetime | None:
    return parse_at(value) if isinstance(value, str) else None


def unit_at(run: dict[str, Any], kind: str, record: dict[str, Any], usage: Any) -> str | None:
    """When a unit's spend happened: usage ``attestedAt``, else output ``recordedAt``, else task ``completedAt``."""
    if isinstance(usage, dict) and event_at(usage.get("attestedAt")) is not None:
        return str(usage["attestedAt"])
    if kind == "worker":
        output = record.get("output")
        if isinstance(output, dict) and event_at(output.get("recordedAt")) is not None:
            return str(output["recordedAt"])
        task_id = output.get("taskId") if isinstance(output, dict) and output.get("taskId") else record.get("taskId")
        tasks = run.get("tasks")
        task = None
        for t in tasks if isinstance(tasks, list) else ():
            if isinstance(t, dict) and t.get("id") == task_id:
                task = t
                break
    else:
        task = record
    if isinstance(task, dict) and event_at(task.get("completedAt")) is not None:
        return str(task["completedAt"])
    return None


# ---------------------------------------------------------------------------
# windows


def parse_bound(text: str, zone: tzinfo, flag: str) -> datetime:
    """``YYYY-MM-DD`` (midnight in ``zone``) or an ISO time (no offset: read in ``zone``), as UTC."""
    s = str(text).strip()
    out: datetime | None = None
    try:
        if _DATE.fullmatch(s):
            out = local_midnight(date.fromisoformat(s), zone)
        elif _TIME.fullmatch(s):
            dt = datetime.fromisoformat(_trim_fraction(s))
            out = (dt if dt.tzinfo is not None else dt.replace(tzinfo=zone)).astimezone(UTC)
    except (ValueError, OverflowError):  # no such day, or a zone pushing it past datetime's years
        out = None
    if out is not None and in_calendar((out - _EPOCH) // _MS):
        return out
    raise UsageError(
        f'Invalid {flag} "{text}": expected a date (YYYY-MM-DD) or an ISO 8601 time (e.g. 2026-11-23T09:00:00Z), '
        f"{CALENDAR_TEXT}."
    )


def local_midnight(d: date, zone: tzinfo) -> datetime:
    """The first instant of local day ``d`` in ``zone``, as UTC (a day starting in a DST gap starts after it)."""
    # fold=0: a repeated midnight is its first occurrence; a midnight in a gap takes the offset before
    # the gap, which lands on the gap's end, the day's first real instant.
    return datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """``[since, until)`` in UTC; a missing bound is open. ``zone_name`` is what ``--tz`` said."""

    since: datetime | None = None
    until: datetime | None = None
    zone: tzinfo = UTC
    zone_name: str = "UTC"

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None

    def contains(self, at: datetime | None) -> bool:
        """Whether an instant is in the window; an undated thing is in an open window only."""
        if at is None:
            return not self.bounded
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def contains_text(self, value: Any) -> bool:
        return self.contains(event_at(value))

    def header(self) -> dict[str, Any]:
        return {"since": iso_z(self.since), "until": iso_z(self.until), "tz": self.zone_name}


def make_window(since: str | None, until: str | None, zone: tzinfo, zone_name: str) -> Window:
    lo = parse_bound(since, zone, "--since") if since else None
    hi = parse_bound(until, zone, "--until") if until else None
    if lo is not None and hi is not None and lo >= hi:
        raise UsageError(
            f'--since "{since}" is not before --until "{until}": the window [since, until) would be empty.'
        )
    return Window(lo, hi, zone, zone_name)


def iso_z(dt: datetime | None) -> str | None:
    """UTC with milliseconds and ``Z``, like every other time cw writes."""
    if dt is None:
        return None
    u = dt.astimezone(UTC)
    return f"{u.year:04d}-" + u.strftime("%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------
# periods


class Period(NamedTuple):
    label: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def check_period(period: str | None, flag: str = "--period") -> str | None:
    if period is None:
        return None
    if period not in PERIODS:
        raise UsageError(f'Invalid {flag} "{period}": expected one of {", ".join(PERIODS)}.')
    return period


def check_week_start(value: str | None) -> int:
    """``--week-start`` as a weekday number (Monday 0); default Monday."""
    if value is None:
        return 0
    v = str(value).strip().lower()
    for i, name in enumerate(WEEKDAYS):
        if v in (name, name[:3]):
            return i
    raise UsageError(f'Invalid --week-start "{value}": expected a weekday name (monday … sunday).')


def _first_day(d: date, period: str, week_start: int) -> date:
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=(d.weekday() - week_start) % 7)
    return d.replace(day=1)


def _next_first_day(d: date, period: str) -> date:
    if period == "day":
        return d + timedelta(days=1)
    if period == "week":
        return d + timedelta(days=7)
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _label(first: date, period: str) -> str:
    if period == "day":
        return first.isoformat()
    if period == "week":
        y, w, _ = (first + timedelta(days=3)).isocalendar()
        return f"{y}-W{w:02d}"
    return f"{first.year}-{first.month:02d}"


def period_of(at: datetime, period: str, zone: tzinfo, week_start: int = 0) -> Period:
    """The calendar period of ``zone`` holding instant ``at``."""
    first = _first_day(at.astimezone(zone).date(), period, week_start)
    nxt = _next_first_day(first, period)
    return Period(_label(first, period), local_midnight(first, zone), local_midnight(nxt, zone))


def periods_between(start: datetime, end: datetime, period: str, zone: tzinfo, week_start: int = 0) -> Iterator[Period]:
    """Every period meeting ``[start, end)``, oldest first (the first and last may stick out of it)."""
    p = period_of(start, period, zone, week_start)
    while True:
        yield p
        if p.end >= end:
            return
        p = period_of(p.end, period, zone, week_start)


def window_periods(
    window: Window, period: str, dated: Iterable[datetime | None], latest: datetime, week_start: int = 0
) -> list[Period]:
    """The periods a report over ``window`` lists: from ``--since`` (else the earliest dated thing) up to
    ``--until`` (else the later of ``latest`` — "now" — and the newest dated thing). Empty periods in
    between are listed too; the first and last are clipped to the window's bounds."""
    times = [t for t in dated if t is not None and window.contains(t)]
    hi = window.until
    if hi is None:
        hi = period_of(max([*times, latest]), period, window.zone, week_start).end
    lo = window.since
    if lo is None:
        oldest = min(times) if times else min(latest, hi - timedelta(microseconds=1))
        lo = period_of(oldest, period, window.zone, week_start).start
    if lo >= hi:
        return []
    out = []
    for p in periods_between(lo, hi, period, window.zone, week_start):
        out.append(Period(p.label, max(p.start, lo), min(p.end, hi)))
    return out


def bucket(at: datetime | None, periods: list[Period]) -> int | None:
    """Index of the period holding ``at`` (periods sorted and adjacent), or None."""
    if at is None or not periods or at < periods[0].start or at >= periods[-1].end:
        return None
    lo, hi = 0, len(periods) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if periods[mid].start <= at:
            lo = mid
        else:
            hi = mid - 1
    return lo


__all__ = [
    "PERIODS",
    "WEEKDAYS",
    "Period",
    "Window",
    "bucket",
    "check_period",
    "check_week_start",
    "event_at",
    "iso_z",
    "local_midnight",
    "make_window",
    "parse_at",
    "parse_bound",
    "period_of",
    "periods_between",
    "unit_at",
    "window_periods",
]
