"""FX as data: dated reference rates from a policy file, never a guess.

An FX policy (``schemas/fx-policy.schema.json``) names one base currency and
lists dated *fixings*; each fixing gives, for some currencies, how many units
of that currency one unit of the base buys (``perBase``), as central banks
publish them (the ECB quotes every currency against 1 EUR):

    {"schemaVersion": 1, "id": "...", "source": "...", "base": "EUR",
     "rates": [{"date": "2025-10-09", "perBase": {"USD": "1.1611", "JPY": "177.40"}}]}

Conversion rules (``convert``):

* Same currency: the amount as it is; no policy or rate needed.
* Otherwise the amount is converted at the rate *in force at its date*: the
  latest fixing dated on or before the UTC calendar date of the amount's
  timestamp that quotes both currencies (the base is implicitly 1 in every
  fixing). ``amount_to = amount_from * perBase[to] / perBase[from]``, both
  from that one fixing, so a cross rate never mixes dates.
* A fixing more than the policy's ``maxRateAgeDays`` (default 7) older than
  the amount's date still converts it, and reports list it (``staleRates``):
  rates stop when a policy file is not refreshed, and such a figure should
  say so.
* No such fixing, no policy, or no usable timestamp: the amount is **not**
  converted. The result carries ``amount=None`` and a reason; callers keep the
  original amount aside and say so. Nothing is extrapolated, interpolated or
  taken from a later date.

Precision: a conversion that divides (to the base, or across two quoted
currencies) is carried to 50 significant digits; rounding to the reporting
currency's minor unit happens only when a report is presented.

Validation (``validate_fx_policy``) is strict: unknown keys, a missing or
malformed field, a non-positive or non-decimal-string rate, an unknown
currency code, the base quoted against itself and two fixings with the same
date are all refused with ``PolicyError`` naming the file and the field path
(``rates[1].perBase.GBP``). Withdrawn ISO 4217 codes are allowed in fixings,
since historic rates for them are legitimate data.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date as _date
from decimal import Context, Decimal
from typing import Any

from cw.core.currency import is_currency
from cw.core.numbers import RATE_MAX, RATE_MIN, iso_from_ms, money_out, parse_iso_ms, policy_number_problem
from cw.model.errors import PolicyError

_CTX = Context(prec=50)
_RATE = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TOP_KEYS = ("schemaVersion", "id", "description", "source", "base", "maxRateAgeDays", "rates")
#: A rate more than this many days older than the amount it converts is called out (``maxRateAgeDays``).
DEFAULT_MAX_RATE_AGE_DAYS = 7
_TOP_REQUIRED = ("schemaVersion", "id", "source", "base", "rates")
_FIXING_KEYS = ("date", "perBase")


@dataclass(frozen=True)
class Fixing:
    """One dated set of reference rates: units of each currency per 1 base unit."""

    date: str
    per_base: Mapping[str, Decimal]


@dataclass(frozen=True)
class FxPolicy:
    """A validated FX policy; fixings sorted by date, oldest first."""

    id: str
    base: str
    source: str
    fixings: tuple[Fixing, ...]
    description: str | None = None
    max_rate_age_days: int = DEFAULT_MAX_RATE_AGE_DAYS
    _dates: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dates", tuple(f.date for f in self.fixings))

    def fixing_in_force(self, currencies: Iterable[str], on: str) -> Fixing | None:
        """Latest fixing dated on or before ``on`` (YYYY-MM-DD) that quotes every currency given."""
        need = [c for c in currencies if c != self.base]
        i = bisect.bisect_right(self._dates, on)
        for fixing in reversed(self.fixings[:i]):
            if all(c in fixing.per_base for c in need):
                return fixing
        return None


@dataclass(frozen=True)
class Conversion:
    """Result of one conversion: the converted amount, or None with the reason it was not converted.

    ``legs`` lists the policy figures used as ``(date, currency, perBase)``
    (the base currency itself never appears; it is 1 by definition).
    """

    amount: Decimal | None
    currency: str
    reason: str | None = None
    legs: tuple[tuple[str, str, Decimal], ...] = ()
    rate_age_days: int | None = None  # days from the fixing used to the amount's own date

    @property
    def converted(self) -> bool:
        return self.amount is not None


def _fail(source: str, path: str, what: str) -> PolicyError:
    where = f"{path}: " if path else ""
    return PolicyError(f"Invalid FX policy {source}: {where}{what}", hint="see schemas/fx-policy.schema.json")


def _shown(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "an array"
    return str(v)


def _check_keys(
    obj: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...], source: str, path: str
) -> None:
    for key in obj:
        if key not in allowed:
            raise _fail(source, f"{path}.{key}" if path else key, f"unknown field (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            raise _fail(source, f"{path}.{key}" if path else key, "required field is missing")


def validate_fx_policy(doc: Any, source: str) -> FxPolicy:
    """Check a parsed FX policy document strictly and return it as an ``FxPolicy``.

    ``source`` names the file in every message (``PolicyError``).
    """
    if not isinstance(doc, dict):
        raise _fail(source, "", f"expected a JSON object, got {_shown(doc)}")
    _check_keys(doc, _TOP_KEYS, _TOP_REQUIRED, source, "")
    if type(doc["schemaVersion"]) is not int or doc["schemaVersion"] != 1:
        raise _fail(source, "schemaVersion", f"expected 1, got {_shown(doc['schemaVersion'])}")
    for key in ("id", "source"):
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise _fail(source, key, f"expected a non-empty string, got {_shown(doc[key])}")
    if "description" in doc and not isinstance(doc["description"], str):
        raise _fail(source, "description", f"expected a string, got {_shown(doc['description'])}")
    max_age = doc.get("maxRateAgeDays", DEFAULT_MAX_RATE_AGE_DAYS)
    if type(max_age) is not int or not 0 <= max_age <= 36600:
        raise _fail(source, "maxRateAgeDays", f"expected a whole number of days (0 to 36600), got {_shown(max_age)}")
    base = doc["base"]
    if not is_currency(base):
        raise _fail(source, "base", f"expected an active ISO 4217 code such as EUR, got {_shown(base)}")
    rates = doc["rates"]
    if not isinstance(rates, list) or not rates:
        raise _fail(source, "rates", f"expected a non-empty array of fixings, got {_shown(rates)}")
    fixings: list[Fixing] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rates):
        path = f"rates[{i}]"
        if not isinstance(raw, dict):
            raise _fail(source, path, f"expected an object {{date, perBase}}, got {_shown(raw)}")
        _check_keys(raw, _FIXING_KEYS, _FIXING_KEYS, source, path)
        day = raw["date"]
        if not _valid_date(day):
            raise _fail(source, f"{path}.date", f"expected a calendar date YYYY-MM-DD, got {_shown(day)}")
        if day in seen:
            raise _fail(source, f"{path}.date", f"{day} appears twice (also rates[{seen[day]}])")
        seen[day] = i
        quotes = raw["perBase"]
        if not isinstance(quotes, dict) or not quotes:
            raise _fail(
                source, f"{path}.perBase", f"expected a non-empty object of currency -> rate, got {_shown(quotes)}"
            )
        per_base: dict[str, Decimal] = {}
        for code, value in quotes.items():
            qpath = f"{path}.perBase.{code}"
            if code == base:
                raise _fail(source, qpath, f"the base currency {base} is 1 by definition; leave it out")
            if not is_currency(code, withdrawn_ok=True):
                raise _fail(source, qpath, "not an ISO 4217 currency code")
            if not isinstance(value, str) or not _RATE.fullmatch(value) or Decimal(value) == 0:
                raise _fail(source, qpath, f'expected a positive decimal string such as "1.1611", got {_shown(value)}')
            problem = policy_number_problem(Decimal(value), RATE_MIN, RATE_MAX, f"rate per {base}", zero_ok=False)
            if problem is not None:
                raise _fail(source, qpath, f"{value} {problem}")
            per_base[code] = Decimal(value)
        fixings.append(Fixing(day, per_base))
    fixings.sort(key=lambda f: f.date)
    return FxPolicy(
        id=doc["id"],
        base=base,
        source=doc["source"],
        fixings=tuple(fixings),
        description=doc.get("description"),
        max_rate_age_days=max_age,
    )


def _valid_date(v: Any) -> bool:
    if not isinstance(v, str) or not _DATE.fullmatch(v):
        return False
    try:
        _date.fromisoformat(v)
    except ValueError:
        return False
    return True


def date_of(at: Any) -> str | None:
    """UTC calendar date (YYYY-MM-DD) of an ISO timestamp, or None if it cannot be read."""
    ms = parse_iso_ms(at)
    return None if ms is None else iso_from_ms(ms)[:10]


def convert(amount: Decimal, from_currency: str, to_currency: str, at: Any, policy: FxPolicy | None) -> Conversion:
    """Convert ``amount`` at the rate in force on ``at``'s date, or say why it cannot be done."""
    if from_currency == to_currency:
        return Conversion(amount, to_currency)
    pair = f"{from_currency}->{to_currency}"
    if policy is None:
        return Conversion(None, to_currency, f"no FX policy supplied to convert {pair}")
    on = date_of(at)
    if on is None:
        return Conversion(None, to_currency, f"no valid date to pick a {pair} rate")
    fixing = policy.fixing_in_force((from_currency, to_currency), on)
    if fixing is None:
        return Conversion(None, to_currency, f"FX policy {policy.id} has no {pair} rate dated on or before {on}")
    base = policy.base
    rate_from = Decimal(1) if from_currency == base else fixing.per_base[from_currency]
    rate_to = Decimal(1) if to_currency == base else fixing.per_base[to_currency]
    value = _CTX.divide(_CTX.multiply(amount, rate_to), rate_from)
    legs = tuple((fixing.date, c, fixing.per_base[c]) for c in (from_currency, to_currency) if c != base)
    age = (_date.fromisoformat(on) - _date.fromisoformat(fixing.date)).days
    return Conversion(value, to_currency, None, legs, age)


