"""The ECB's euro reference-rate files, read into an FX policy (``cw fx import``).

Two formats, told apart by their content:

* ``eurofxref-hist.csv`` (and the one-day ``eurofxref.csv``): a header
  ``Date,USD,JPY,...`` and one line per day, newest first, each rate the
  units of that currency one euro bought, ``N/A`` where the ECB published
  none (a currency before it was quoted or after it was withdrawn). Lines
  end with a comma, so the last column is empty; spaces around values are
  allowed (the one-day file has them).
* ``eurofxref-daily.xml`` / ``eurofxref-hist.xml``: a ``gesmes:Envelope``
  whose ``Cube`` holds one ``Cube time="YYYY-MM-DD"`` per day with
  ``Cube currency="USD" rate="1.1607"`` children.

Every day becomes one fixing (base EUR) with every rate the ECB gave that
day, as decimal text exactly as published. Bad input is a ``UsageError``
naming the file and the line: not UTF-8, neither format, a header without
``Date`` first, an unknown currency code, a currency twice, a date that is
not a calendar date or appears twice, a rate that is not a positive decimal
(zero included), a line with too many or too few fields, a file with no
rate at all. A DOCTYPE is refused: the ECB's files have none, and entity
expansion has no place in a rate file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as _date
from typing import Any
from xml.parsers import expat

from cw.core.currency import is_currency
from cw.model.errors import UsageError

NS_EUROFXREF = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
NS_GESMES = "http://www.gesmes.org/xml/2002-08-01"
_RATE = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HINT = "cw fx import reads the ECB's eurofxref-hist.csv, eurofxref.csv, eurofxref-daily.xml or eurofxref-hist.xml."


@dataclass(frozen=True)
class EcbRates:
    """Fixings read from one file, newest first as the ECB writes them: ``(date, {code: rate text})``."""

    format: str  # "csv" or "xml"
    fixings: tuple[tuple[str, dict[str, str]], ...]


def _bad(name: str, line: int | None, what: str) -> UsageError:
    where = f"{name}:{line}" if line else name
    return UsageError(f"Invalid ECB rates file {where}: {what}", hint=_HINT)


def _check_date(name: str, line: int, text: str, seen: dict[str, int]) -> str:
    ok = bool(_DATE.fullmatch(text))
    if ok:
        try:
            _date.fromisoformat(text)
        except ValueError:
            ok = False
    if not ok:
        raise _bad(name, line, f'"{text}" is not a date (YYYY-MM-DD)')
    if text in seen:
        raise _bad(name, line, f"the date {text} appears twice (also line {seen[text]})")
    seen[text] = line
    return text


def _check_code(name: str, line: int, code: str) -> str:
    if code == "EUR":
        raise _bad(name, line, "EUR is the base of every ECB rate (1 by definition); it cannot be a column")
    if not is_currency(code, withdrawn_ok=True):
        raise _bad(name, line, f'"{code}" is not an ISO 4217 currency code cw knows')
    return code


def _check_rate(name: str, line: int, code: str, text: str) -> str:
    if not _RATE.fullmatch(text) or not any(ch not in "0." for ch in text):
        raise _bad(name, line, f'the {code} rate "{text}" is not a positive decimal number (units per 1 EUR)')
    return text


def read_ecb(data: bytes, name: str) -> EcbRates:
    """Parse one ECB file's bytes (``name`` is the file as the user named it, for messages)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _bad(name, line, "not UTF-8 text") from None
    head = text.lstrip()
    if head.startswith("<"):
        return EcbRates("xml", _read_xml(data, name))
    if head.startswith("Date"):
        return EcbRates("csv", _read_csv(text, name))
    raise _bad(name, 1, "neither an ECB CSV file (header Date,USD,...) nor an ECB XML file (gesmes:Envelope)")


