"""cw fx import: the ECB's CSV and XML files into an FX policy, and old rates called out in the P&L."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from cw.core.fx import convert, validate_fx_policy
from cw.shell.resources import schema

ECB = Path(__file__).resolve().parent / "fixtures" / "ecb"
HEADER = "Date,USD,JPY,GBP,\n"


def test_the_history_csv_becomes_every_fixing_with_rates_as_published(cw, repo):
    out = cw.json("fx", "import", str(ECB / "eurofxref-hist.csv"), "-o", "fx.json")
    jsonschema.validate(out, schema("fx-import.output.schema.json"))
    doc = json.loads((repo / "fx.json").read_text())
    jsonschema.validate(doc, schema("fx-policy.schema.json"))
    assert [f["date"] for f in doc["rates"]] == ["1999-01-04", "2024-03-14", "2024-03-15"]  # oldest first
    first, _, last = doc["rates"]
    assert first["perBase"]["USD"] == "1.1789" and first["perBase"]["GBP"] == "0.71110"  # text as published
    assert "RON" not in first["perBase"] and "BGN" not in first["perBase"]  # N/A that day
    assert first["perBase"]["CYP"] == "0.58231"  # a withdrawn currency, in its day
    assert "CYP" not in last["perBase"] and last["perBase"]["RON"] == "4.9698"
    assert out["fixings"] == 3 and out["policyId"] == "ecb-2024-03-15" and out["maxRateAgeDays"] == 7
    policy = validate_fx_policy(doc, "fx.json")
    # 100 USD on 2024-03-15 in GBP: 100 * 0.85458 / 1.0890
    conv = convert(Decimal(100), "USD", "GBP", "2024-03-15T10:00:00Z", policy)
    q = Decimal("1e-20")
    assert conv.amount is not None and conv.amount.quantize(q) == (Decimal("85.458") / Decimal("1.0890")).quantize(q)


def test_the_daily_xml_gives_one_fixing(cw, repo):
    out = cw.json("fx", "import", str(ECB / "eurofxref-daily.xml"), "-o", "fx.json", "--max-rate-age", "3")
    doc = json.loads((repo / "fx.json").read_text())
    assert out["format"] == "xml" and doc["maxRateAgeDays"] == 3
    assert doc["rates"] == [
        {
            "date": "2025-10-21",
            "perBase": {
                "AUD": "1.7885",
                "CAD": "1.6301",
                "CHF": "0.9230",
                "GBP": "0.86780",
                "JPY": "176.45",
                "USD": "1.1607",
            },
        }
    ]


def test_a_history_xml_with_several_days(cw, repo):
    xml = (ECB / "eurofxref-daily.xml").read_text()
    day = "\t\t<Cube time='2025-10-09'>\n\t\t\t<Cube currency='USD' rate='1.1611'/>\n\t\t</Cube>\n"
    (repo / "hist.xml").write_text(xml.replace("\t</Cube>\n</gesmes", day + "\t</Cube>\n</gesmes"))
    doc_out = cw.json("fx", "import", "hist.xml", "-o", "fx.json")
    assert (doc_out["firstDate"], doc_out["lastDate"], doc_out["fixings"]) == ("2025-10-09", "2025-10-21", 2)


CSV_BAD = [
    ("", "neither an ECB CSV file", 1),
    ("Datum,USD,\n2024-03-15,1.0890,\n", "neither an ECB CSV file", 1),
    ("Date,USD,XYZ,\n2024-03-15,1.0890,1,\n", '"XYZ" is not an ISO 4217', 1),
    ("Date,USD,USD,\n", "the currency USD is a column twice", 1),
    ("Date,USD,EUR,\n", "EUR is the base", 1),
    (HEADER + "2024-03-15,1.0890,161.69,0.85458,\n2024-02-30,1,1,1,\n", '"2024-02-30" is not a date', 3),
    (HEADER + "2024-03-15,1.0890,161.69,0.85458,\n2024-03-15,1,1,1,\n", "appears twice (also line 2)", 3),
    (HEADER + "2024-03-15,0.0000,161.69,0.85458,\n", 'the USD rate "0.0000" is not a positive', 2),
    (HEADER + "2024-03-15,1.0890,-1,0.85458,\n", 'the JPY rate "-1"', 2),
    (HEADER + "2024-03-15,1.0890,1e2,0.85458,\n", 'the JPY rate "1e2"', 2),
    (HEADER + "2024-03-15,1.0890,161.69\n", "3 fields where the header has 4", 2),
    (HEADER + "2024-03-15,1.0890,161.69,\n", 'the GBP rate ""', 2),
    (HEADER + '2024-03-15,"1.0890",161.69,0.85458,\n', "quoted fields", 2),
    (HEADER + "2024-03-15,N/A,N/A,N/A,\n", "holds no rate", None),
]


@pytest.mark.parametrize("text,said,line", CSV_BAD)
def test_bad_csv_exits_2_naming_the_file_and_line_and_writes_nothing(cw, repo, text, said, line):
    (repo / "in.csv").write_text(text)
    res = cw("fx", "import", "in.csv", "-o", "fx.json")
    assert res.exit_code == 2, res.stderr
    where = f"{repo / 'in.csv'}:{line}:" if line else f"{repo / 'in.csv'}:"
    assert where in res.stderr and said in res.stderr, res.stderr
    assert not (repo / "fx.json").exists()


XML_BAD = [
    ("<Cube/>", "not the ECB's gesmes:Envelope", 1),
    ("<?xml version='1.0'?>\n<gesmes:Envelope xmlns:gesmes='x'", "malformed XML", 2),
    ("<!DOCTYPE x [<!ENTITY a 'b'>]>\n<x/>", "DOCTYPE", 1),
    ("rate='1.1607'/>", "RATE", 9),
    ("rate='1.1607'/>", "ZERO", 9),
    ("rate='1.1607'/>", "TWICE", 10),
]


@pytest.mark.parametrize("text,said,line", XML_BAD)
def test_bad_xml_exits_2_naming_the_line(cw, repo, text, said, line):
    good = (ECB / "eurofxref-daily.xml").read_text()
    if said == "RATE":
        text, said = good.replace("rate='1.1607'", "rate='1,1607'"), 'the USD rate "1,1607"'
    elif said == "ZERO":
        text, said = good.replace("rate='1.1607'", "rate='0'"), 'the USD rate "0"'
    elif said == "TWICE":
        text, said = good.replace("currency='JPY'", "currency='USD'"), "USD appears twice on 2025-10-21"
    (repo / "in.xml").write_text(text)
    res = cw("fx", "import", "in.xml", "-o", "fx.json")
    assert res.exit_code == 2 and f"{repo / 'in.xml'}:{line}:" in res.stderr and said in res.stderr, res.stderr
    assert not (repo / "fx.json").exists()


def test_not_utf8_and_missing_files(cw, repo):
    (repo / "in.csv").write_bytes(HEADER.encode() + b"2024-03-15,1.0890,161.69,0.8\xff,\n")
    res = cw("fx", "import", "in.csv", "-o", "fx.json")
    assert res.exit_code == 2 and "in.csv:2: not UTF-8" in res.stderr
    res = cw("fx", "import", "nope.csv", "-o", "fx.json")
    assert res.exit_code == 2 and "no such file" in res.stderr
    res = cw("fx", "import", str(ECB / "eurofxref-hist.csv"), "-o", "fx.json", "--max-rate-age", "week")
    assert res.exit_code == 2 and "--max-rate-age" in res.stderr
    assert not (repo / "fx.json").exists()


@pytest.mark.parametrize("spelling", ["rates.csv", "./rates.csv", "link.csv"])
def test_the_policy_is_never_written_over_the_ecb_file_it_reads(cw, repo, spelling):
    # -o naming the input used to replace the downloaded history with the policy
    original = (ECB / "eurofxref-hist.csv").read_bytes()
    (repo / "rates.csv").write_bytes(original)
    (repo / "link.csv").symlink_to(repo / "rates.csv")
    res = cw.fails(2, "fx", "import", "rates.csv", "-o", spelling)
    assert "it is the ECB file being read" in res.stderr and res.stderr.count("cw: ") == 1
    assert (repo / "rates.csv").read_bytes() == original and (repo / "link.csv").is_symlink()


# -- old rates in the P&L -------------------------------------------------------------------------


def _policy(repo: Path, max_age: int | None = None) -> None:
    doc = {
        "schemaVersion": 1,
        "id": "t",
        "source": "test",
        "base": "EUR",
        "rates": [{"date": "2026-11-02", "perBase": {"USD": "1.2500"}}],
    }
    if max_age is not None:
        doc["maxRateAgeDays"] = max_age
    (repo / "fx.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "at,max_age,stale",
    [
        ("2026-11-09T23:00:00Z", None, False),  # 7 days after the fixing: not more than 7
        ("2026-11-10T00:00:00Z", None, True),  # 8 days
        ("2026-11-10T00:00:00Z", 8, False),
        ("2026-11-20T00:00:00Z", 8, True),  # 18 days
    ],
)
def test_pnl_says_when_a_rate_is_older_than_the_amount_by_more_than_the_limit(cw, repo, at, max_age, stale):
    _policy(repo, max_age)
    cw.ok("run", "new", "--id", "r1")
    cw.ok("revenue", "add", "r1", "100.00", "USD", "--ref", "ch_1", "--at", at)
    p = cw.json("pnl", "--fx", "fx.json", "--currency", "EUR", "--now", "2026-12-01T00:00:00Z")
    jsonschema.validate(p, schema("pnl.schema.json"))
    assert p["totals"]["revenue"] == 80  # 100 / 1.25, converted either way
    assert p["fx"]["maxRateAgeDays"] == (max_age if max_age is not None else 7)
    text = cw.ok("pnl", "--fx", "fx.json", "--currency", "EUR", "--now", "2026-12-01T00:00:00Z").stdout
    if stale:
        days = (int(at[8:10]) - 2) if at[5:7] == "11" else None
        assert p["fx"]["staleRates"] == [
            {
                "pair": "USD->EUR",
                "rateDate": "2026-11-02",
                "amounts": 1,
                "maxAgeDays": days,
                "newestAmountDate": at[:10],
            }
        ]
        assert any("older than" in n and "fx.staleRates" in n for n in p["notes"])
        assert f"fx: old rate: USD->EUR at the 2026-11-02 rate for 1 amount(s), up to {days} days" in text
    else:
        assert p["fx"]["staleRates"] == [] and "old rate" not in text


def test_a_bad_max_rate_age_in_the_policy_is_refused(cw, repo):
    _policy(repo, -1)
    res = cw("pnl", "--fx", "fx.json")
    assert res.exit_code == 1 and "maxRateAgeDays" in res.stderr
