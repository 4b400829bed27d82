"""cw pricing import --from genai-prices: the mapping, checked against genai-prices' own arithmetic."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

genai_prices = pytest.importorskip("genai_prices")
from genai_prices import types as gt  # noqa: E402

from cw.core.priceimport import build_policy  # noqa: E402
from cw.core.pricing import price_unit, validate_policy  # noqa: E402
from cw.model.errors import UsageError  # noqa: E402
from cw.shell.genai import bundled_policy_text, load_genai_prices  # noqa: E402
from cw.shell.resources import manifest_path  # noqa: E402

D = Decimal


def _model(mid: str, prices, *, match=None, variants=None) -> gt.ModelInfo:
    return gt.ModelInfo(id=mid, match=match or gt.ClauseEquals(equals=mid), prices=prices, price_variants=variants)


def _provider(pid: str, models, extractors=None) -> gt.Provider:
    return gt.Provider(id=pid, name=pid, api_pattern="x", models=models, extractors=extractors)


ANTHROPIC_STYLE = [
    gt.UsageExtractor(
        root="usage",
        mappings=[
            gt.UsageExtractorMapping(path="input_tokens", dest="input_tokens"),
            gt.UsageExtractorMapping(path="cache_read_input_tokens", dest="input_tokens", required=False),
            gt.UsageExtractorMapping(path="cache_read_input_tokens", dest="cache_read_tokens", required=False),
            gt.UsageExtractorMapping(path="output_tokens", dest="output_tokens"),
        ],
    )
]
GOOGLE_STYLE = [
    gt.UsageExtractor(
        root="usage",
        mappings=[
            gt.UsageExtractorMapping(path="promptTokenCount", dest="input_tokens"),
            gt.UsageExtractorMapping(path="cachedContentTokenCount", dest="cache_read_tokens", required=False),
            gt.UsageExtractorMapping(path="candidatesTokenCount", dest="output_tokens"),
            gt.UsageExtractorMapping(path="thoughtsTokenCount", dest="output_tokens", required=False),
            gt.UsageExtractorMapping(path="thoughtsTokenCount", dest="output_reasoning_tokens", required=False),
        ],
    )
]


def _build(providers, **kw):
    return build_policy(providers, version="9.9", taken_on="2026-12-01", **kw)


def test_prices_tiers_history_and_flags_map_as_the_data_defines_them():
    tiered = gt.ModelPrice(
        input_mtok=gt.TieredPrices(base=D("3"), tiers=[gt.Tier(start=200000, price=D("6"))]),
        output_mtok=gt.TieredPrices(base=D("15"), tiers=[gt.Tier(start=200000, price=D("22.5"))]),
        cache_read_mtok=D("0.30"),
        cache_write_mtok=D("3.75"),
        cache_write_1h_mtok=D("6"),
        web_searches_kcount=D("10"),
    )
    history = [
        gt.ConditionalPrice(prices=gt.ModelPrice(input_mtok=D("10"), output_mtok=D("40"))),
        gt.ConditionalPrice(
            constraint=gt.StartDateConstraint(start_date=date(2026, 3, 13)),
            prices=gt.ModelPrice(input_mtok=D("5"), output_mtok=D("25")),
        ),
    ]
    res = _build(
        [
            _provider(
                "a",
                [
                    _model(
                        "big",
                        tiered,
                        match=gt.ClauseOr(or_=[gt.ClauseEquals(equals="big"), gt.ClauseEquals(equals="Big-2026")]),
                    ),
                    _model("dated", history),
                ],
                ANTHROPIC_STYLE,
            ),
            _provider("g", [_model("gem", gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2")))], GOOGLE_STYLE),
        ]
    )
    models = res.policy["models"]
    big = {
        "model": "big",
        "inputPerMillion": D("3"),
        "outputPerMillion": D("15"),
        "cacheReadPerMillion": D("0.3"),
        "cacheWritePerMillion": D("3.75"),
        "cacheWrite1hPerMillion": D("6"),
        "inputIncludesCachedTokens": False,
        "outputIncludesReasoningTokens": True,
        "tiers": [{"aboveInputTokens": 200000, "inputPerMillion": D("6"), "outputPerMillion": D("22.5")}],
    }
    assert models[0] == big
    assert models[1] == {**big, "model": "big-2026"}  # the exact alias, lower case as genai-prices matches
    # history: the first period has no start (genai-prices uses it for anything earlier too);
    # no cache price while the provider reports cache apart from input: input price, as genai-prices charges
    base = {"inputIncludesCachedTokens": False, "outputIncludesReasoningTokens": True}
    assert models[2] == {
        "model": "dated",
        "inputPerMillion": D("10"),
        "outputPerMillion": D("40"),
        "cacheReadPerMillion": D("10"),
        "cacheWritePerMillion": D("10"),
        **base,
    }
    assert models[3]["effectiveFrom"] == "2026-03-13" and models[3]["inputPerMillion"] == D("5")
    # Google-style: the prompt includes cached tokens, thinking is reported apart from output
    assert models[4] == {
        "model": "gem",
        "inputPerMillion": D("1"),
        "outputPerMillion": D("2"),
        "inputIncludesCachedTokens": True,
        "outputIncludesReasoningTokens": False,
    }
    assert res.not_carried == [{"model": "big", "provider": "a", "prices": ["web_searches_kcount"]}]
    validate_policy(res.policy, "SRC")


def test_what_cannot_be_carried_is_reported_not_guessed():
    tod = [
        gt.ConditionalPrice(prices=gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2"))),
        gt.ConditionalPrice(
            constraint=gt.TimeOfDateConstraint(start_time=time(16, 30), end_time=time(0, 30)),
            prices=gt.ModelPrice(input_mtok=D("0.5"), output_mtok=D("1")),
        ),
    ]
    out_of_order = [
        gt.ConditionalPrice(
            constraint=gt.StartDateConstraint(start_date=date(2026, 5, 1)),
            prices=gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2")),
        ),
        gt.ConditionalPrice(
            constraint=gt.StartDateConstraint(start_date=date(2026, 6, 1)),
            prices=gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2")),
        ),
        gt.ConditionalPrice(
            constraint=gt.StartDateConstraint(start_date=date(2026, 5, 15)),
            prices=gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2")),
        ),
    ]
    variant = [gt.PriceVariant(when={"processing": "batch"}, prices=gt.ModelPrice(input_mtok=D("0.5")))]
    res = _build(
        [
            _provider(
                "p",
                [
                    _model("offpeak", tod),
                    _model("odd", out_of_order),
                    _model("embed", gt.ModelPrice(input_mtok=D("0.1"))),
                    _model("batchy", gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2")), variants=variant),
                ],
            ),
            _provider("q", [_model("batchy", gt.ModelPrice(input_mtok=D("7"), output_mtok=D("7")))]),
        ]
    )
    assert [m["model"] for m in res.policy["models"]] == ["offpeak", "batchy"]
    assert [(s["model"], s["reason"]) for s in res.skipped] == [
        ("odd", "its price changes are not in date order"),
        ("embed", "no input or no output token price"),
    ]
    offpeak, batchy = res.not_carried
    assert "16:30:00-00:30:00 UTC" in offpeak["notes"][0]
    assert batchy["variants"] == ["processing=batch"]
    assert res.shadowed == [{"model": "batchy", "provider": "q", "keptFrom": "p"}]
    assert res.policy["models"][1]["inputPerMillion"] == D("1")  # the first provider's price


def test_provider_and_model_selection():
    provs = [
        _provider("a", [_model(m, gt.ModelPrice(input_mtok=D("1"), output_mtok=D("2"))) for m in ("x-1", "x-2", "y")]),
        _provider("b", [_model("x-1", gt.ModelPrice(input_mtok=D("9"), output_mtok=D("9")))]),
    ]
    res = _build(provs, provider_ids=["b", "a"], model_globs=["x-*"])
    assert [(m["model"], m["inputPerMillion"]) for m in res.policy["models"]] == [
        ("x-1", D("9")),
        ("x-2", D("1")),
    ]
    with pytest.raises(UsageError, match='Unknown --provider "c": genai-prices lists a, b'):
        _build(provs, provider_ids=["c"])
    with pytest.raises(UsageError, match='--model "z\\*" matches no model'):
        _build(provs, model_globs=["x-*", "z*"])


# -- against genai-prices' own prices -------------------------------------------------------------


def _genai_model(providers, origin):
    pid, mid = origin
    provider = next(p for p in providers if p.id == pid)
    return provider, next(m for m in provider.models if m.id == mid)


def _cw_usage(entry, ts, inp, cache_read, cache_write, write_1h, out, reasoning):
    return {
        "model": entry.model,
        "attestedAt": ts.isoformat().replace("+00:00", "Z"),
        "inputTokens": inp if entry.input_includes_cached_tokens else inp - cache_read - cache_write,
        "cacheReadTokens": cache_read,
        "cacheWriteTokens": cache_write,
        "cacheWrite1hTokens": write_1h,
        "outputTokens": out if entry.output_includes_reasoning_tokens else out - reasoning,
        "reasoningTokens": reasoning,
    }


@pytest.mark.parametrize("providers", [("anthropic", "openai", "google"), ()], ids=["bundled-providers", "all"])
def test_every_imported_entry_prices_usage_as_genai_prices_does(providers):
    """Random usage and dates on every imported model: cw's cost equals genai-prices' calc_price, exactly.

    genai-prices counts input including cache tokens and output including reasoning; the usage handed
    to cw is what the provider would report, following the entry's inputIncludesCachedTokens and
    outputIncludesReasoningTokens. Models with per-request prices (not carried) are left aside.
    """
    version, data = load_genai_prices()
    res = build_policy(data, version=version, taken_on="2026-12-01", provider_ids=providers)
    policy = validate_policy(res.policy, "SRC")
    per_request = {n["model"] for n in res.not_carried if "requests_kcount" in n.get("prices", []) or n.get("notes")}
    rng = random.Random(13)
    checked = 0
    for name, origin in sorted(res.origin.items()):
        if origin[1] in per_request:
            continue
        provider, model = _genai_model(data, origin)
        for _ in range(6 if providers else 2):
            inp = rng.choice([0, 7, 1000, 128000, 200000, 200001, 272001, 1_000_001])
            cache_read = rng.randint(0, inp)
            cache_write = rng.randint(0, inp - cache_read)
            write_1h = rng.randint(0, cache_write)
            out = rng.randint(0, 40000)
            reasoning = rng.randint(0, out)
            ts = datetime(2025, 1, 1, 12, tzinfo=UTC) + timedelta(days=rng.randint(0, 1000), hours=rng.randint(0, 11))
            want = model.calc_price(
                genai_prices.Usage(
                    input_tokens=inp,
                    cache_read_tokens=cache_read,
                    cache_write_tokens=cache_write,
                    cache_write_1h_tokens=write_1h,
                    output_tokens=out,
                    output_reasoning_tokens=reasoning,
                ),
                provider,
                genai_request_timestamp=ts,
            ).total_price
            at = ts.isoformat().replace("+00:00", "Z")
            entry = policy.entry_for(name, at)
            got = price_unit(_cw_usage(entry, ts, inp, cache_read, cache_write, write_1h, out, reasoning), policy)
            assert got.cost == want, (name, origin, at, inp, cache_read, cache_write, write_1h, out, reasoning)
            checked += 1
    assert checked > 300


def test_the_bundled_policy_is_exactly_what_the_locked_genai_prices_gives():
    bundled = manifest_path("pricing.policy.json").read_text(encoding="utf-8")
    doc = json.loads(bundled)
    version, _ = load_genai_prices()
    assert doc["generator"] == {
        "from": "genai-prices",
        "version": version,
        "newestPriceChange": doc["generator"]["newestPriceChange"],
    }
    assert bundled == bundled_policy_text(doc["pricesTakenOn"]), "regenerate: python -m cw.shell.genai <date>"


# -- the verb ---------------------------------------------------------------------------------------


def test_pricing_import_writes_a_policy_cw_loads(cw, repo):
    out = cw.json(
        "pricing",
        "import",
        "--from",
        "genai-prices",
        "--provider",
        "anthropic",
        "--model",
        "claude-opus-4-*",
        "-o",
        "p.json",
        "--now",
        "2026-12-01T08:00:00Z",
    )
    doc = json.loads((repo / "p.json").read_text())
    assert out["file"] == str(repo / "p.json") and out["models"] >= 1
    assert doc["pricesTakenOn"] == "2026-12-01" and f"genai-prices {out['from']['version']}" in doc["source"]
    assert {m["model"] for m in doc["models"]} >= {"claude-opus-4-8"}
    assert not any(m["model"].startswith(("claude-sonnet", "claude-haiku", "gpt-")) for m in doc["models"])
    cw.ok("metrics", "summary", "--pricing", "p.json")


@pytest.mark.parametrize(
    "args,said",
    [
        (("--from", "litellm", "-o", "p.json"), "--from"),
        (("--from", "genai-prices", "-o", "missing/p.json"), "does not exist"),
        (("--from", "genai-prices", "-o", "."), "is a directory"),
        (("--from", "genai-prices", "--provider", "nope", "-o", "p.json"), '--provider "nope"'),
        (("--from", "genai-prices", "--model", "zzz*", "-o", "p.json"), '--model "zzz*"'),
        (("--from", "genai-prices", "--default-price", "3", "x", "-o", "p.json"), "--default-price"),
        (("--from", "genai-prices", "--now", "soon", "-o", "p.json"), "--now"),
    ],
)
def test_bad_import_arguments_exit_2_and_write_nothing(cw, repo, args, said):
    res = cw("pricing", "import", *args)
    assert res.exit_code == 2 and said in res.stderr, res.stderr
    assert not (repo / "p.json").exists()


def test_a_missing_extra_names_it(cw, repo, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "genai_prices", None)  # import genai_prices now raises ImportError
    res = cw("pricing", "import", "--from", "genai-prices", "-o", "p.json")
    assert res.exit_code == 2 and "optional extra 'prices'" in res.stderr and "[prices]" in res.stderr
    assert not (repo / "p.json").exists()