def _read_csv(text: str, name: str) -> tuple[tuple[str, dict[str, str]], ...]:
    lines = text.splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    if header[-1] == "":
        header = header[:-1]  # the ECB's trailing comma
    if len(header) < 2 or header[0] != "Date":
        raise _bad(name, 1, "the header must be Date followed by currency codes (Date,USD,JPY,...)")
    codes = header[1:]
    seen_codes: dict[str, int] = {}
    for code in codes:
        _check_code(name, 1, code)
        if code in seen_codes:
            raise _bad(name, 1, f"the currency {code} is a column twice")
        seen_codes[code] = 1
    fixings: list[tuple[str, dict[str, str]]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        if '"' in raw:
            raise _bad(name, n, "quoted fields are not part of the ECB's format")
        cells = [c.strip() for c in raw.split(",")]
        if len(cells) == len(codes) + 2 and cells[-1] == "":
            cells = cells[:-1]
        if len(cells) != len(codes) + 1:
            raise _bad(name, n, f"{len(cells)} fields where the header has {len(codes) + 1}")
        day = _check_date(name, n, cells[0], seen)
        rates = {code: _check_rate(name, n, code, v) for code, v in zip(codes, cells[1:], strict=True) if v != "N/A"}
        if rates:
            fixings.append((day, rates))
    if not fixings:
        raise _bad(name, None, "it holds no rate")
    return tuple(fixings)


def _read_xml(data: bytes, name: str) -> tuple[tuple[str, dict[str, str]], ...]:
    parser = expat.ParserCreate(namespace_separator=" ")
    cube = f"{NS_EUROFXREF} Cube"
    fixings: list[tuple[str, dict[str, str]]] = []
    seen: dict[str, int] = {}
    state: dict[str, Any] = {"depth": 0, "root": None, "day": None, "codes": {}}

    def doctype(*_: Any) -> None:
        raise _bad(name, parser.CurrentLineNumber, "a DOCTYPE is not part of the ECB's format")

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        state["depth"] += 1
        if state["root"] is None:
            state["root"] = tag
            if tag != f"{NS_GESMES} Envelope":
                raise _bad(name, line, f"the root element is {tag.split(' ')[-1]}, not the ECB's gesmes:Envelope")
            return
        if tag != cube:
            return
        if "time" in attrs:
            if state["day"] is not None:
                raise _bad(name, line, "a dated Cube inside another dated Cube")
            day = _check_date(name, line, attrs["time"], seen)
            codes: dict[str, str] = {}
            state["day"], state["codes"] = day, codes
            fixings.append((day, codes))
        elif "currency" in attrs or "rate" in attrs:
            if state["day"] is None:
                raise _bad(name, line, "a rate outside a dated Cube (Cube time=...)")
            code = _check_code(name, line, attrs.get("currency", ""))
            if code in state["codes"]:
                raise _bad(name, line, f"{code} appears twice on {state['day']}")
            state["codes"][code] = _check_rate(name, line, code, attrs.get("rate", ""))

    def end(tag: str) -> None:
        state["depth"] -= 1
        if tag == cube and state["day"] is not None and state["depth"] == 2:
            state["day"] = None

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _bad(name, exc.lineno, f"malformed XML ({expat.ErrorString(exc.code)})") from None
    out = tuple((d, r) for d, r in fixings if r)
    if not out:
        raise _bad(name, None, "it holds no rate")
    return out


def fx_policy_doc(rates: EcbRates, *, name: str, policy_id: str, max_rate_age_days: int | None) -> dict[str, Any]:
    """The FX policy document (``schemas/fx-policy.schema.json``) for the rates read, oldest fixing first."""
    ordered = sorted(rates.fixings)
    first, last = ordered[0][0], ordered[-1][0]
    doc: dict[str, Any] = {
        "schemaVersion": 1,
        "id": policy_id,
        "description": (
            f"Euro foreign exchange reference rates of the European Central Bank, imported by cw fx import "
            f"from {name}: {len(ordered)} fixings from {first} to {last}, units of each currency per 1 EUR "
            "as published. An amount is converted at the latest fixing on or before its date. The ECB "
            "publishes these rates for information purposes only."
        ),
        "source": (
            "European Central Bank, euro foreign exchange reference rates "
            f"(https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/), file {name}"
        ),
        "base": "EUR",
    }
    if max_rate_age_days is not None:
        doc["maxRateAgeDays"] = max_rate_age_days
    doc["rates"] = [{"date": d, "perBase": dict(sorted(r.items()))} for d, r in ordered]
    return doc
