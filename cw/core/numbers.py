"""Number, string-order and time rules shared by every derivation.

These reproduce the JavaScript behaviours CW's payloads depend on (see
``reference/cw-compat.md`` §15): ``Number.prototype.toString`` for numbers
inside fingerprints and text, ``Math.round`` based ``round6``, ``toFixed``,
``Date.parse`` for ISO timestamps, and UTF-16 code-unit string order.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import lru_cache
from typing import Any, TypeGuard

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SAFE = 2**53  # integers up to here are exact doubles


def cu_key(s: str) -> bytes:
    """Sort key giving JavaScript's UTF-16 code-unit order."""
    return s.encode("utf-16-be", "surrogatepass")


def is_number(v: Any) -> TypeGuard[int | float | Decimal]:
    """A JSON number (bool is not a number)."""
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def whole_number(value: Any, limit: int = _MAX_SAFE) -> int | None:
    """``value`` as written on a command line (``"3"``, `` 3 ``), if it is ASCII digits up to ``limit``; else None.

    ``str.isdigit`` also takes superscripts (``int`` then fails) and other scripts' digits; and past 2**53 a
    count is no longer exact in CW's JavaScript numbers."""
    if type(value) is bool:
        return None
    text = str(value).strip()
    if not _ASCII_DIGITS.fullmatch(text) or len(text) > 20:
        return None
    n = int(text)
    return n if n <= limit else None


def as_int_if_integral(x: float | int) -> float | int:
    """1.0 -> 1 so JSON keeps integers as integers; other floats unchanged."""
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return int(x)
    return x


def js_number(x: Any) -> str:
    """JavaScript ``String(x)`` for a number (also bools, None and strings as JS prints them).

    Integers beyond 2**53 are first rounded to the nearest double, as
    JavaScript holds every number as one; integral doubles at or above 1e21
    print in exponent form (``1e+21``), like any other JavaScript number.
    """
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return x
    if isinstance(x, int):
        if -_MAX_SAFE <= x <= _MAX_SAFE:
            return str(x)
        try:
            x = float(x)
        except OverflowError:  # beyond any double: JavaScript reads it as Infinity
            return "Infinity" if x > 0 else "-Infinity"
    elif isinstance(x, Decimal):
        x = float(x)
    if not isinstance(x, float):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    ax = abs(x)
    if x.is_integer() and ax <= _MAX_SAFE:
        return str(int(x))
    # Shortest round-trip digits (the same digits as repr) and the decimal exponent.
    mant, _, exp = repr(ax).partition("e")
    int_part, _, frac_part = mant.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    if exp:
        e10 = int(exp)
    elif int_part.strip("0"):
        e10 = len(int_part.lstrip("0")) - 1
    else:  # 0.000xyz
        e10 = -(len(frac_part) - len(frac_part.lstrip("0")) + 1)
    digits = digits.rstrip("0") or "0"
    sign = "-" if x < 0 else ""
    if 1e-6 <= ax < 1e21:
        point = e10 + 1  # digits before the decimal point
        if point <= 0:
            return sign + "0." + "0" * (-point) + digits
        if point >= len(digits):
            return sign + digits + "0" * (point - len(digits))
        return sign + digits[:point] + "." + digits[point:]
    m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{m}e{'+' if e10 > 0 else '-'}{abs(e10)}"


def js_round(x: float) -> int:
    """JavaScript ``Math.round``: nearest integer, ties toward +infinity."""
    f = math.floor(x)
    return int(f + 1 if (x - f) >= 0.5 else f)


def round6(x: float) -> float | int:
    """``Math.round(x * 1e6) / 1e6`` exactly as JavaScript computes it; integral results are ints."""
    y = x * 1e6
    f = math.floor(y)
    r = f + 1 if (y - f) >= 0.5 else f
    return as_int_if_integral(r / 1e6)


_MILLIONTH = Decimal("0.000001")


def round6_decimal(d: Decimal) -> Decimal:
    """Money rounding to millionths, ties toward +infinity (CW's rule, exact in Decimal)."""
    rounding = ROUND_HALF_UP if d >= 0 else ROUND_HALF_DOWN
    if d.is_finite() and d.adjusted() > 20:  # an absurd amount: more digits than the context holds at millionths
        return d.quantize(_MILLIONTH, rounding=rounding, context=Context(prec=d.adjusted() + 8))
    return d.quantize(_MILLIONTH, rounding=rounding)


def money_out(d: Decimal | None) -> int | Decimal | None:
    """A Decimal as JSON should show it: integral -> int, else plain digits without trailing zeros."""
    if d is None:
        return None
    if d == d.to_integral_value():
        return int(d)
    n = d.normalize()
    # keep plain notation (no exponent) for ordinary magnitudes
    if "E" in str(n):
        n = Decimal(format(n, "f"))
    return n


def to_fixed(x: float, d: int) -> str:
    """JavaScript ``Number.prototype.toFixed``: the exact binary value rounded half-up.

    As in JavaScript, a negative value that rounds to zero keeps its sign
    (``(-0.0001).toFixed(2)`` is ``"-0.00"``) while ``-0`` itself prints
    ``"0.00"``, and magnitudes of 1e21 or more print as ``String(x)``.
    """
    if isinstance(x, float) and (not math.isfinite(x) or abs(x) >= 1e21):
        return js_number(x)
    q = Decimal(x).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)
    s = format(q, "f")
    if s.startswith("-") and x == 0:
        s = s[1:]
    return s