@dataclass
class StaleRates:
    """Conversions whose fixing was more than the policy's ``maxRateAgeDays`` older than the amount."""

    uses: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # (pair, fixing) -> [n, max age, newest]

    def note(self, conv: Conversion, from_currency: str, at: Any, policy: FxPolicy | None) -> None:
        if policy is None or conv.rate_age_days is None or conv.rate_age_days <= policy.max_rate_age_days:
            return
        key = (f"{from_currency}->{conv.currency}", conv.legs[0][0] if conv.legs else "")
        slot = self.uses.setdefault(key, [0, 0, ""])
        slot[0] += 1
        slot[1] = max(slot[1], conv.rate_age_days)
        slot[2] = max(slot[2], date_of(at) or "")

    def payload(self) -> list[dict[str, Any]]:
        return [
            {"pair": pair, "rateDate": rate_date, "amounts": n, "maxAgeDays": age, "newestAmountDate": newest}
            for (pair, rate_date), (n, age, newest) in sorted(self.uses.items())
        ]


def rates_used_payload(legs: Iterable[tuple[str, str, Decimal]]) -> list[dict[str, Any]]:
    """Distinct policy figures used, as ``[{date, currency, perBase}]`` sorted by date then currency."""
    distinct = {(d, c): r for d, c, r in legs}
    return [{"date": d, "currency": c, "perBase": money_out(distinct[(d, c)])} for d, c in sorted(distinct)]


def policy_header(
    policy: FxPolicy | None, legs: Iterable[tuple[str, str, Decimal]], stale: StaleRates | None = None
) -> dict[str, Any]:
    """The ``fx`` block of a report: policy id, base, the rates actually used with their dates, old rates."""
    return {
        "policyId": policy.id if policy else None,
        "base": policy.base if policy else None,
        "ratesUsed": rates_used_payload(legs),
        "maxRateAgeDays": policy.max_rate_age_days if policy else None,
        "staleRates": stale.payload() if stale is not None else [],
    }
