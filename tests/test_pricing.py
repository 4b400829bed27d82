"""Pricing policies: validation, the bundled policy, loading by --pricing, and the price of one unit."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from cw.core.pricing import price_unit, usage_cost, validate_policy
from cw.model.errors import PolicyError
from cw.shell.policies import load_pricing_policy
from cw.shell.resources import manifest_path, schema

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cw"
CW_SHAPE = "Invalid pricing policy (expected schemaVersion 1 + models[]): SRC"


def policy(models: list[dict[str, Any]], default: dict[str, Any] | None = None, **top: Any):
    doc: dict[str, Any] = {"schemaVersion": 1, "id": "p", "models": models, **top}
    if default is not None:
        doc["defaultPrice"] = default
    return validate_policy(doc, "SRC")


def usage(**fields: Any) -> dict[str, Any]:
    return {"schemaVersion": 1, "source": "host-attested", "attestedAt": "2026-06-08T10:00:00.000Z", **fields}


# -- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        "x",
        {},
        {"schemaVersion": 1},
        {"schemaVersion": 2, "models": []},
        {"schemaVersion": "1", "models": []},
        {"schemaVersion": True, "models": []},
        {"schemaVersion": 1, "models": {}},
        {"models": []},
    ],
)
def test_cws_shape_check_keeps_cws_message(doc):
    with pytest.raises(PolicyError) as err:
        validate_policy(doc, "SRC")
    assert err.value.message == CW_SHAPE


@pytest.mark.parametrize(
    "doc, field, problem",
    [
        (
            {
                "models": [
                    {"model": "a", "inputPerMillion": 1, "outputPerMillion": 2},
                    {"model": "b", "inputPerMillion": 1, "outputPerMillion": 2},
                    {"model": "c", "inputPerMillion": -1, "outputPerMillion": 2},
                ]
            },
            "models[2].inputPerMillion",
            "must be a non-negative number (a price per million tokens)",
        ),
        (
            {"models": [{"model": "a", "inputPerMillion": "3", "outputPerMillion": 2}]},
            "models[0].inputPerMillion",
            "must be a non-negative number (a price per million tokens)",
        ),
        (
            {"models": [{"model": "a", "inputPerMillion": True, "outputPerMillion": 2}]},
            "models[0].inputPerMillion",
            "must be a non-negative number (a price per million tokens)",
        ),
        (
            {"models": [{"model": "a", "inputPerMillion": 1, "outputPerMillion": float("nan")}]},
            "models[0].outputPerMillion",
            "must be a non-negative number (a price per million tokens)",
        ),
        (
            {"models": [{"model": "a", "inputPerMillion": 1, "outputPerMillion": 2, "cacheReadPerMillion": -0.1}]},
            "models[0].cacheReadPerMillion",
            "must be a non-negative number (a price per million tokens)",
        ),
        (
            {"models": [{"model": "a", "outputPerMillion": 2}]},
            "models[0].inputPerMillion",
            "is missing; it must be a non-negative number (a price per million tokens)",
        ),
        (
            {"models": [{"model": "", "inputPerMillion": 1, "outputPerMillion": 2}]},
            "models[0].model",
            "must be a non-empty model id string",
        ),
        (
            {"models": [{"inputPerMillion": 1, "outputPerMillion": 2}]},
            "models[0].model",
            "must be a non-empty model id string",
        ),
        ({"models": ["claude"]}, "models[0]", "must be an object with model, inputPerMillion and outputPerMillion"),
        (
            {"models": [{"model": "a", "inputPerMillion": 1, "outputPerMillion": 2, "effectiveFrom": "2026-13-01"}]},
            "models[0].effectiveFrom",
            "must be an ISO 8601 date (2026-10-07) or date-time with a zone (2026-10-07T00:00:00Z)",
        ),
        (
            {
                "models": [
                    {"model": "a", "inputPerMillion": 1, "outputPerMillion": 2, "effectiveFrom": "2026-10-07T00:00:00"}
                ]
            },
            "models[0].effectiveFrom",
            "must be an ISO 8601 date (2026-10-07) or date-time with a zone (2026-10-07T00:00:00Z)",
        ),
        (
            {"models": [{"model": "a", "inputPerMillion": 1, "outputPerMillion": 2, "effectiveFrom": "yesterday"}]},
            "models[0].effectiveFrom",
            "must be an ISO 8601 date (2026-10-07) or date-time with a zone (2026-10-07T00:00:00Z)",
        ),
        (
            {
                "models": [
                    {"model": "a", "inputPerMillion": 1, "outputPerMillion": 2, "inputIncludesCachedTokens": "yes"}
                ]
            },
            "models[0].inputIncludesCachedTokens",
            "must be true or false",
        ),
        (
            {"models": [], "defaultPrice": {"inputPerMillion": 1, "outputPerMillion": -15}},
            "defaultPrice.outputPerMillion",
            "must be a non-negative number (a price per million tokens)",
        ),
        (
            {
                "models": [],
                "defaultPrice": {"inputPerMillion": 1, "outputPerMillion": 1, "effectiveFrom": "2026-01-01"},
            },
            "defaultPrice.effectiveFrom",
            "is not supported: the default price has no history (give models entries instead)",
        ),
        (
            {"models": [], "defaultPrice": 3},
            "defaultPrice",
            "must be an object with inputPerMillion and outputPerMillion",
        ),
        ({"models": [], "id": 7}, "id", "must be a string"),
        ({"models": [], "currency": None}, "currency", "must be a string"),
    ],
)
def test_field_errors_name_the_file_and_the_field(doc, field, problem):
    with pytest.raises(PolicyError) as err:
        validate_policy({"schemaVersion": 1, **doc}, "/abs/policy.json")
    assert err.value.message == f"Invalid pricing policy /abs/policy.json: {field} {problem}"
    assert err.value.exit_code == 1


def test_accepts_what_cw_accepts_and_cw_extensions():
    p = validate_policy(
        {
            "schemaVersion": 1.0,
            "models": [
                {"model": "a", "inputPerMillion": 1, "outputPerMillion": 2, "cacheReadPerMillion": None, "note": "x"},
                {
                    "model": "a",
                    "inputPerMillion": Decimal("0.1"),
                    "outputPerMillion": 0.3,
                    "effectiveFrom": "2026-01-01",
                    "reasoningPerMillion": 4,
                    "inputIncludesCachedTokens": True,
                    "outputIncludesReasoningTokens": False,
                },
                {
                    "model": "a",
                    "inputPerMillion": 1,
                    "outputPerMillion": 2,
                    "effectiveFrom": "2026-02-01T10:00:00+01:00",
                },
            ],
            "source": "free text",
            "defaultPrice": None,
        },
        "SRC",
    )
    assert p.id is None and p.currency is None and p.report_currency == "USD" and p.default_price is None
    first, second, _ = p.models
    assert first.cache_read_per_million is None
    assert second.input_per_million == Decimal("0.1") and second.output_per_million == Decimal("0.3")
    assert second.input_includes_cached_tokens and not second.output_includes_reasoning_tokens


def _validator() -> Draft202012Validator:
    s = schema("pricing-policy.schema.json")
    Draft202012Validator.check_schema(s)
    return Draft202012Validator(s)


def test_bundled_and_fixture_policies_validate_against_the_schema():
    v = _validator()
    for path in (
        manifest_path("pricing.policy.json"),
        FIXTURES / "policy-exact.json",
        FIXTURES / "policy-default-price.json",
    ):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert list(v.iter_errors(doc)) == [], path
        validate_policy(doc, str(path))


SCHEMA_SAMPLES = [
    ({"schemaVersion": 1, "models": []}, True),
    (
        {
            "schemaVersion": 1,
            "models": [
                {
                    "model": "a",
                    "inputPerMillion": 0,
                    "outputPerMillion": 0,
                    "cacheWritePerMillion": None,
                    "effectiveFrom": "2026-01-01T00:00Z",
                }
            ],
            "defaultPrice": {"inputPerMillion": 1, "outputPerMillion": 1},
            "extra": {"any": "thing"},
        },
        True,
    ),
    ({"schemaVersion": 1, "models": [{"model": "a", "inputPerMillion": -1, "outputPerMillion": 0}]}, False),
    ({"schemaVersion": 1, "models": [{"model": "a", "inputPerMillion": "1", "outputPerMillion": 0}]}, False),
    ({"schemaVersion": 1, "models": [{"model": "a", "outputPerMillion": 0}]}, False),
    ({"schemaVersion": 1, "models": [{"model": "", "inputPerMillion": 1, "outputPerMillion": 0}]}, False),
    (
        {
            "schemaVersion": 1,
            "models": [{"model": "a", "inputPerMillion": 1, "outputPerMillion": 0, "effectiveFrom": "soon"}],
        },
        False,
    ),
    (
        {
            "schemaVersion": 1,
            "models": [{"model": "a", "inputPerMillion": 1, "outputPerMillion": 0, "outputIncludesReasoningTokens": 1}],
        },
        False,
    ),
    (
        {
            "schemaVersion": 1,
            "models": [],
            "defaultPrice": {"inputPerMillion": 1, "outputPerMillion": 1, "effectiveFrom": "2026-01-01"},
        },
        False,
    ),
    ({"schemaVersion": 1, "models": [], "id": 3}, False),
    ({"schemaVersion": 2, "models": []}, False),
]


@pytest.mark.parametrize("doc, ok", SCHEMA_SAMPLES)
def test_schema_and_core_agree(doc, ok):
    assert (list(_validator().iter_errors(doc)) == []) is ok
    if ok:
        validate_policy(doc, "SRC")
    else:
        with pytest.raises(PolicyError):
            validate_policy(doc, "SRC")


# -- the bundled policy ---------------------------------------------------------


def test_bundled_policy_says_what_it_is_and_keeps_cws_default():
    doc = json.loads(manifest_path("pricing.policy.json").read_text(encoding="utf-8"))
    assert doc["currency"] == "USD" and doc["id"] and doc["source"] and doc["description"]
    assert doc["generator"]["from"] == "genai-prices" and doc["pricesTakenOn"]
    by_model: dict[str, list[dict[str, Any]]] = {}
    for m in doc["models"]:
        by_model.setdefault(m["model"], []).append(m)
    # list prices as genai-prices records them (CW's hand-kept example said 15/75 for claude-opus-4-8)
    assert [(m["inputPerMillion"], m["outputPerMillion"]) for m in by_model["claude-opus-4-8"]] == [(5, 25)]
    assert doc["defaultPrice"] == {
        "inputPerMillion": 3,
        "outputPerMillion": 15,
        "cacheReadPerMillion": 0.3,
        "cacheWritePerMillion": 3.75,
    }
    # every entry can price cache tokens: a cache price, or cached tokens inside input (charged at input)
    assert all("cacheReadPerMillion" in m or m.get("inputIncludesCachedTokens") for m in doc["models"])
    assert any(k.startswith("gpt-") for k in by_model) and any(k.startswith("gemini-") for k in by_model)
    # every Claude and Gemini entry has its cache read price now, and the Claude ones a cache write price
    for model, entries in by_model.items():
        if model.startswith("claude-") and model not in ("claude-2", "claude-v1", "claude-instant"):
            assert all("cacheReadPerMillion" in e and "cacheWritePerMillion" in e for e in entries), model


# -- loading by --pricing ---------------------------------------------------------


def test_no_value_means_no_policy(tmp_path):
    assert load_pricing_policy(None, tmp_path) is None
    assert load_pricing_policy("", tmp_path) is None


@pytest.mark.parametrize("value", ["default", "bundled"])
def test_default_and_bundled_read_the_packaged_policy_from_anywhere(value, tmp_path):
    p = load_pricing_policy(value, tmp_path)
    assert p is not None and p.id.startswith("cw-bundled-genai-prices-")
    assert p.source == str(manifest_path("pricing.policy.json"))
    assert p.entry_for("claude-opus-4-8", "2026-06-08T10:00:00Z").input_per_million == 5


def test_relative_path_is_resolved_against_the_process_cwd(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.json").write_text(
        '{"schemaVersion": 1, "id": "mine", "models": ['
        '{"model": "m", "inputPerMillion": 0.1, "outputPerMillion": 0.7}]}'
    )
    p = load_pricing_policy("sub/p.json", tmp_path)
    assert p.id == "mine" and p.source == str(tmp_path / "sub" / "p.json")
    entry = p.models[0]
    assert entry.input_per_million == Decimal("0.1") and str(entry.output_per_million) == "0.7"


def test_missing_file_message_is_cws(tmp_path):
    with pytest.raises(PolicyError) as err:
        load_pricing_policy("nope.json", tmp_path)
    assert err.value.message == f"Pricing policy file not found: {tmp_path / 'nope.json'}"
    for bare in ("true", True):  # a bare --pricing is the literal path "true"
        with pytest.raises(PolicyError) as err:
            load_pricing_policy(bare, tmp_path)
        assert err.value.message == f"Pricing policy file not found: {tmp_path / 'true'}"


def test_directory_is_refused(tmp_path):
    with pytest.raises(PolicyError, match="Pricing policy file not found: .*directory"):
        load_pricing_policy(".", tmp_path)


def test_invalid_json_message_names_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(PolicyError) as err:
        load_pricing_policy("bad.json", tmp_path)
    assert err.value.message.startswith(f"Invalid JSON in {tmp_path / 'bad.json'}: ")


def test_wrong_shape_and_bad_field_messages_through_the_loader(tmp_path):
    (tmp_path / "v2.json").write_text('{"schemaVersion": 2, "models": []}')
    with pytest.raises(PolicyError) as err:
        load_pricing_policy("v2.json", tmp_path)
    assert err.value.message == f"Invalid pricing policy (expected schemaVersion 1 + models[]): {tmp_path / 'v2.json'}"
    (tmp_path / "neg.json").write_text(
        '{"schemaVersion": 1, "models": [{"model": "m", "inputPerMillion": -3, "outputPerMillion": 1}]}'
    )
    with pytest.raises(PolicyError) as err:
        load_pricing_policy("neg.json", tmp_path)
    assert err.value.message == (
        f"Invalid pricing policy {tmp_path / 'neg.json'}: models[0].inputPerMillion "
        "must be a non-negative number (a price per million tokens)"
    )


# -- pricing one unit ---------------------------------------------------------------


def test_exact_default_and_unpriced():
    p = policy(
        [{"model": "m", "inputPerMillion": 15, "outputPerMillion": 75}],
        default={"inputPerMillion": 3, "outputPerMillion": 15},
    )
    exact = price_unit(usage(model="m", inputTokens=1000, outputTokens=200), p)
    assert exact.basis == "exact" and exact.cost == Decimal("0.03") and exact.tokens == 1200
    dflt = price_unit(usage(model="other", inputTokens=500, outputTokens=100), p)
    assert dflt.basis == "default" and dflt.cost == Decimal("0.003") and dflt.model == "other"
    no_default = policy([{"model": "m", "inputPerMillion": 15, "outputPerMillion": 75}])
    assert price_unit(usage(model="other", inputTokens=5), no_default) == ("unpriced", None, 5, "other", None)
    assert price_unit(usage(model="m", inputTokens=5), None).basis == "unpriced"


def test_model_match_is_exact_string_equality():
    p = policy([{"model": "5", "inputPerMillion": 1, "outputPerMillion": 1}])
    assert price_unit(usage(model=5, inputTokens=1), p).basis == "unpriced"
    assert price_unit(usage(model="5 ", inputTokens=1), p).basis == "unpriced"
    assert price_unit(usage(model="5", inputTokens=1), p).basis == "exact"


def test_cache_tokens_on_top_of_input():
    # CW's reading: cache tokens are on top of input, each bucket at its own price.
    priced = policy(
        [
            {
                "model": "m",
                "inputPerMillion": 3,
                "outputPerMillion": 15,
                "cacheReadPerMillion": 0.3,
                "cacheWritePerMillion": 3.75,
            }
        ]
    )
    u = usage(model="m", inputTokens=1000, outputTokens=100, cacheReadTokens=2000, cacheWriteTokens=400)
    # 1000*3 + 100*15 + 2000*0.3 + 400*3.75 = 3000 + 1500 + 600 + 1500 = 6600 per million
    assert price_unit(u, priced).cost == Decimal("0.0066")
    assert price_unit(u, priced).tokens == 1100  # cache tokens never join the token total


def test_a_bucket_the_entry_cannot_price_is_never_a_silent_zero():
    # CW priced cache tokens without a cache price at 0 and still called the cost attested.
    u = usage(model="m", inputTokens=1000, outputTokens=100, cacheReadTokens=2000, cacheWriteTokens=400)
    bare = policy([{"model": "m", "inputPerMillion": 3, "outputPerMillion": 15}])
    assert price_unit(u, bare).basis == "unpriced" and price_unit(u, bare).cost is None
    # without cache tokens the same entry prices exactly: 1000*3 + 100*15 = 4500 per million
    plain = usage(model="m", inputTokens=1000, outputTokens=100, cacheReadTokens=0)
    assert price_unit(plain, bare)[:2] == ("exact", Decimal("0.0045"))
    # a default with cache prices fills the gap, and the unit is estimated:
    # 1000*3 + 100*15 (entry) + 2000*0.5 + 400*4 (default's cache prices) = 4500 + 1000 + 1600 = 7100
    with_default = policy(
        [{"model": "m", "inputPerMillion": 3, "outputPerMillion": 15}],
        {"inputPerMillion": 9, "outputPerMillion": 99, "cacheReadPerMillion": 0.5, "cacheWritePerMillion": 4},
    )
    assert price_unit(u, with_default)[:2] == ("default", Decimal("0.0071"))
    # a default lacking one of the two cache prices cannot fill the gap
    half = policy(
        [{"model": "m", "inputPerMillion": 3, "outputPerMillion": 15}],
        {"inputPerMillion": 9, "outputPerMillion": 99, "cacheReadPerMillion": 0.5},
    )
    assert price_unit(u, half).basis == "unpriced"
    # a unit priced by the default itself, with a bucket the default has no price for, is unpriced
    assert price_unit(usage(model="other", inputTokens=1, cacheWriteTokens=5), half).basis == "unpriced"
    # the cache read price alone suffices when only cache-read tokens are present: 1000*3 + 2000*0.3 = 3600
    read_only = policy([{"model": "m", "inputPerMillion": 3, "outputPerMillion": 15, "cacheReadPerMillion": 0.3}])
    assert price_unit(usage(model="m", inputTokens=1000, cacheReadTokens=2000), read_only)[:2] == (
        "exact",
        Decimal("0.0036"),
    )


def test_input_includes_cached_tokens_never_counts_twice():
    p = policy(
        [
            {
                "model": "m",
                "inputPerMillion": 3,
                "outputPerMillion": 15,
                "cacheReadPerMillion": 0.3,
                "cacheWritePerMillion": 3.75,
                "inputIncludesCachedTokens": True,
            }
        ]
    )
    u = usage(model="m", inputTokens=1000, outputTokens=0, cacheReadTokens=300, cacheWriteTokens=100)
    # fresh input 600*3 + 300*0.3 + 100*3.75 = 1800 + 90 + 375 = 2265 per million
    assert price_unit(u, p).cost == Decimal("0.002265")
    # inconsistent counts: the input part is clamped at 0
    u2 = usage(model="m", inputTokens=100, cacheReadTokens=300)
    assert price_unit(u2, p).cost == Decimal("0.00009")


def test_included_cache_tokens_without_a_cache_price_cost_the_input_price():
    p = policy(
        [
            {
                "model": "m",
                "inputPerMillion": 2,
                "outputPerMillion": 8,
                "cacheReadPerMillion": 0.5,
                "inputIncludesCachedTokens": True,
            }
        ]
    )
    u = usage(model="m", inputTokens=1000, cacheReadTokens=400, cacheWriteTokens=100)
    # 500*2 + 400*0.5 + 100*2 = 1000 + 200 + 200 = 1400 per million
    assert price_unit(u, p).cost == Decimal("0.0014")


def test_reasoning_tokens():
    u = usage(model="m", inputTokens=0, outputTokens=100, reasoningTokens=50)
    included = policy([{"model": "m", "inputPerMillion": 1, "outputPerMillion": 10, "reasoningPerMillion": 99}])
    # 50 of the 100 output tokens are reasoning: 50 * 10 + 50 * 99 = 5450 per million
    assert price_unit(u, included).cost == Decimal("0.00545")
    no_price = policy([{"model": "m", "inputPerMillion": 1, "outputPerMillion": 10}])
    assert price_unit(u, no_price).cost == Decimal("0.001")  # informational: 100 * 10
    apart = policy(
        [
            {
                "model": "m",
                "inputPerMillion": 1,
                "outputPerMillion": 10,
                "reasoningPerMillion": 20,
                "outputIncludesReasoningTokens": False,
            }
        ]
    )
    assert price_unit(u, apart).cost == Decimal("0.002")  # 100*10 + 50*20
    at_output = policy(
        [{"model": "m", "inputPerMillion": 1, "outputPerMillion": 10, "outputIncludesReasoningTokens": False}]
    )
    assert price_unit(u, at_output).cost == Decimal("0.0015")  # 100*10 + 50*10
    assert price_unit(u, apart).tokens == 100


HISTORY = [
    {"model": "m", "inputPerMillion": 10, "outputPerMillion": 0},
    {"model": "m", "inputPerMillion": 20, "outputPerMillion": 0, "effectiveFrom": "2026-01-01"},
    {"model": "m", "inputPerMillion": 30, "outputPerMillion": 0, "effectiveFrom": "2026-06-01T00:00:00Z"},
]


@pytest.mark.parametrize(
    "attested_at, per_million",
    [
        ("2025-12-31T23:59:59.999Z", 10),
        ("2026-01-01T00:00:00.000Z", 20),  # in force from its first millisecond
        ("2026-03-15T12:00:00.000Z", 20),
        ("2026-06-01T01:00:00.000+02:00", 20),  # 2026-05-31T23:00Z
        ("2026-07-01T00:00:00.000Z", 30),
        (None, 30),  # missing attestedAt: the newest entry
        ("garbage", 30),
    ],
)
@pytest.mark.parametrize("order", [1, -1])
def test_price_history(attested_at, per_million, order):
    p = policy(HISTORY[::order])
    u = usage(model="m", inputTokens=1_000_000)
    if attested_at is None:
        del u["attestedAt"]
    else:
        u["attestedAt"] = attested_at
    got = price_unit(u, p)
    assert got.basis == "exact" and got.cost == per_million


def test_before_every_dated_entry_falls_back_to_default_or_unpriced():
    dated = [{"model": "m", "inputPerMillion": 20, "outputPerMillion": 0, "effectiveFrom": "2026-01-01"}]
    u = usage(model="m", inputTokens=1_000_000, attestedAt="2025-06-01T00:00:00Z")
    assert price_unit(u, policy(dated)).basis == "unpriced"
    got = price_unit(u, policy(dated, default={"inputPerMillion": 3, "outputPerMillion": 0}))
    assert got.basis == "default" and got.cost == 3


def test_duplicates_later_entry_wins_like_cw():
    p = policy(
        [
            {"model": "m", "inputPerMillion": 1, "outputPerMillion": 0},
            {"model": "m", "inputPerMillion": 2, "outputPerMillion": 0},
        ]
    )
    assert price_unit(usage(model="m", inputTokens=1_000_000), p).cost == 2
    same_day = policy(
        [
            {"model": "m", "inputPerMillion": 5, "outputPerMillion": 0, "effectiveFrom": "2026-01-01"},
            {"model": "m", "inputPerMillion": 6, "outputPerMillion": 0, "effectiveFrom": "2026-01-01"},
        ]
    )
    assert price_unit(usage(model="m", inputTokens=1_000_000), same_day).cost == 6


def test_odd_token_values():
    p = policy([{"model": "m", "inputPerMillion": 1, "outputPerMillion": 1}])
    # negatives and fractions CW stored are charged as CW charges them
    assert usage_cost(usage(inputTokens=-5, outputTokens=1.5), p.models[0]) == Decimal("-0.0000035")
    # non-numbers (which CW never stores) count 0; true counts 1 as in JavaScript arithmetic
    assert usage_cost(usage(inputTokens="12", outputTokens=None), p.models[0]) == 0
    assert usage_cost(usage(inputTokens=True), p.models[0]) == Decimal("0.000001")
    assert usage_cost({}, p.models[0]) == 0


def test_prices_are_exact_decimals():
    p = policy([{"model": "m", "inputPerMillion": 0.1, "outputPerMillion": 0.2}])
    # 0.1 + 0.2 per token-million, for exactly 3 million tokens each: no binary drift
    got = price_unit(usage(model="m", inputTokens=3_000_000, outputTokens=3_000_000), p).cost
    assert got == Decimal("0.9") and isinstance(got, Decimal)


# -- long-context tiers and one-hour cache writes --------------------------------

TIERED = {
    "model": "m",
    "inputPerMillion": 3,
    "outputPerMillion": 15,
    "cacheReadPerMillion": Decimal("0.3"),
    "cacheWritePerMillion": Decimal("3.75"),
    "tiers": [
        {"aboveInputTokens": 200000, "inputPerMillion": 6, "outputPerMillion": Decimal("22.5")},
        {"aboveInputTokens": 500000, "inputPerMillion": 9},
    ],
}


@pytest.mark.parametrize(
    "fields,want",
    [
        # 200,000 is not *more than* 200,000: base prices. 200000*3 + 1000*15 = 615000
        ({"inputTokens": 200000, "outputTokens": 1000}, "0.615"),
        # one token more: every token at the tier price. 200001*6 + 1000*22.5 = 1222506
        ({"inputTokens": 200001, "outputTokens": 1000}, "1.222506"),
        # the prompt counts cache tokens too (input apart from them): 150000+40000+20000 = 210000 > 200000;
        # cache prices are not in the tier and stay: 150000*6 + 1000*22.5 + 40000*0.3 + 20000*3.75 = 1009500
        (
            {"inputTokens": 150000, "outputTokens": 1000, "cacheReadTokens": 40000, "cacheWriteTokens": 20000},
            "1.0095",
        ),
        # above both tiers: input from the higher, output from the lower. 600000*9 + 10*22.5 = 5400225
        ({"inputTokens": 600000, "outputTokens": 10}, "5.400225"),
    ],
)
def test_tiers_price_every_token_of_a_long_prompt(fields, want):
    assert price_unit(usage(model="m", **fields), policy([TIERED])).cost == Decimal(want)


def test_tier_threshold_counts_the_input_alone_when_it_includes_cached_tokens():
    p = policy([{**TIERED, "inputIncludesCachedTokens": True}])
    # inputTokens 210000 already holds the 40000 cached ones: prompt 210000 > 200000;
    # fresh 170000*6 + 40000*0.3 + 0 output = 1032000
    assert price_unit(usage(model="m", inputTokens=210000, cacheReadTokens=40000), p).cost == Decimal("1.032")
    # 190000 with 40000 cached: not above the tier
    assert price_unit(usage(model="m", inputTokens=190000, cacheReadTokens=40000), p).cost == Decimal("0.462")


def test_one_hour_cache_writes():
    entry = {"model": "m", "inputPerMillion": 5, "outputPerMillion": 25, "cacheWritePerMillion": Decimal("6.25")}
    u = usage(model="m", inputTokens=0, outputTokens=0, cacheWriteTokens=1000, cacheWrite1hTokens=400)
    # with a 1-hour price: 600*6.25 + 400*10 = 7750 per million
    assert price_unit(u, policy([{**entry, "cacheWrite1hPerMillion": 10}])).cost == Decimal("0.00775")
    # without one: every write at the cache write price, as CW prices cacheWriteTokens: 1000*6.25
    assert price_unit(u, policy([entry])).cost == Decimal("0.00625")


@pytest.mark.parametrize(
    "tiers,field",
    [
        ({"x": 1}, "models[0].tiers"),
        ([{"inputPerMillion": 1}], "models[0].tiers[0].aboveInputTokens"),
        ([{"aboveInputTokens": -1, "inputPerMillion": 1}], "models[0].tiers[0].aboveInputTokens"),
        ([{"aboveInputTokens": 1.5, "inputPerMillion": 1}], "models[0].tiers[0].aboveInputTokens"),
        ([{"aboveInputTokens": 10}], "models[0].tiers[0]"),
        ([{"aboveInputTokens": 10, "inputPerMilion": 1}], "models[0].tiers[0].inputPerMilion"),
        ([{"aboveInputTokens": 10, "outputPerMillion": -2}], "models[0].tiers[0].outputPerMillion"),
        (
            [{"aboveInputTokens": 10, "inputPerMillion": 1}, {"aboveInputTokens": 10, "inputPerMillion": 2}],
            "models[0].tiers[1].aboveInputTokens",
        ),
    ],
)
def test_bad_tiers_are_refused_naming_the_field(tiers, field):
    with pytest.raises(PolicyError) as err:
        policy([{"model": "m", "inputPerMillion": 1, "outputPerMillion": 2, "tiers": tiers}])
    assert f"SRC: {field} " in err.value.message


def test_a_tiered_policy_file_loads_and_matches_the_schema(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"schemaVersion": 1, "models": [TIERED]}, default=str).replace('"0.3"', "0.3"))
    doc = json.loads(f.read_text())
    doc["models"][0]["cacheWritePerMillion"] = 3.75
    doc["models"][0]["tiers"][0]["outputPerMillion"] = 22.5
    f.write_text(json.dumps(doc))
    p = load_pricing_policy(str(f), tmp_path)
    assert p is not None and p.models[0].tiers[1].above_input_tokens == 500000
    bad = tmp_path / "bad.json"
    doc["models"][0]["tiers"][0]["aboveInputTokens"] = "200000"
    bad.write_text(json.dumps(doc))
    with pytest.raises(PolicyError):
        load_pricing_policy(str(bad), tmp_path)


# -- the core's check is at least as strict as the schema ------------------------------------------------------
# cw checks a policy with validate_policy only; this property is why the schema need not be run as well.

_ANY = st.sampled_from([None, True, False, 0, 1, -1, 2.5, -0.5, 10**20, "", "x", "1", "2026-01-01", [], {}, {"a": 1}])
_PRICE_KEYS = (
    "inputPerMillion",
    "outputPerMillion",
    "cacheReadPerMillion",
    "cacheWritePerMillion",
    "cacheWrite1hPerMillion",
    "reasoningPerMillion",
)
_DATES = st.sampled_from(["2026-01-01", "2026-01-01T00:00Z", "2026-01-01T10:00:00.5+02:00", "2026-1-1", "soon", ""])
_TIER = st.dictionaries(st.sampled_from(["aboveInputTokens", *_PRICE_KEYS, "other"]), _ANY | st.integers(0, 10**6))


def _fields(extra: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    value = _ANY | st.integers(0, 100) | st.decimals(0, 100, places=3) | _DATES | st.lists(_TIER, max_size=2)
    keys = st.sampled_from(
        [*_PRICE_KEYS, "tiers", "inputIncludesCachedTokens", "outputIncludesReasoningTokens", *extra]
    )
    base = st.fixed_dictionaries({"inputPerMillion": st.integers(0, 9), "outputPerMillion": st.integers(0, 9)})
    return st.tuples(base, st.dictionaries(keys, value, max_size=4), st.lists(st.sampled_from(_PRICE_KEYS[:2]))).map(
        lambda t: {k: v for k, v in {**t[0], **t[1]}.items() if k not in t[2]}
    )


_MODEL = st.tuples(_fields(("pricesTakenOn", "effectiveFrom")), st.sampled_from(["m", "claude", "", 3, None])).map(
    lambda t: {"model": t[1], **t[0]}
)
_POLICY = st.fixed_dictionaries(
    {"schemaVersion": st.sampled_from([1, 1, 1, 2, "1", 1.0]), "models": st.lists(_MODEL, max_size=3)},
    optional={
        "id": _ANY,
        "currency": _ANY,
        "pricesTakenOn": _DATES | _ANY,
        "generator": _ANY,
        "defaultPrice": st.none() | _fields(("effectiveFrom",)),
        "description": _ANY,
        "source": _ANY,
    },
)


@settings(max_examples=600, deadline=None)
@given(doc=_POLICY)
def test_a_policy_the_core_accepts_the_schema_accepts(doc):
    decoded = msgspec.json.Decoder(float_hook=Decimal).decode(msgspec.json.encode(doc))  # as cw reads files
    try:
        validate_policy(decoded, "SRC")
    except PolicyError:
        return
    assert list(_validator().iter_errors(decoded)) == []


def test_the_schema_check_cw_runs_on_the_policies_it_writes():
    from cw.shell.policies import schema_problem

    assert schema_problem(json.loads(manifest_path("pricing.policy.json").read_text())) is None
    got = schema_problem({"schemaVersion": 1, "models": [{"model": "m", "inputPerMillion": -1, "outputPerMillion": 0}]})
    assert got is not None and got.startswith("models[0].inputPerMillion") and "-1" in got
