"""The JavaScript number, rounding, string-order and time rules of cw/core/numbers.py (cw-compat §15)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cw.core.jsonout import dumps
from cw.core.numbers import (
    as_int_if_integral,
    cu_key,
    duration_ms,
    is_iso_timestamp,
    is_number,
    iso_from_ms,
    js_number,
    js_round,
    money_out,
    parse_iso_ms,
    round6,
    round6_decimal,
    to_fixed,
)


def utc_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    "value, text",
    [
        (1000, "1000"),
        (1000.0, "1000"),
        (1e3, "1000"),
        (0, "0"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (-1.5, "-1.5"),
        (0.03, "0.03"),
        (0.1 + 0.2, "0.30000000000000004"),
        (0.000001, "0.000001"),  # Python's repr says 1e-06
        (0.0000015, "0.0000015"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (-1.5e-7, "-1.5e-7"),
        (1.23e-18, "1.23e-18"),
        (123456.789, "123456.789"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e20, "100000000000000000000"),
        (1.2345678901234568e20, "123456789012345680000"),  # shortest digits, not the binary value
        (2**53, "9007199254740992"),
        (2**60, "1152921504606847000"),  # an integer JavaScript cannot hold exactly
        (10**21, "1e+21"),
        (Decimal("0.030"), "0.03"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        ("abc", "abc"),
    ],
)
def test_js_number(value, text):
    assert js_number(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_js_number_round_trips_and_never_uses_python_exponent_style(x):
    text = js_number(x)
    assert float(text) == x or (x == 0 and text == "0")
    assert "e-0" not in text and "e+0" not in text and ".0e" not in text
    if 1e-6 <= abs(x) < 1e21:
        assert "e" not in text


@pytest.mark.parametrize(
    "value, rounded",
    [
        (0.5, 1),
        (1.5, 2),
        (2.5, 3),
        (-0.5, 0),
        (-2.5, -2),
        (-2.6, -3),
        (0.49999999999999994, 0),
        (7.0, 7),
    ],
)
def test_js_round_ties_go_up(value, rounded):
    assert js_round(value) == rounded


@pytest.mark.parametrize(
    "value, rounded",
    [
        (2 / 3, 0.666667),
        (1 / 3, 0.333333),
        (0.0078125, 0.007813),  # x * 1e6 is exactly 7812.5: ties toward +infinity (Python's round gives 7812)
        (-0.0078125, -0.007812),
        (0.5, 0.5),
        (2**-20, 0.000001),
    ],
)
def test_round6(value, rounded):
    assert round6(value) == rounded


def test_round6_keeps_integers_integers():
    assert round6(1.0) == 1 and type(round6(1.0)) is int
    assert round6(3 / 3) == 1 and type(round6(3 / 3)) is int
    assert type(round6(0.0)) is int
    assert type(round6(0.5)) is float


@pytest.mark.parametrize(
    "value, rounded",
    [
        ("0.0000075", "0.000008"),
        ("0.0001245", "0.000125"),
        ("0.0000074999", "0.000007"),
        ("-0.0000075", "-0.000007"),  # ties toward +infinity for negatives too
        ("-0.0000076", "-0.000008"),
        ("0.03", "0.030000"),
    ],
)
def test_round6_decimal(value, rounded):
    assert round6_decimal(Decimal(value)) == Decimal(rounded)
    assert str(round6_decimal(Decimal(value))) == rounded


def test_the_one_known_difference_with_cw_float_money():
    # §15.2: exact half-millionths. CW's float arithmetic lands below the tie; cw's Decimal does not.
    assert round6((75 / 1_000_000) * 0.1) == 0.000007
    assert round6_decimal(Decimal(75) * Decimal("0.1") / 10**6) == Decimal("0.000008")
    assert round6((249 / 1_000_000) * 0.5) == 0.000124
    assert round6_decimal(Decimal(249) * Decimal("0.5") / 10**6) == Decimal("0.000125")
    # 1 token at 0.5 per million rounds up in both
    assert round6((1 / 1_000_000) * 0.5) == 0.000001
    assert round6_decimal(Decimal("0.0000005")) == Decimal("0.000001")


@pytest.mark.parametrize(
    "value, out, kind",
    [
        (Decimal("0.030000"), Decimal("0.03"), Decimal),
        (Decimal("1.000000"), 1, int),
        (Decimal("0E-6"), 0, int),
        (Decimal("-0.000000"), 0, int),
        (Decimal("0.000001"), Decimal("0.000001"), Decimal),
        (Decimal("12345678.5"), Decimal("12345678.5"), Decimal),
        (None, None, type(None)),
    ],
)
def test_money_out(value, out, kind):
    got = money_out(value)
    assert got == out and type(got) is kind


def test_money_out_json_text_is_plain_decimal_notation():
    assert (
        dumps(
            {
                "a": money_out(Decimal("0.030000")),
                "b": money_out(Decimal("0.000001")),
                "c": money_out(Decimal("2.000000")),
            }
        )
        == '{\n  "a": 0.03,\n  "b": 0.000001,\n  "c": 2\n}'
    )


@pytest.mark.parametrize(
    "value, digits, text",
    [
        (0.125 * 100, 0, "13"),  # Python's %.0f gives 12
        (1.45, 1, "1.4"),  # the binary value is just below 1.45
        (66.66669999999999, 1, "66.7"),
        (100, 1, "100.0"),
        (0.5, 0, "1"),
        (2.5, 0, "3"),
        (1.005, 2, "1.00"),
        (-0.0001, 2, "-0.00"),  # JavaScript keeps the sign of a negative that rounds to zero
        (-0.0, 2, "0.00"),
        (-1.5, 0, "-2"),
        (1e21, 2, "1e+21"),
    ],
)
def test_to_fixed(value, digits, text):
    assert to_fixed(value, digits) == text


@pytest.mark.parametrize(
    "text, ms",
    [
        ("2026-06-08T10:00:00.000Z", utc_ms(2026, 6, 8, 10)),
        ("2026-06-08T10:00:00Z", utc_ms(2026, 6, 8, 10)),
        ("2026-06-08T10:00Z", utc_ms(2026, 6, 8, 10)),
        ("2026-06-08T12:00:00.000+02:00", utc_ms(2026, 6, 8, 10)),
        ("2026-06-08T05:30:00-04:30", utc_ms(2026, 6, 8, 10)),
        ("2026-06-08", utc_ms(2026, 6, 8)),
        ("2026-06-08T10:00:00.123456Z", utc_ms(2026, 6, 8, 10) + 123),
        ("1969-12-31T23:59:59.999Z", -1),
    ],
)
def test_parse_iso_ms(text, ms):
    assert parse_iso_ms(text) == ms


@pytest.mark.parametrize(
    "bad",
    [
        "x",
        "not a date",
        "",
        None,
        123,
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-06-08 10:00:00Z",
        "20260608T100000Z",
    ],
)
def test_parse_iso_ms_refuses(bad):
    assert parse_iso_ms(bad) is None


def test_duration_ms():
    assert duration_ms("2026-06-08T10:00:00.000Z", "2026-06-08T10:10:00.000Z") == 600000
    assert duration_ms("2026-06-08T10:00:00.000Z", "2026-06-08T10:00:00.000Z") == 0
    assert duration_ms("2026-06-08T10:10:00.000Z", "2026-06-08T10:00:00.000Z") is None  # never negative
    assert duration_ms("x", "2026-06-08T10:00:00.000Z") is None
    assert duration_ms("2026-06-08T10:00:00.000Z", "not a date") is None
    assert duration_ms("", "2026-06-08T10:00:00.000Z") is None
    assert duration_ms(None, None) is None


def test_is_iso_timestamp_needs_a_zone():
    assert is_iso_timestamp("2026-06-08T10:03:00.000Z")
    assert is_iso_timestamp("2026-06-08T10:03:00+01:00")
    assert not is_iso_timestamp("2026-06-08T10:03:00")
    assert not is_iso_timestamp("2026-06-08")
    assert not is_iso_timestamp("banana")
    assert not is_iso_timestamp(None)


@given(st.integers(min_value=-(10**12), max_value=10**13))
def test_iso_from_ms_round_trips(ms):
    text = iso_from_ms(ms)
    assert text.endswith("Z") and len(text) == 24
    assert parse_iso_ms(text) == ms


def test_cu_key_is_utf16_code_unit_order():
    # An astral character (surrogates D83D...) sorts before U+FFFF in code units, after it in code points.
    words = ["\uffff", "\U0001f600", "a"]
    assert sorted(words, key=cu_key) == ["a", "\U0001f600", "\uffff"]
    assert sorted(words) == ["a", "\uffff", "\U0001f600"]
    assert sorted(["b", "B", "a", "_"], key=cu_key) == ["B", "_", "a", "b"]


def test_is_number_and_as_int_if_integral():
    assert is_number(1) and is_number(1.5) and is_number(Decimal("1"))
    assert not is_number(True) and not is_number("1") and not is_number(None)
    assert as_int_if_integral(2.0) == 2 and type(as_int_if_integral(2.0)) is int
    assert as_int_if_integral(2.5) == 2.5
    assert math.isnan(as_int_if_integral(float("nan")))


def test_round6_decimal_keeps_huge_amounts_exact():
    """An absurd price (1e58 per million tokens) gives amounts wider than Decimal's default 28 digits."""
    from decimal import Decimal

    from cw.core.numbers import money_out, round6_decimal

    assert round6_decimal(Decimal("1e54")) == Decimal("1e54")
    assert money_out(round6_decimal(Decimal("1e54"))) == 10**54
    half = Decimal(10**40) + Decimal("0.0000005")  # exact: 48 digits
    assert round6_decimal(half) == Decimal(10**40) + Decimal("0.000001")
    assert round6_decimal(-half) == -(Decimal(10**40) + Decimal("0.000000"))  # ties toward +infinity