_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?\Z",
    re.ASCII,
)
# The form CW and cw write (``2026-06-08T10:03:00.000Z``): parsed on a fast path.
_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", re.ASCII)
_MS = timedelta(milliseconds=1)


#: The calendar cw reads and accepts: instants from 1000-01-01T00:00:00.000Z up to, not including,
#: 9999-01-01T00:00:00.000Z. Every such instant prints with a four-digit year, and so does its day, week
#: and month in any time zone (offsets are below a day, periods below a year), so nothing cw stores or
#: derives ever needs a year its own checks would refuse. Times outside are read as unparseable.
CALENDAR_MIN_MS = -30610224000000  # 1000-01-01T00:00:00.000Z
CALENDAR_END_MS = 253370764800000  # 9999-01-01T00:00:00.000Z (exclusive)
CALENDAR_TEXT = "between the years 1000 and 9998 (UTC)"


def in_calendar(ms: int) -> bool:
    """Whether epoch milliseconds ``ms`` lie in the calendar cw accepts (``CALENDAR_MIN_MS`` ...)."""
    return CALENDAR_MIN_MS <= ms < CALENDAR_END_MS


def parse_iso_ms(s: Any) -> int | None:
    """Epoch milliseconds of an ISO 8601 timestamp, or None when missing, unparseable or outside the calendar.

    Date-only strings are UTC; date-times without an offset are read as UTC
    (CW reads them as local time; every timestamp CW and cw write carries ``Z``).
    """
    if not isinstance(s, str) or not s:
        return None
    return _parse_iso_str(s)


@lru_cache(maxsize=1 << 16)
def _parse_iso_str(s: str) -> int | None:
    if len(s) == 24 and _CANONICAL.fullmatch(s):
        try:
            ms = (datetime.fromisoformat(s) - _EPOCH) // _MS
        except ValueError:
            return None
        return ms if in_calendar(ms) else None
    m = _ISO.match(s)
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=UTC)
    except ValueError:
        return None
    ms = (dt - _EPOCH) // timedelta(seconds=1) * 1000 + int((frac or "0")[:3].ljust(3, "0"))
    if tz and tz != "Z":
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            return None
        # plain integer arithmetic: an offset may carry the instant past datetime's year 9999
        ms -= (1 if tz[0] == "+" else -1) * (oh * 60 + om) * 60_000
    return ms if in_calendar(ms) else None


def is_iso_timestamp(s: Any) -> bool:
    """True for a full ISO 8601 date-time with an explicit offset or ``Z``, inside the calendar."""
    return (
        isinstance(s, str)
        and bool(_ISO.match(s))
        and "T" in s
        and (s.endswith("Z") or s[-6] in "+-")
        and parse_iso_ms(s) is not None
    )


def iso_from_ms(ms: int) -> str:
    """ISO 8601 UTC with milliseconds and ``Z`` (four-digit year, as JavaScript's ``toISOString``)."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    return f"{dt.year:04d}-" + dt.strftime("%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def duration_ms(start: Any, end: Any) -> int | None:
    """``end - start`` in ms; None if either is missing, unparseable, or the result is negative."""
    a = parse_iso_ms(start)
    b = parse_iso_ms(end)
    if a is None or b is None:
        return None
    d = b - a
    return d if d >= 0 else None


#: A policy number (price, FX rate) must be written as the shortest decimal of a double (at most 17
#: significant digits, ``0.1`` not ``0.10000000000000001``): CW and most tools read policies as doubles, so
#: only such a number means the same to every reader; anything else is noise or a typo, never a quoted price.
POLICY_DIGITS = 17
#: A price per million tokens is 0 or within these bounds (see docs/pricing.md): one currency unit per token is
#: far above any model's price, and below 1e-12 per million even 2**53 tokens cost under a hundredth.
PRICE_MIN, PRICE_MAX = Decimal("1e-12"), Decimal(10**6)
#: An FX rate (units of a currency per unit of the base) lies within these bounds (see docs/pricing.md).
RATE_MIN, RATE_MAX = Decimal("1e-9"), Decimal(10**9)


def policy_number_problem(v: Decimal, lo: Decimal, hi: Decimal, what: str, *, zero_ok: bool) -> str | None:
    """Why ``v`` is not a number a policy may hold (``what``: "price per million tokens"), or None.

    The one rule for prices and rates: finite, not negative, 0 only where ``zero_ok``, else within
    ``[lo, hi]``, and the shortest decimal of a double (``POLICY_DIGITS``).
    """
    if not v.is_finite():
        return f"is not a finite number (a {what})"
    if v < 0:
        return f"must not be negative (a {what})"
    if v == 0:
        return None if zero_ok else f"must not be 0 (a {what})"
    if v > hi:
        return f"is {v}, above the largest {what} cw accepts ({hi:f})"
    if v < lo:
        return f"is {v}, below the smallest non-zero {what} cw accepts ({lo})"
    digits = len(v.normalize().as_tuple().digits)
    if digits > POLICY_DIGITS or Decimal(repr(float(v))) != v:
        return f"is {v}, which is not exactly a double (other readers of the file see {float(v)!r}); write {float(v)!r}"
    return None
