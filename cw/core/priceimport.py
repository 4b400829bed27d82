"""A cw pricing policy from genai-prices data (``cw pricing import --from genai-prices``).

The shell hands in genai-prices' provider objects as they are (this module
never imports the package; it reads the attributes its data classes define)
and gets back a policy document and a report of what could not be carried.

How genai-prices data maps onto cw's policy format:

* One ``models[]`` entry per model and price period, named by the model's
  genai-prices ``id``, and the same entries again for every exact name its
  match rule lists (``equals``, alone or in an ``or``): cw matches model ids
  exactly, so genai-prices' prefix, substring and pattern rules are not carried.
* Prices: ``input_mtok`` -> ``inputPerMillion``, ``output_mtok`` ->
  ``outputPerMillion``, ``cache_read_mtok`` -> ``cacheReadPerMillion``,
  ``cache_write_mtok`` (else ``cache_write_5m_mtok``) ->
  ``cacheWritePerMillion``, ``cache_write_1h_mtok`` ->
  ``cacheWrite1hPerMillion``, ``output_reasoning_mtok`` ->
  ``reasoningPerMillion``. Where the provider reports cache tokens apart
  from input (see below) and the data has no cache price, the input price
  is written as the cache price: genai-prices charges them as input. A
  model without an input or an output price is
  left out; other prices (audio, images, searches, requests, ...) are listed
  in the report as not carried, since cw's usage records have no count for them.
* Tiered prices (``TieredPrices``: a base and ``Tier(start, price)``; a
  prompt of *more than* ``start`` input tokens pays the tier price for every
  token of that kind) become cw ``tiers``: one tier per distinct ``start``,
  listing the kinds that change there. genai-prices counts the prompt
  including cached tokens, which is what cw's tier threshold counts too.
* Price history: a model's ``ConditionalPrice`` list with start-date
  constraints becomes one entry per period, ``effectiveFrom`` the start date
  (genai-prices applies a start date from 00:00 UTC that day, as cw reads a
  date). The first period has no ``effectiveFrom``: genai-prices uses it for
  anything earlier too. Daily time-window prices (off-peak discounts) are
  left out and reported; a list cw cannot read the same way (dates out of
  order, an always-on price after dated ones) leaves the model out.
* Request-specific variants (batch, service tiers, regions) are not carried:
  the policy holds each model's standard prices.
* ``inputIncludesCachedTokens`` / ``outputIncludesReasoningTokens`` per model
  come from the provider's usage extractor (its ``default`` flavour, else its
  first): genai-prices adds the provider's cache counts into its input count
  when the provider reports them apart (Anthropic), and its reasoning count
  into output when the provider reports that apart (Google). A provider
  without an extractor keeps genai-prices' own convention (both included).
* Of two selected providers listing the same model id, the first selected
  (in ``--provider`` order, else the data's order) wins; the other is
  reported as shadowed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cw.model.errors import UsageError

# genai-prices price key -> cw policy key (the first present key of a tuple wins)
_KEYS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("input_mtok",), "inputPerMillion"),
    (("output_mtok",), "outputPerMillion"),
    (("cache_read_mtok",), "cacheReadPerMillion"),
    (("cache_write_mtok", "cache_write_5m_mtok"), "cacheWritePerMillion"),
    (("cache_write_1h_mtok",), "cacheWrite1hPerMillion"),
    (("output_reasoning_mtok",), "reasoningPerMillion"),
)
_CARRIED = {k for keys, _ in _KEYS for k in keys}
_CACHE_DESTS = ("cache_read_tokens", "cache_write_tokens")


@dataclass
class ImportResult:
    """The policy document and what the import could not carry."""

    policy: dict[str, Any]
    models: int = 0
    entries: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    not_carried: list[dict[str, Any]] = field(default_factory=list)
    shadowed: list[dict[str, str]] = field(default_factory=list)
    origin: dict[str, tuple[str, str]] = field(default_factory=dict)  # entry name -> (provider id, model id)


def _num(d: Decimal) -> Decimal:
    """A price without trailing zeros or exponent (``Decimal('1.50')`` -> ``1.5``)."""
    return Decimal(format(d.normalize(), "f"))


def _attr_items(model_price: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(model_price).items() if not k.startswith("_") and v is not None}


def _includes(provider: Any) -> tuple[bool, bool]:
    """(inputIncludesCachedTokens, outputIncludesReasoningTokens) from the provider's usage extractor."""
    extractors = list(getattr(provider, "extractors", None) or [])
    if not extractors:
        return True, True
    ex = next((e for e in extractors if getattr(e, "api_flavor", None) == "default"), extractors[0])
    dests: dict[str, set[str]] = {}
    for m in ex.mappings:
        dests.setdefault(repr(m.path), set()).add(m.dest)
    input_apart = any("input_tokens" in d and any(c in d for c in _CACHE_DESTS) for d in dests.values())
    reasoning_apart = any({"output_tokens", "output_reasoning_tokens"} <= d for d in dests.values())
    return not input_apart, not reasoning_apart


