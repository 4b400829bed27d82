"""FX policies: strict validation, the rate in force at a date, and refusing to guess."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from cw.core.fx import convert, date_of, rates_used_payload, validate_fx_policy
from cw.model.errors import PolicyError
from cw.shell.fxpolicy import load_fx_policy
from cw.shell.resources import manifest_path, schema

POLICY = {
    "schemaVersion": 1,
    "id": "test-fx",
    "source": "hand-made for tests",
    "base": "EUR",
    "rates": [
        # deliberately out of order: the loader sorts by date
        {"date": "2026-02-02", "perBase": {"USD": "1.2000", "GBP": "0.9000"}},
        {"date": "2026-01-05", "perBase": {"USD": "1.1000", "GBP": "0.8500", "JPY": "160.00"}},
    ],
}


@pytest.fixture
def policy():
    return validate_fx_policy(POLICY, "/p/test.json")


def test_fixings_are_sorted_by_date(policy):
    assert [f.date for f in policy.fixings] == ["2026-01-05", "2026-02-02"]
    assert policy.fixings[0].per_base["USD"] == Decimal("1.1000")


@pytest.mark.parametrize(
    "at,rate_date,expected",
    [
        ("2026-01-05T00:00:00Z", "2026-01-05", "110.0000"),  # the fixing's own date
        ("2026-01-20T12:00:00Z", "2026-01-05", "110.0000"),  # between fixings: the earlier one
        ("2026-02-01T23:59:59.999Z", "2026-01-05", "110.0000"),  # last instant before the later fixing
        ("2026-02-02T00:00:00Z", "2026-02-02", "120.0000"),
        ("2027-06-01T00:00:00Z", "2026-02-02", "120.0000"),  # after the last: still in force
        ("2026-02-02T01:00:00+02:00", "2026-01-05", "110.0000"),  # 2026-02-01T23:00Z in UTC
    ],
)
def test_the_rate_in_force_is_the_latest_on_or_before_the_date(policy, at, rate_date, expected):
    conv = convert(Decimal("100"), "EUR", "USD", at, policy)
    assert conv.converted and conv.amount == Decimal(expected)
    assert conv.legs == ((rate_date, "USD", Decimal(expected) / 100),)


def test_a_date_before_every_fixing_is_not_guessed(policy):
    conv = convert(Decimal("100"), "EUR", "USD", "2026-01-04T23:59:59Z", policy)
    assert conv.amount is None and not conv.converted
    assert conv.reason == "FX policy test-fx has no EUR->USD rate dated on or before 2026-01-04"


def test_a_currency_missing_from_the_newest_fixing_falls_back_to_the_last_that_quotes_it(policy):
    conv = convert(Decimal("1600"), "JPY", "EUR", "2026-03-01T00:00:00Z", policy)
    assert conv.amount == Decimal("10")
    assert conv.legs == (("2026-01-05", "JPY", Decimal("160.00")),)


def test_a_currency_no_fixing_quotes_is_never_converted(policy):
    conv = convert(Decimal("5"), "CHF", "USD", "2026-03-01T00:00:00Z", policy)
    assert conv.amount is None and "CHF->USD" in conv.reason


def test_cross_rates_use_one_fixing_and_are_exact_to_50_digits(policy):
    conv = convert(Decimal("1000"), "JPY", "GBP", "2026-01-10T00:00:00Z", policy)
    exact = Fraction(1000) * Fraction("0.8500") / Fraction("160.00")  # 5.3125, terminates
    assert Fraction(conv.amount) == exact
    conv = convert(Decimal("100"), "USD", "EUR", "2026-01-10T00:00:00Z", policy)
    exact = Fraction(100) / Fraction("1.1")  # 90.909090...
    assert abs(Fraction(conv.amount) - exact) < Fraction(1, 10**45)
    assert str(conv.amount).startswith("90.90909090909090909090909")


def test_same_currency_needs_no_policy_and_no_date():
    conv = convert(Decimal("12.34"), "USD", "USD", None, None)
    assert conv.amount == Decimal("12.34") and conv.legs == ()


def test_no_policy_or_no_date_leaves_the_amount_unconverted(policy):
    assert (
        convert(Decimal("1"), "EUR", "USD", "2026-01-10T00:00:00Z", None).reason
        == "no FX policy supplied to convert EUR->USD"
    )
    assert "no valid date" in convert(Decimal("1"), "EUR", "USD", "not a date", policy).reason
    assert convert(Decimal("1"), "EUR", "USD", None, policy).amount is None


def test_date_of_reads_utc_dates():
    assert date_of("2026-01-01T00:30:00+01:00") == "2025-12-31"
    assert date_of("garbage") is None


def test_rates_used_are_distinct_and_sorted():
    legs = [
        ("2026-02-02", "USD", Decimal("1.2000")),
        ("2026-01-05", "USD", Decimal("1.1000")),
        ("2026-02-02", "GBP", Decimal("0.9000")),
        ("2026-02-02", "USD", Decimal("1.2000")),
    ]
    assert rates_used_payload(legs) == [
        {"date": "2026-01-05", "currency": "USD", "perBase": Decimal("1.1")},
        {"date": "2026-02-02", "currency": "GBP", "perBase": Decimal("0.9")},
        {"date": "2026-02-02", "currency": "USD", "perBase": Decimal("1.2")},
    ]


# --------------------------------------------------------------------------- validation


def _with(**changes):
    doc = json.loads(json.dumps(POLICY))
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is _DROP:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return doc


_DROP = object()

# (document, field path named in the message); every one is also refused by the JSON Schema
BAD = [
    (_with(schemaVersion=2), "schemaVersion"),
    (_with(schemaVersion="1"), "schemaVersion"),
    (_with(id=""), "id"),
    (_with(source=_DROP), "source"),
    (_with(base="eur"), "base"),
    (_with(rates=[]), "rates"),
    (_with(rates="daily"), "rates"),
    (_with(extra=True), "extra"),
    (_with(rates__0__date="2026-2-2"), "rates[0].date"),
    (_with(rates__0__when="x"), "rates[0].when"),
    (_with(rates__0__perBase={}), "rates[0].perBase"),
    (_with(rates__0__perBase__GBP=0.9), "rates[0].perBase.GBP"),
    (_with(rates__0__perBase__GBP="-0.9"), "rates[0].perBase.GBP"),
    (_with(rates__0__perBase__GBP="0"), "rates[0].perBase.GBP"),
    (_with(rates__0__perBase__GBP="1e3"), "rates[0].perBase.GBP"),
    (_with(rates__0__perBase__usd="1.1"), "rates[0].perBase.usd"),
    (_with(rates__0__perBase__EUR="1"), "rates[0].perBase.EUR"),
]


@pytest.mark.parametrize("doc,path", BAD)
def test_invalid_policies_are_refused_naming_file_and_field(doc, path):
    with pytest.raises(PolicyError) as exc:
        validate_fx_policy(doc, "/p/fx.json")
    assert exc.value.message.startswith(f"Invalid FX policy /p/fx.json: {path}")
    if path != "rates[0].perBase.EUR":  # the base quoted against itself is only a semantic rule
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema("fx-policy.schema.json"))


def test_rules_beyond_the_schema():
    with pytest.raises(PolicyError, match=r"rates\[1\].date: 2026-02-02 appears twice"):
        validate_fx_policy(_with(rates__1__date="2026-02-02"), "f")
    with pytest.raises(PolicyError, match=r"rates\[0\].date"):
        validate_fx_policy(_with(rates__0__date="2026-02-30"), "f")
    with pytest.raises(PolicyError, match=r"rates\[0\].perBase.ABC: not an ISO 4217"):
        validate_fx_policy(_with(rates__0__perBase__ABC="1.0"), "f")
    with pytest.raises(PolicyError, match="expected a JSON object"):
        validate_fx_policy([], "f")


def test_the_example_policy_passes_the_schema():
    jsonschema.validate(POLICY, schema("fx-policy.schema.json"))


# --------------------------------------------------------------------------- the bundled policy and the loader


def test_bundled_policy_loads_from_any_directory(tmp_path):
    pol = load_fx_policy("default", tmp_path)
    assert pol is not None and pol.base == "EUR"
    assert load_fx_policy("bundled", tmp_path) == pol
    jsonschema.validate(json.loads(manifest_path("fx.policy.json").read_text()), schema("fx-policy.schema.json"))
    assert [f.date for f in pol.fixings] == ["2025-10-09", "2025-10-21"]
    for f in pol.fixings:
        assert set(f.per_base) == {"USD", "JPY", "GBP", "CHF", "CAD", "AUD"}
    assert "ecb.europa.eu" in pol.source


def test_bundled_policy_converts_a_booking_dated_after_its_second_fixing(tmp_path):
    pol = load_fx_policy("default", tmp_path)
    conv = convert(Decimal("100.00"), "EUR", "USD", "2026-01-15T00:00:00Z", pol)
    assert conv.amount == Decimal("116.07")  # 100 * 1.1607, the 21 October 2025 USD figure
    assert convert(Decimal("1"), "EUR", "USD", "2025-10-08T00:00:00Z", pol).amount is None


def test_loader_resolves_paths_against_the_process_directory(tmp_path):
    (tmp_path / "fx.json").write_text(json.dumps(POLICY))
    assert load_fx_policy("fx.json", tmp_path).id == "test-fx"
    assert load_fx_policy(None, tmp_path) is None
    assert load_fx_policy("", tmp_path) is None


def test_loader_messages_name_the_file(tmp_path):
    missing = (tmp_path / "nope.json").resolve()
    with pytest.raises(PolicyError, match=f"FX policy file not found: {missing}"):
        load_fx_policy("nope.json", tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(PolicyError, match=f"Invalid JSON in {broken.resolve()}"):
        load_fx_policy(str(broken), tmp_path)
    dup = tmp_path / "dup.json"
    dup.write_text('{"schemaVersion": 1, "schemaVersion": 1}')
    with pytest.raises(PolicyError, match="duplicate key 'schemaVersion'"):
        load_fx_policy(str(dup), tmp_path)
    nan = tmp_path / "nan.json"
    nan.write_text('{"schemaVersion": NaN}')
    with pytest.raises(PolicyError, match="Invalid JSON"):
        load_fx_policy(str(nan), tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_with(base="XYZ")))
    with pytest.raises(PolicyError, match=f"Invalid FX policy {bad.resolve()}: base"):
        load_fx_policy(str(bad), tmp_path)
    with pytest.raises(PolicyError, match="directory"):
        load_fx_policy(str(tmp_path), Path("/"))
