"""ISO 4217 codes, minor units and strict amount parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cw.core.currency import (
    MINOR_UNITS,
    format_amount,
    is_currency,
    minor_units,
    parse_amount,
    parse_currency,
    quantum,
    round_money,
)
from cw.model.errors import EXIT_USAGE, UsageError


@pytest.mark.parametrize(
    "code,places",
    [
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("ISK", 0),
        ("XOF", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("TND", 3),
        ("CLF", 4),
        ("UYW", 4),
        ("XCG", 2),
        ("ZWG", 2),
        ("SLE", 2),
    ],
)
def test_minor_units_follow_iso_4217(code, places):
    assert minor_units(code) == places
    assert quantum(code) == Decimal(1).scaleb(-places)


def test_withdrawn_and_unitless_codes_are_not_active():
    for code in ("ANG", "BGN", "HRK", "SLL", "ZWL", "CUC"):
        assert not is_currency(code)
        assert is_currency(code, withdrawn_ok=True)
    assert minor_units("BGN", withdrawn_ok=True) == 2
    for code in ("XAU", "XAG", "XDR", "XTS", "XXX"):
        assert code not in MINOR_UNITS
        assert not is_currency(code, withdrawn_ok=True)


@pytest.mark.parametrize(
    "text,currency,expected",
    [
        ("12.50", "USD", Decimal("12.50")),
        ("12", "USD", Decimal("12")),
        ("0.01", "USD", Decimal("0.01")),
        ("12.5", "EUR", Decimal("12.5")),
        ("500", "JPY", Decimal("500")),
        ("1.234", "KWD", Decimal("1.234")),
        ("0.0001", "CLF", Decimal("0.0001")),
        ("999999999999999999.99", "USD", Decimal("999999999999999999.99")),
    ],
)
def test_parse_amount_accepts_plain_decimals(text, currency, expected):
    got = parse_amount(text, currency)
    assert got == expected
    assert str(got) == text  # exactly what was typed, no float on the way


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E3",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "1,000",
        "1_000",
        " 12",
        "12 ",
        "+5",
        ".5",
        "5.",
        "007",
        "00.5",
        "0x10",
        "",
        "12.5.1",
        "١٢",
        "１２",
        "12 USD",
        "--5",
    ],
)
def test_parse_amount_refuses_malformed_text(text):
    with pytest.raises(UsageError) as exc:
        parse_amount(text, "USD", flag="AMOUNT")
    assert "AMOUNT" in exc.value.message
    assert exc.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("text", ["0", "0.00", "0.0"])
def test_parse_amount_refuses_zero(text):
    with pytest.raises(UsageError, match="greater than zero"):
        parse_amount(text, "USD")


@pytest.mark.parametrize("text", ["-5", "-0.01"])
def test_parse_amount_refuses_negative(text):
    with pytest.raises(UsageError, match="greater than zero"):
        parse_amount(text, "USD", flag="--amount")


@pytest.mark.parametrize(
    "text,currency",
    [
        ("10.001", "USD"),
        ("10.010", "USD"),
        ("10.5", "JPY"),
        ("10.00", "JPY"),
        ("1.2345", "KWD"),
        ("1.00001", "CLF"),
    ],
)
def test_parse_amount_refuses_over_precise_amounts(text, currency):
    with pytest.raises(UsageError) as exc:
        parse_amount(text, currency, flag="--amount")
    msg = exc.value.message
    assert "--amount" in msg and currency in msg and "precise" in msg


def test_over_precise_message_says_what_is_allowed():
    with pytest.raises(UsageError, match="at most 2 digits after the point"):
        parse_amount("10.001", "USD")
    with pytest.raises(UsageError, match="whole number"):
        parse_amount("10.5", "JPY")


def test_parse_amount_refuses_absurd_size_and_non_text():
    with pytest.raises(UsageError, match="too large"):
        parse_amount("1" + "0" * 18, "USD")
    with pytest.raises(UsageError):
        parse_amount(12.5, "USD")  # a float is never money


def test_parse_amount_checks_the_currency_too():
    with pytest.raises(UsageError, match="CURRENCY"):
        parse_amount("12.50", "usd")


def test_parse_currency_accepts_active_codes():
    assert parse_currency("USD") == "USD"
    assert parse_currency("CLF") == "CLF"


def test_parse_currency_refuses_lowercase_with_a_suggestion():
    with pytest.raises(UsageError) as exc:
        parse_currency("usd", flag="CURRENCY")
    assert 'did you mean "USD"' in exc.value.message
    assert "uppercase three-letter ISO 4217 code" in exc.value.message


@pytest.mark.parametrize("code", ["US", "USDX", "U$D", "", None, 840, " USD"])
def test_parse_currency_refuses_malformed_codes(code):
    with pytest.raises(UsageError, match="three-letter"):
        parse_currency(code)


def test_parse_currency_refuses_unknown_withdrawn_and_unitless_codes():
    with pytest.raises(UsageError, match='Unknown CURRENCY "XYZ"'):
        parse_currency("XYZ")
    with pytest.raises(UsageError, match="withdrawn.*use EUR"):
        parse_currency("BGN")
    with pytest.raises(UsageError, match="withdrawn.*use XCG"):
        parse_currency("ANG")
    with pytest.raises(UsageError, match="no minor unit"):
        parse_currency("XAU")


def test_format_amount_writes_every_minor_digit():
    assert format_amount(Decimal("12.5"), "USD") == "12.50"
    assert format_amount(Decimal("-40"), "USD") == "-40.00"
    assert format_amount(Decimal("500"), "JPY") == "500"
    assert format_amount(Decimal("1.2"), "KWD") == "1.200"
    with pytest.raises(ValueError):
        format_amount(Decimal("0.005"), "USD")


@pytest.mark.parametrize(
    "value,currency,expected",
    [
        ("2.345", "USD", "2.35"),
        ("-2.345", "USD", "-2.35"),
        ("2.3449", "USD", "2.34"),
        ("-0.004", "USD", "0.00"),
        ("2.5", "JPY", "3"),
        ("0.0005", "KWD", "0.001"),
        ("116.11000000000001", "USD", "116.11"),
    ],
)
def test_round_money_rounds_half_away_from_zero(value, currency, expected):
    got = round_money(Decimal(value), currency)
    assert format(got, "f") == expected