def _entry(model_id: str, model_price: Any, flags: tuple[bool, bool]) -> tuple[dict[str, Any] | None, list[str]]:
    """One cw entry from one genai-prices ``ModelPrice`` (None when it lacks an input or output price)."""
    items = _attr_items(model_price)
    entry: dict[str, Any] = {"model": model_id}
    tiers: dict[int, dict[str, Decimal]] = {}
    for keys, cw_key in _KEYS:
        key = next((k for k in keys if k in items), None)
        if key is None:
            continue
        value = items[key]
        if hasattr(value, "tiers"):
            entry[cw_key] = _num(value.base)
            for tier in value.tiers:
                tiers.setdefault(int(tier.start), {})[cw_key] = _num(tier.price)
        else:
            entry[cw_key] = _num(value)
    if "inputPerMillion" not in entry or "outputPerMillion" not in entry:
        return None, []
    if not flags[0]:
        # genai-prices counts cache tokens inside its input count and prices the ones without a price of
        # their own at the input price; cw, told the provider reports them apart, says so explicitly.
        for cw_key in ("cacheReadPerMillion", "cacheWritePerMillion"):
            if cw_key not in entry:
                entry[cw_key] = entry["inputPerMillion"]
                for prices in tiers.values():
                    if "inputPerMillion" in prices:
                        prices[cw_key] = prices["inputPerMillion"]
    entry["inputIncludesCachedTokens"], entry["outputIncludesReasoningTokens"] = flags
    if tiers:
        entry["tiers"] = [{"aboveInputTokens": start, **tiers[start]} for start in sorted(tiers)]
    # the secondary key of a pair (cache_write_5m_mtok beside cache_write_mtok) is not carried either
    used = {next(k for k in keys if k in items) for keys, _ in _KEYS if any(k in items for k in keys)}
    return entry, sorted(k for k in items if k not in used)


def exact_names(model: Any) -> list[str]:
    """The model's id, then every other exact name (lower case) its match rule lists."""
    names = [model.id]
    m = model.match
    clauses = list(getattr(m, "or_", None) or [m])
    for c in clauses:
        name = getattr(c, "equals", None)
        if isinstance(name, str) and name.lower() not in names:
            names.append(name.lower())
    return names


def _periods(model: Any) -> tuple[list[tuple[str | None, Any]], list[str], str | None]:
    """(effectiveFrom, ModelPrice) per period, the notes on what was left out, or a reason to skip the model."""
    prices = model.prices
    if not isinstance(prices, list):
        return [(None, prices)], [], None
    periods: list[tuple[str | None, Any]] = []
    notes: list[str] = []
    last = ""
    for i, cp in enumerate(prices):
        c = cp.constraint
        if c is None:
            if i:
                return [], [], "an always-on price follows dated ones (cw cannot read that order the same way)"
            periods.append((None, cp.prices))
        elif hasattr(c, "start_date"):
            day: date = c.start_date
            start = day.isoformat()
            if start <= last:
                return [], [], "its price changes are not in date order"
            last = start
            periods.append((None if i == 0 else start, cp.prices))
        elif hasattr(c, "start_time"):
            notes.append(
                f"daily time-window price {c.start_time.isoformat()}-{c.end_time.isoformat()} UTC "
                "(off-peak) left out: units in that window are priced at the standard price"
            )
        else:
            return [], [], f"a price condition cw does not know ({type(c).__name__})"
    if not periods:
        return [], [], "no price without a time-of-day condition"
    return periods, notes, None


def newest_price_change(providers: Iterable[Any]) -> str | None:
    """The latest start date of any dated price change in the data (ISO date), or None."""
    newest: str | None = None
    for p in providers:
        for m in p.models:
            if isinstance(m.prices, list):
                for cp in m.prices:
                    d = getattr(cp.constraint, "start_date", None)
                    if d is not None and (newest is None or d.isoformat() > newest):
                        newest = d.isoformat()
    return newest


