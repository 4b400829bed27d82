"""ISO 4217 currencies and exact money amounts.

Money in cw is ``decimal.Decimal`` with the precision of its currency: the
ISO 4217 *minor unit* (USD 2 decimal places, JPY 0, KWD 3, CLF 4). Amounts
typed by a person are parsed strictly here, so a typo can never become a
wrong number:

* ``parse_amount("12.50", "USD")`` -> ``Decimal("12.50")``. Plain decimal
  digits only: no sign, exponent, spaces, thousands separators, ``NaN`` or
  ``Infinity``; no leading zeros (``007``); no trailing point (``12.``).
  Zero and negative amounts are refused (a correction is a reversal, never a
  negative booking), and so is any digit past the currency's minor unit
  (``10.001 USD``, ``10.00 JPY``), even a trailing zero: what was typed is
  what gets stored.
* ``parse_currency("USD")`` -> ``"USD"``. Uppercase three-letter active
  codes only. Codes withdrawn from the list recently are named with their
  successor; metals, funds and testing codes (``XAU``, ``XDR``, ``XTS``, ...)
  have no minor unit and cannot hold money here.

The table is the ISO 4217 "list one" (current currencies and funds) as
published on 2026-01-01 (SIX, the ISO 4217 maintenance agency). It differs
from older lists in: ``XCG`` replaced ``ANG`` (2025), ``ZWG`` replaced
``ZWL`` (2024), ``SLE`` replaced ``SLL``, ``BGN`` left when Bulgaria adopted
the euro (2026-01-01), and ``XAD`` (Arab Accounting Dinar) was added.
Withdrawn codes stay readable (``minor_units(code, withdrawn_ok=True)``) so
ledgers and FX policies written before a withdrawal still verify and convert.

``round_money`` is for presentation only: it rounds half away from zero to
the currency's minor unit. Arithmetic stays exact until then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType
from typing import Any

from cw.model.errors import UsageError

#: Date of the ISO 4217 list the table below reproduces.
ISO4217_LIST_DATE = "2026-01-01"

# Active codes with their minor unit (number of decimal places), ISO 4217
# list one of 2026-01-01. Codes whose minor unit is "N.A." in the standard
# (XAG, XAU, XBA-XBD, XDR, XPD, XPT, XSU, XTS, XUA, XXX) are left out: they
# are units of account, metals or test codes, not money with a precision.
_ACTIVE: dict[str, int] = {
    "AED": 2,
    "AFN": 2,
    "ALL": 2,
    "AMD": 2,
    "AOA": 2,
    "ARS": 2,
    "AUD": 2,
    "AWG": 2,
    "AZN": 2,
    "BAM": 2,
    "BBD": 2,
    "BDT": 2,
    "BHD": 3,
    "BIF": 0,
    "BMD": 2,
    "BND": 2,
    "BOB": 2,
    "BOV": 2,
    "BRL": 2,
    "BSD": 2,
    "BTN": 2,
    "BWP": 2,
    "BYN": 2,
    "BZD": 2,
    "CAD": 2,
    "CDF": 2,
    "CHE": 2,
    "CHF": 2,
    "CHW": 2,
    "CLF": 4,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "COU": 2,
    "CRC": 2,
    "CUP": 2,
    "CVE": 2,
    "CZK": 2,
    "DJF": 0,
    "DKK": 2,
    "DOP": 2,
    "DZD": 2,
    "EGP": 2,
    "ERN": 2,
    "ETB": 2,
    "EUR": 2,
    "FJD": 2,
    "FKP": 2,
    "GBP": 2,
    "GEL": 2,
    "GHS": 2,
    "GIP": 2,
    "GMD": 2,
    "GNF": 0,
    "GTQ": 2,
    "GYD": 2,
    "HKD": 2,
    "HNL": 2,
    "HTG": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "IQD": 3,
    "IRR": 2,
    "ISK": 0,
    "JMD": 2,
    "JOD": 3,
    "JPY": 0,
    "KES": 2,
    "KGS": 2,
    "KHR": 2,
    "KMF": 0,
    "KPW": 2,
    "KRW": 0,
    "KWD": 3,
    "KYD": 2,
    "KZT": 2,
    "LAK": 2,
    "LBP": 2,
    "LKR": 2,
    "LRD": 2,
    "LSL": 2,
    "LYD": 3,
    "MAD": 2,
    "MDL": 2,
    "MGA": 2,
    "MKD": 2,
    "MMK": 2,
    "MNT": 2,
    "MOP": 2,
    "MRU": 2,
    "MUR": 2,
    "MVR": 2,
    "MWK": 2,
    "MXN": 2,
    "MXV": 2,
    "MYR": 2,
    "MZN": 2,
    "NAD": 2,
    "NGN": 2,
    "NIO": 2,
    "NOK": 2,
    "NPR": 2,
    "NZD": 2,
    "OMR": 3,
    "PAB": 2,
    "PEN": 2,
    "PGK": 2,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "PYG": 0,
    "QAR": 2,
    "RON": 2,
    "RSD": 2,
    "RUB": 2,
    "RWF": 0,
    "SAR": 2,
    "SBD": 2,
    "SCR": 2,
    "SDG": 2,
    "SEK": 2,
    "SGD": 2,
    "SHP": 2,
    "SLE": 2,
    "SOS": 2,
    "SRD": 2,
    "SSP": 2,
    "STN": 2,
    "SVC": 2,
    "SYP": 2,
    "SZL": 2,
    "THB": 2,
    "TJS": 2,
    "TMT": 2,
    "TND": 3,
    "TOP": 2,
    "TRY": 2,
    "TTD": 2,
    "TWD": 2,
    "TZS": 2,
    "UAH": 2,
    "UGX": 0,
    "USD": 2,
    "USN": 2,
    "UYI": 0,
    "UYU": 2,
    "UYW": 4,
    "UZS": 2,
    "VED": 2,
    "VES": 2,
    "VND": 0,
    "VUV": 0,
    "WST": 2,
    "XAD": 2,
    "XAF": 0,
    "XCD": 2,
    "XCG": 2,
    "XOF": 0,
    "XPF": 0,
    "YER": 2,
    "ZAR": 2,
    "ZMW": 2,
    "ZWG": 2,
}

# Recently withdrawn codes: minor unit and the code that replaced them.
_WITHDRAWN: dict[str, tuple[int, str]] = {
    "ANG": (2, "XCG"),
    "BGN": (2, "EUR"),
    "CUC": (2, "CUP"),
    "HRK": (2, "EUR"),
    "SLL": (2, "SLE"),
    "ZWL": (2, "ZWG"),
    # euro-area and other codes the ECB's reference-rate history still quotes
    "CYP": (2, "EUR"),
    "EEK": (2, "EUR"),
    "LTL": (2, "EUR"),
    "LVL": (2, "EUR"),
    "MTL": (2, "EUR"),
    "ROL": (2, "RON"),
    "SIT": (2, "EUR"),
    "SKK": (2, "EUR"),
    "TRL": (0, "TRY"),
}

# Codes in the standard without a minor unit (metals, funds, test codes).
_NO_MINOR_UNIT = frozenset(["XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"])

#: Active ISO 4217 codes -> minor units (read-only).
MINOR_UNITS: Mapping[str, int] = MappingProxyType(_ACTIVE)

_CODE = re.compile(r"[A-Z]{3}")
_PLAIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_MAX_INTEGER_DIGITS = 18
# Wide enough that quantizing never fails for any amount cw can hold.
_WIDE = Context(prec=80)


def is_currency(code: Any, *, withdrawn_ok: bool = False) -> bool:
    """True for an active ISO 4217 code with a minor unit (or a withdrawn one if allowed)."""
    if not isinstance(code, str):
        return False
    return code in _ACTIVE or (withdrawn_ok and code in _WITHDRAWN)


def minor_units(code: str, *, withdrawn_ok: bool = False) -> int:
    """Decimal places of ``code``. KeyError for a code this table does not hold."""
    if code in _ACTIVE:
        return _ACTIVE[code]
    if withdrawn_ok and code in _WITHDRAWN:
        return _WITHDRAWN[code][0]
    raise KeyError(code)


def quantum(code: str, *, withdrawn_ok: bool = False) -> Decimal:
    """The smallest amount of ``code``: ``Decimal("0.01")`` for USD, ``Decimal("1")`` for JPY."""
    return Decimal(1).scaleb(-minor_units(code, withdrawn_ok=withdrawn_ok))


def parse_currency(code: Any, *, flag: str = "CURRENCY") -> str:
    """An active ISO 4217 code, or UsageError naming ``flag`` and what is expected."""
    expected = "an uppercase three-letter ISO 4217 code such as USD, EUR or JPY"
    if not isinstance(code, str) or not code:
        raise UsageError(f"Missing {flag}: expected {expected}.")
    if not _CODE.fullmatch(code):
        upper = code.strip().upper()
        hint = f' (did you mean "{upper}"?)' if _CODE.fullmatch(upper) and upper in _ACTIVE else ""
        raise UsageError(f'Invalid {flag} "{code}": expected {expected}{hint}.')
    if code in _ACTIVE:
        return code
    if code in _WITHDRAWN:
        successor = _WITHDRAWN[code][1]
        raise UsageError(
            f'Invalid {flag} "{code}": withdrawn from ISO 4217; use {successor}, the code that replaced it.'
        )
    if code in _NO_MINOR_UNIT:
        raise UsageError(
            f'Invalid {flag} "{code}": ISO 4217 defines no minor unit for it '
            "(metals, funds and test codes cannot hold money); use a currency such as USD."
        )
    raise UsageError(
        f'Unknown {flag} "{code}": not an active ISO 4217 currency code '
        f"(list of {ISO4217_LIST_DATE}); expected {expected}."
    )


def parse_amount(text: Any, currency: str, *, flag: str = "AMOUNT") -> Decimal:
    """A positive amount of ``currency`` written as plain decimal digits, exact.

    The result keeps the digits as typed (``"12.5"`` -> ``Decimal("12.5")``);
    ``format_amount`` gives the canonical string with every minor-unit digit.
    """
    places = minor_units(parse_currency(currency))
    shown = text if isinstance(text, str) else repr(text)
    if not isinstance(text, str):
        raise UsageError(f"Invalid {flag} {shown}: expected a decimal number written as text, such as 12.50.")
    m = _PLAIN_DECIMAL.fullmatch(text)
    if not m:
        why = (
            "must be greater than zero"
            if text.startswith("-")
            else (
                "expected plain decimal digits such as 12.50 (no sign, exponent, spaces, "
                "thousands separators or leading zeros)"
            )
        )
        raise UsageError(f'Invalid {flag} "{text}": {why}.')
    whole, frac = m.group(1), m.group(2) or ""
    if len(whole) > _MAX_INTEGER_DIGITS:
        raise UsageError(f'Invalid {flag} "{text}": too large (at most {_MAX_INTEGER_DIGITS} digits before the point).')
    if len(frac) > places:
        allowed = (
            "a whole number (it has no minor unit)"
            if places == 0
            else f"at most {places} digit{'s' if places > 1 else ''} after the point"
        )
        raise UsageError(f'Invalid {flag} "{text}": too precise for {currency}; write {allowed}.')
    amount = Decimal(text)
    if amount == 0:
        raise UsageError(f'Invalid {flag} "{text}": must be greater than zero.')
    return amount


def format_amount(amount: Decimal, currency: str, *, withdrawn_ok: bool = False) -> str:
    """Canonical text of an amount already at the currency's precision: ``"12.50"``, ``"-3.00"``, ``"500"``.

    Raises ValueError if the amount has more precision than the currency (a
    programming error: amounts are parsed or allocated at that precision).
    """
    q = quantum(currency, withdrawn_ok=withdrawn_ok)
    fixed = amount.quantize(q, context=_WIDE)
    if fixed != amount:
        raise ValueError(f"{amount} has more precision than {currency} allows")
    text = format(fixed, "f")
    return "0" + text[2:] if text.startswith("-0") and fixed == 0 else text


def canonical_amount_pattern(currency: str, *, withdrawn_ok: bool = True) -> re.Pattern[str]:
    """Regex of the canonical amount text for ``currency`` (optional ``-``, every minor digit)."""
    places = minor_units(currency, withdrawn_ok=withdrawn_ok)
    frac = rf"\.[0-9]{{{places}}}" if places else ""
    return re.compile(rf"-?(0|[1-9][0-9]*){frac}")


def format_money(value: Any, currency: str) -> str:
    """Text of a money figure at ``currency``'s minor unit (``round_money``); ``unknown`` for None.

    The one rule every text view uses, so a currency shows the same decimal
    places in every command (``12.50 USD``, ``500 JPY``, ``1.250 KWD``).
    """
    if value is None:
        return "unknown"
    if not is_currency(currency, withdrawn_ok=True):
        return format(Decimal(str(value)), "f")
    return format(round_money(Decimal(str(value)), currency), "f")


def round_money(amount: Decimal, currency: str, *, withdrawn_ok: bool = True) -> Decimal:
    """Presentation rounding: to the currency's minor unit, ties away from zero."""
    q = amount.quantize(quantum(currency, withdrawn_ok=withdrawn_ok), rounding=ROUND_HALF_UP, context=_WIDE)
    return q.copy_abs() if q.is_zero() else q