def select_providers(providers: Sequence[Any], wanted: Sequence[str]) -> list[Any]:
    """The providers named (in the order named), or all of them; an unknown id is a usage error."""
    if not wanted:
        return list(providers)
    by_id = {p.id: p for p in providers}
    out = []
    for pid in wanted:
        if pid not in by_id:
            known = ", ".join(sorted(by_id))
            raise UsageError(f'Unknown --provider "{pid}": genai-prices lists {known}.')
        if by_id[pid] not in out:
            out.append(by_id[pid])
    return out


def build_policy(
    providers: Sequence[Any],
    *,
    version: str,
    taken_on: str,
    provider_ids: Sequence[str] = (),
    model_globs: Sequence[str] = (),
    policy_id: str | None = None,
    default_price: tuple[Decimal, Decimal] | None = None,
) -> ImportResult:
    """The cw policy for the selected providers and models (see the module docstring)."""
    chosen = select_providers(providers, provider_ids)
    matched = dict.fromkeys(model_globs, 0)
    seen: dict[str, str] = {}
    result = ImportResult(policy={})
    models: list[dict[str, Any]] = []
    for provider in chosen:
        flags = _includes(provider)
        for model in provider.models:
            if model_globs:
                hits = [g for g in model_globs if fnmatch.fnmatchcase(model.id, g)]
                if not hits:
                    continue
                for g in hits:
                    matched[g] += 1
            if model.id in seen:
                result.shadowed.append({"model": model.id, "provider": provider.id, "keptFrom": seen[model.id]})
                continue
            periods, notes, reason = _periods(model)
            if reason is not None:
                result.skipped.append({"model": model.id, "provider": provider.id, "reason": reason})
                continue
            entries = []
            left_out: set[str] = set()
            for start, price in periods:
                entry, extra = _entry(model.id, price, flags)
                if entry is None:
                    break
                if start is not None:
                    entry["effectiveFrom"] = start
                entries.append(entry)
                left_out.update(extra)
            if len(entries) != len(periods):
                result.skipped.append(
                    {"model": model.id, "provider": provider.id, "reason": "no input or no output token price"}
                )
                continue
            result.models += 1
            for name in exact_names(model):
                if name in seen:
                    if name != model.id:
                        result.shadowed.append({"model": name, "provider": provider.id, "keptFrom": seen[name]})
                    continue
                seen[name] = provider.id
                result.origin[name] = (provider.id, model.id)
                models.extend({**e, "model": name} for e in entries)
            if left_out or notes or getattr(model, "price_variants", None):
                item: dict[str, Any] = {"model": model.id, "provider": provider.id}
                if left_out:
                    item["prices"] = sorted(left_out)
                if getattr(model, "price_variants", None):
                    item["variants"] = sorted(
                        {",".join(f"{k}={v}" for k, v in pv.when.items()) for pv in model.price_variants}
                    )
                if notes:
                    item["notes"] = notes
                result.not_carried.append(item)
    empty = [g for g, n in matched.items() if n == 0]
    if empty:
        raise UsageError(f'--model "{empty[0]}" matches no model of the selected providers.')
    if not models:
        raise UsageError("The selection holds no model cw can price (each needs an input and an output token price).")
    names = ", ".join(p.id for p in chosen) if provider_ids else "every provider"
    newest = newest_price_change(providers)
    doc: dict[str, Any] = {
        "schemaVersion": 1,
        "id": policy_id or f"genai-prices-{version}",
        "currency": "USD",
        "description": (
            f"Imported by cw pricing import from genai-prices {version} ({names}"
            + (f"; models {', '.join(model_globs)}" if model_globs else "")
            + "). USD per million tokens at each model's standard prices: batch, service-tier and regional "
            "variants, daily off-peak prices and non-token charges (searches, audio, images) are not carried. "
            "Model ids match exactly. Regenerate it rather than editing it by hand."
            + (" defaultPrice was given at import and is not from genai-prices." if default_price else "")
        ),
        "source": (
            f"genai-prices {version} (pydantic's price data, https://github.com/pydantic/genai-prices), "
            f"read on {taken_on}; the package records no compile date"
            + (f", and its newest dated price change is {newest}" if newest else "")
            + "."
        ),
        "pricesTakenOn": taken_on,
        "generator": {"from": "genai-prices", "version": version, "newestPriceChange": newest},
        "models": models,
    }
    if default_price is not None:
        doc["defaultPrice"] = {"inputPerMillion": default_price[0], "outputPerMillion": default_price[1]}
    result.policy = doc
    result.entries = len(models)
    return result
