"""Pricing policies and the price of one unit of attested usage.

A pricing policy is data (``manifest/pricing.policy.json`` is an editable
example). This module validates a parsed policy document and prices usage
records with it; reading the file is the shell's job (``cw.shell.policies``).

File format: CW's version 1, extended so that every file CW accepts with
sane prices stays valid::

    {"schemaVersion": 1, "id": "...", "currency": "USD",
     "models": [{"model": "some-model", "inputPerMillion": 5, "outputPerMillion": 25,
                 "cacheReadPerMillion": 0.5, "cacheWritePerMillion": 6.25,
                 "cacheWrite1hPerMillion": 10,                  (cw, optional)
                 "reasoningPerMillion": 25,                     (cw, optional)
                 "tiers": [{"aboveInputTokens": 200000,         (cw, optional)
                            "inputPerMillion": 10, "outputPerMillion": 37.5}],
                 "inputIncludesCachedTokens": false,            (cw, optional)
                 "outputIncludesReasoningTokens": true,         (cw, optional)
                 "effectiveFrom": "2026-10-07"}],               (cw, optional)
     "defaultPrice": {"inputPerMillion": 3, "outputPerMillion": 15, ...}}

Prices are per 1,000,000 tokens, non-negative JSON numbers, held as exact
``Decimal`` (the shell decodes JSON numbers straight to ``Decimal``; a float
handed in by another caller is read through its shortest repr). Unknown keys
are allowed, as in CW. cw refuses what CW silently accepted: negative or
non-numeric prices, a missing input or output price, a bad ``effectiveFrom``.

How one unit is priced (``price_unit``):

* The exact entry is the one whose ``model`` equals ``usage.model`` (string
  equality, no aliases) and that is in force at the unit's
  ``usage.attestedAt``: among that model's entries, the one with the latest
  ``effectiveFrom`` not after ``attestedAt``. An entry without
  ``effectiveFrom`` is in force from the beginning; of two entries with the
  same start (or both without one) the later in the file wins, which is CW's
  "the later entry wins" rule. A unit whose ``attestedAt`` is missing or
  unparseable is priced at the model's newest entry (the one in force last):
  every record CW or cw writes carries ``attestedAt``, so this only concerns
  hand-made records, and today's price is the least surprising reading. A
  unit attested before every entry of its model has no exact entry.
* Without an exact entry, ``defaultPrice`` prices it as ``default``
  (reported as ``estimated``); without either it is ``unpriced``.
* Cost = input + output + cache read + cache write (+ reasoning), each
  ``tokens × price / 1e6``, exact in ``Decimal``. Missing or non-numeric
  token fields count 0; ``true`` counts 1, as in JavaScript arithmetic.
* ``tiers`` (cw): long-context prices. A tier applies when the unit's whole
  prompt, ``inputTokens`` plus the cache read and write tokens unless the
  input count already includes them, is *more than* ``aboveInputTokens``; it
  then prices *every* token of the kinds it lists (not only those past the
  threshold), as the providers bill long prompts. Of several tiers that
  apply, the highest that lists a price kind sets it; a kind no applying
  tier lists keeps the entry's own price.
* ``cacheWrite1hPerMillion`` (cw): ``cacheWrite1hTokens`` are the part of
  ``cacheWriteTokens`` written with a one-hour lifetime (the rest are the
  default five-minute writes); with this price they are priced at it and
  the rest at ``cacheWritePerMillion``. Without it, every cache write is
  priced at ``cacheWritePerMillion``, as CW does.
* ``inputIncludesCachedTokens`` (default false, CW's reading): when true the
  cache read and cache write tokens are already inside ``inputTokens``, so
  the input price applies only to ``inputTokens - cacheRead - cacheWrite``
  (never below 0) and the cache tokens are priced at the cache prices, never
  twice. A cache price the entry leaves out then falls back to the input
  price, so included cache tokens are never free by omission. When false,
  cache tokens the entry has no price for are never priced at 0 (CW's
  reading): ``defaultPrice`` prices them (``default``) or the unit is
  ``unpriced`` (see ``price_unit``).
* ``outputIncludesReasoningTokens`` (default true): ``reasoningTokens`` are
  already inside ``outputTokens``; with a ``reasoningPerMillion`` that part
  of the output is priced at it (never twice), else they are informational.
  When false they are priced on top, at ``reasoningPerMillion`` if given,
  else the output price.

Token totals (``token_total``) follow CW: ``totalTokens`` when it is a
number, else input + output; cache and reasoning tokens are never added.
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal
from typing import Any, Literal, NamedTuple

import msgspec

from cw.core.fingerprint import js_truthy
from cw.core.numbers import PRICE_MAX, PRICE_MIN, is_iso_timestamp, is_number, parse_iso_ms, policy_number_problem
from cw.model.errors import PolicyError

POLICY_SCHEMA_VERSION = 1

#: Decimal context for money arithmetic: wide enough that no realistic cost is ever rounded.
MONEY_CONTEXT = Context(prec=60)

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ZERO = Decimal(0)
# (file key, Price attribute, required)
_PRICE_KEYS = (
    ("inputPerMillion", "input_per_million", True),
    ("outputPerMillion", "output_per_million", True),
    ("cacheReadPerMillion", "cache_read_per_million", False),
    ("cacheWritePerMillion", "cache_write_per_million", False),
    ("cacheWrite1hPerMillion", "cache_write_1h_per_million", False),
    ("reasoningPerMillion", "reasoning_per_million", False),
)
#: Price keys a tier may set (file key -> Price attribute).
TIER_PRICE_KEYS = {key: attr for key, attr, _ in _PRICE_KEYS}
_FLAG_KEYS = (
    ("inputIncludesCachedTokens", "input_includes_cached_tokens"),
    ("outputIncludesReasoningTokens", "output_includes_reasoning_tokens"),
)
_HINT = "Fix the pricing policy file (see schemas/pricing-policy.schema.json), or pass --pricing default."


class Tier(msgspec.Struct, frozen=True, kw_only=True):
    """Prices in force when a unit's whole prompt has more than ``above_input_tokens`` tokens."""

    above_input_tokens: int
    prices: tuple[tuple[str, Decimal], ...]  # (Price attribute, price), only the kinds this tier sets


class Price(msgspec.Struct, frozen=True, kw_only=True):
    """Per-million-token prices (``defaultPrice``, and the price part of every model entry)."""

    input_per_million: Decimal
    output_per_million: Decimal
    cache_read_per_million: Decimal | None = None
    cache_write_per_million: Decimal | None = None
    cache_write_1h_per_million: Decimal | None = None
    reasoning_per_million: Decimal | None = None
    input_includes_cached_tokens: bool = False
    output_includes_reasoning_tokens: bool = True
    tiers: tuple[Tier, ...] = ()

    def at_prompt(self, prompt_tokens: Decimal) -> Price:
        """The prices in force for a prompt of ``prompt_tokens`` tokens (the entry itself without tiers)."""
        if not self.tiers:
            return self
        changes: dict[str, Decimal] = {}
        for tier in self.tiers:  # ascending thresholds: a higher tier overrides a lower one
            if prompt_tokens > tier.above_input_tokens:
                changes.update(tier.prices)
        if not changes:
            return self
        return msgspec.structs.replace(self, **changes)


class ModelPrice(Price, frozen=True, kw_only=True):
    """One ``models[]`` entry: a model's prices, optionally in force from ``effective_from``."""

    model: str
    effective_from: str | None = None
    prices_taken_on: str | None = None  # when this entry's prices were read, if it says (else the policy's)


class PricingPolicy:
    """A validated pricing policy with its lookup index (build it with ``validate_policy``)."""

    __slots__ = ("_index", "_undated", "currency", "default_price", "id", "models", "prices_taken_on", "source")

    def __init__(
        self,
        *,
        id: str | None,
        currency: str | None,
        models: tuple[ModelPrice, ...],
        default_price: Price | None,
        source: str,
        prices_taken_on: str | None = None,
    ) -> None:
        self.id = id
        self.prices_taken_on = prices_taken_on
        self.currency = currency
        self.models = models
        self.default_price = default_price
        self.source = source
        index: dict[str, list[tuple[float, int, ModelPrice]]] = {}
        for pos, entry in enumerate(models):
            start = parse_iso_ms(entry.effective_from) if entry.effective_from else None
            index.setdefault(entry.model, []).append((-math.inf if start is None else start, pos, entry))
        for entries in index.values():
            entries.sort(key=lambda e: (e[0], e[1]))
        self._index = index
        # Models whose entries carry no effectiveFrom need no date: the last entry is always in force.
        self._undated = {m: e[-1][2] for m, e in index.items() if e[-1][0] == -math.inf}

    @property
    def report_currency(self) -> str:
        """``policy.currency || "USD"``."""
        return self.currency if self.currency is not None and js_truthy(self.currency) else "USD"

    def entry_for(self, model: Any, attested_at: Any) -> ModelPrice | None:
        """The exact entry for ``model`` in force at ``attested_at`` (see the module docstring)."""
        if not isinstance(model, str):
            return None
        undated = self._undated.get(model)
        if undated is not None:
            return undated
        entries = self._index.get(model)
        if not entries:
            return None
        at = parse_iso_ms(attested_at)
        if at is None:
            return entries[-1][2]
        for start, _, entry in reversed(entries):
            if start <= at:
                return entry
        return None

    def __repr__(self) -> str:
        return f"PricingPolicy(id={self.id!r}, models={len(self.models)}, source={self.source!r})"


class UnitPrice(NamedTuple):
    """How one usage record was priced: ``basis`` exact | default | unpriced, ``cost`` in policy currency."""

    basis: Literal["exact", "default", "unpriced"]
    cost: Decimal | None
    tokens: int | float
    model: Any
    price: Price | None


# ---------------------------------------------------------------------------
# Tokens and money
# ---------------------------------------------------------------------------


def token_number(v: Any) -> int | float:
    """A token field as CW's ``(v || 0)`` adds it: numbers as they are, ``true`` 1, anything else 0."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v if v == v else 0
    if isinstance(v, Decimal):
        return float(v) if v.is_finite() else 0
    return 0


def token_total(usage: Any) -> int | float:
    """CW's ``tokenTotal``: ``totalTokens`` when it is a number, else input + output."""
    if not isinstance(usage, dict):
        return 0
    total = usage.get("totalTokens")
    if is_number(total):
        return total if not isinstance(total, Decimal) else float(total)
    return token_number(usage.get("inputTokens")) + token_number(usage.get("outputTokens"))


def to_decimal(v: Any) -> Decimal:
    """An exact Decimal of a JSON number (floats through their shortest repr); non-numbers give 0."""
    if isinstance(v, Decimal):
        return v if v.is_finite() else Decimal(0)
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v)) if math.isfinite(v) else Decimal(0)
    return Decimal(0)


def usage_cost(usage: Any, price: Price) -> Decimal:
    """The exact cost of one usage record under one price (see the module docstring)."""
    terms = [cost for _, _, cost in _cost_terms(usage, price)]
    total = terms[0]
    for t in terms[1:]:
        total = MONEY_CONTEXT.add(total, t)  # exact: the sum's exponent is the terms' smallest, whatever the order
    return total.scaleb(-6, MONEY_CONTEXT)


def usage_cost_parts(usage: Any, price: Price) -> list[tuple[str, Decimal, Decimal]]:
    """``usage_cost`` term by term: ``(bucket, tokens, cost)``, whose costs add up exactly to it.

    Buckets: ``input`` (fresh input), ``cacheRead``, ``cacheWrite`` (five-minute writes, or every write
    without a one-hour price), ``cacheWrite1h``, ``output`` and ``reasoning`` (only where reasoning
    tokens are priced apart from the output). Buckets without tokens are included with 0.
    """
    return [(bucket, tokens, cost.scaleb(-6, MONEY_CONTEXT)) for bucket, tokens, cost in _cost_terms(usage, price)]


def _cost_terms(usage: Any, price: Price) -> list[tuple[str, Decimal, Decimal]]:
    """(bucket, tokens, tokens × price per million) for every term of a unit's cost."""
    u = usage if isinstance(usage, dict) else {}
    mul, add, sub = MONEY_CONTEXT.multiply, MONEY_CONTEXT.add, MONEY_CONTEXT.subtract
    inp = to_decimal(u.get("inputTokens"))
    out = to_decimal(u.get("outputTokens"))
    cache_read = to_decimal(u.get("cacheReadTokens"))
    write_1h = to_decimal(u.get("cacheWrite1hTokens"))
    cache_write = max(to_decimal(u.get("cacheWriteTokens")), write_1h)  # the 1-hour writes are part of it
    prompt = inp if price.input_includes_cached_tokens else add(add(inp, cache_read), cache_write)
    price = price.at_prompt(prompt)
    if price.input_includes_cached_tokens:
        fresh = max(_ZERO, sub(sub(inp, cache_read), cache_write))
        read_price = price.cache_read_per_million
        write_price = price.cache_write_per_million
        read_price = price.input_per_million if read_price is None else read_price
        write_price = price.input_per_million if write_price is None else write_price
    else:
        fresh = inp
        read_price = price.cache_read_per_million or _ZERO
        write_price = price.cache_write_per_million or _ZERO
    terms = [
        ("input", fresh, mul(fresh, price.input_per_million)),
        ("cacheRead", cache_read, mul(cache_read, read_price)),
    ]
    if price.cache_write_1h_per_million is not None and write_1h:
        short = sub(cache_write, write_1h)
        terms.append(("cacheWrite", short, mul(short, write_price)))
        terms.append(("cacheWrite1h", write_1h, mul(write_1h, price.cache_write_1h_per_million)))
    else:
        terms.append(("cacheWrite", cache_write, mul(cache_write, write_price)))
    reasoning = to_decimal(u.get("reasoningTokens"))
    if price.output_includes_reasoning_tokens:
        if price.reasoning_per_million is not None and reasoning > 0:
            part = min(reasoning, max(out, _ZERO))
            terms.append(("output", sub(out, part), mul(sub(out, part), price.output_per_million)))
            terms.append(("reasoning", part, mul(part, price.reasoning_per_million)))
        else:
            terms.append(("output", out, mul(out, price.output_per_million)))
    else:
        reasoning_price = price.reasoning_per_million
        if reasoning_price is None:
            reasoning_price = price.output_per_million
        terms.append(("output", out, mul(out, price.output_per_million)))
        terms.append(("reasoning", reasoning, mul(reasoning, reasoning_price)))
    return terms


def missing_buckets(usage: Any, price: Price) -> tuple[str, ...]:
    """The cache buckets ``usage`` has tokens in that ``price`` has no price for.

    With ``inputIncludesCachedTokens`` a missing cache price falls back to the
    input price, so nothing is missing; otherwise a bucket with tokens and no
    price cannot be priced (CW counted it 0).
    """
    if price.input_includes_cached_tokens or not isinstance(usage, dict):
        return ()
    out = []
    if price.cache_read_per_million is None and to_decimal(usage.get("cacheReadTokens")) > 0:
        out.append("cacheReadTokens")
    if price.cache_write_per_million is None and to_decimal(usage.get("cacheWriteTokens")) > 0:
        out.append("cacheWriteTokens")
    return tuple(out)


def _default_cache_price(default: Price, which: str) -> Decimal | None:
    """The default's price for a cache bucket (its input price when it includes cached tokens), or None."""
    value = default.cache_read_per_million if which == "read" else default.cache_write_per_million
    if value is None and default.input_includes_cached_tokens:
        return default.input_per_million
    return value


def _fill_from(price: Price, default: Price | None, missing: tuple[str, ...]) -> Price | None:
    """``price`` with its missing cache prices taken from ``default``, or None when the default lacks one too."""
    if default is None:
        return None
    fields = {f: getattr(price, f) for f in Price.__struct_fields__}
    for bucket, which, attr in (
        ("cacheReadTokens", "read", "cache_read_per_million"),
        ("cacheWriteTokens", "write", "cache_write_per_million"),
    ):
        if bucket in missing:
            value = _default_cache_price(default, which)
            if value is None:
                return None
            fields[attr] = value
    return Price(**fields)


TOKEN_KEYS = ("inputTokens", "outputTokens", "totalTokens", "cacheReadTokens", "cacheWriteTokens", "reasoningTokens")
MAX_PLAUSIBLE_TOKENS = 2**53


def implausible_usage(usage: Any) -> list[tuple[str, Any]]:
    """Token fields no host could have meant: ``(field, value)`` for each (cw-compat §16 l).

    A count is a whole number from 0 to 2^53 (an integral JSON float such as
    ``1000.0`` reads as that integer); ``null`` is an absent count. Negative,
    fractional, larger, non-finite and non-numeric values (strings, booleans)
    are not: CW stores them as given (``1e21``, ``-5``), and they are never priced.
    """
    if type(usage) is not dict:
        return []
    bad = []
    for key in TOKEN_KEYS:
        if key not in usage:
            continue
        v = usage[key]
        if type(v) is int:
            if 0 <= v <= MAX_PLAUSIBLE_TOKENS:
                continue
        elif v is None or (type(v) is float and v.is_integer() and 0 <= v <= MAX_PLAUSIBLE_TOKENS):
            continue
        bad.append((key, v))
    return bad


def price_unit(usage: Any, policy: PricingPolicy | None) -> UnitPrice:
    """Price one attested usage record: the exact entry in force, else the default, else unpriced.

    Token buckets count too: cache tokens the exact entry has no price for
    are priced by ``defaultPrice`` when it has one (the unit is then
    ``default``, reported as estimated), else the unit is unpriced; a
    default-priced unit with an unpriceable bucket is unpriced.
    A record holding an implausible token count is never priced (its tokens count 0 here).
    """
    model = usage.get("model") if isinstance(usage, dict) else None
    if implausible_usage(usage):
        return UnitPrice("unpriced", None, 0, model, None)
    tokens = token_total(usage)
    if policy is None:
        return UnitPrice("unpriced", None, tokens, model, None)
    entry = policy.entry_for(model, usage.get("attestedAt")) if js_truthy(model) else None
    price: Price | None = entry if entry is not None else policy.default_price
    if price is None:
        return UnitPrice("unpriced", None, tokens, model, None)
    missing = missing_buckets(usage, price)
    if not missing:
        return UnitPrice("exact" if entry is not None else "default", usage_cost(usage, price), tokens, model, price)
    filled = _fill_from(price, policy.default_price, missing) if entry is not None else None
    if filled is None:
        return UnitPrice("unpriced", None, tokens, model, None)
    return UnitPrice("default", usage_cost(usage, filled), tokens, model, filled)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


_MAX_TOKENS = 2**53  # token counts beyond it are implausible usage (cw.core.usage), so no threshold lies past it


def _invalid(source: str, field: str, problem: str) -> PolicyError:
    return PolicyError(f"Invalid pricing policy {source}: {field} {problem}", hint=_HINT)


def _is_schema_one(v: Any) -> bool:
    return is_number(v) and v == POLICY_SCHEMA_VERSION


def price_problem(v: Any) -> str | None:
    """Why ``v`` is not a price per million tokens a policy may hold, or None (the bounds: docs/pricing.md)."""
    if not is_number(v) or not (v.is_finite() if isinstance(v, Decimal) else math.isfinite(v)) or v < 0:
        return "must be a non-negative number (a price per million tokens)"
    return policy_number_problem(to_decimal(v), PRICE_MIN, PRICE_MAX, "price per million tokens", zero_ok=True)


def _price_value(v: Any, source: str, field: str) -> Decimal:
    problem = price_problem(v)
    if problem is not None:
        raise _invalid(source, field, problem)
    return to_decimal(v)


def _price_fields(obj: dict[str, Any], source: str, path: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, attr, required in _PRICE_KEYS:
        if key not in obj or (obj[key] is None and not required):
            if required:
                raise _invalid(
                    source, f"{path}.{key}", "is missing; it must be a non-negative number (a price per million tokens)"
                )
            continue
        fields[attr] = _price_value(obj[key], source, f"{path}.{key}")
    for key, attr in _FLAG_KEYS:
        if key in obj:
            if not isinstance(obj[key], bool):
                raise _invalid(source, f"{path}.{key}", "must be true or false")
            fields[attr] = obj[key]
    if obj.get("tiers") is not None:
        fields["tiers"] = _tiers(obj["tiers"], source, f"{path}.tiers")
    return fields


def _tiers(raw: Any, source: str, path: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list):
        raise _invalid(source, path, "must be an array of {aboveInputTokens, <prices>} objects")
    tiers: list[Tier] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise _invalid(source, where, "must be an object {aboveInputTokens, <prices>}")
        above = item.get("aboveInputTokens")
        if not isinstance(above, int) or isinstance(above, bool) or not 0 <= above <= _MAX_TOKENS:
            raise _invalid(
                source, f"{where}.aboveInputTokens", f"must be a whole number of tokens from 0 to {_MAX_TOKENS} (2**53)"
            )
        if tiers and above <= tiers[-1].above_input_tokens:
            raise _invalid(source, f"{where}.aboveInputTokens", "must be larger than the tier before it")
        prices: list[tuple[str, Decimal]] = []
        for key, value in item.items():
            if key == "aboveInputTokens":
                continue
            if key not in TIER_PRICE_KEYS:
                raise _invalid(
                    source, f"{where}.{key}", f"is not a price a tier can set ({', '.join(TIER_PRICE_KEYS)})"
                )
            prices.append((TIER_PRICE_KEYS[key], _price_value(value, source, f"{where}.{key}")))
        if not prices:
            raise _invalid(source, where, "sets no price")
        tiers.append(Tier(above_input_tokens=above, prices=tuple(prices)))
    return tuple(tiers)


def _effective_from(v: Any, source: str, field: str) -> str:
    if isinstance(v, str) and ((_DATE_ONLY.fullmatch(v) and parse_iso_ms(v) is not None) or is_iso_timestamp(v)):
        return v
    raise _invalid(
        source, field, "must be an ISO 8601 date (2026-10-07) or date-time with a zone (2026-10-07T00:00:00Z)"
    )


def _taken_on(v: Any, source: str, field: str) -> str:
    if isinstance(v, str) and _DATE_ONLY.fullmatch(v) and parse_iso_ms(v) is not None:
        return v
    raise _invalid(source, field, "must be an ISO 8601 date (2026-11-22): the day the prices were read")


def validate_policy(doc: Any, source: str) -> PricingPolicy:
    """Check a parsed policy document and build the ``PricingPolicy``; ``source`` names the file.

    CW's own check comes first, with CW's message; then every field, with a
    message naming the field path (``models[2].inputPerMillion``).
    """
    if (
        not isinstance(doc, dict)
        or not _is_schema_one(doc.get("schemaVersion"))
        or not isinstance(doc.get("models"), list)
    ):
        raise PolicyError(f"Invalid pricing policy (expected schemaVersion 1 + models[]): {source}")
    for key in ("id", "currency", "description", "source"):
        if key in doc and not isinstance(doc[key], str):
            raise _invalid(source, key, "must be a string")
    if "generator" in doc and not isinstance(doc["generator"], dict):
        raise _invalid(source, "generator", "must be an object (what wrote the file)")
    models = []
    for i, item in enumerate(doc["models"]):
        path = f"models[{i}]"
        if not isinstance(item, dict):
            raise _invalid(source, path, "must be an object with model, inputPerMillion and outputPerMillion")
        model = item.get("model")
        if not isinstance(model, str) or not model:
            raise _invalid(source, f"{path}.model", "must be a non-empty model id string")
        fields = _price_fields(item, source, path)
        if "effectiveFrom" in item:
            fields["effective_from"] = _effective_from(item["effectiveFrom"], source, f"{path}.effectiveFrom")
        if "pricesTakenOn" in item:
            fields["prices_taken_on"] = _taken_on(item["pricesTakenOn"], source, f"{path}.pricesTakenOn")
        models.append(ModelPrice(model=model, **fields))
    default = doc.get("defaultPrice")
    default_price = None
    if default is not None:
        if not isinstance(default, dict):
            raise _invalid(source, "defaultPrice", "must be an object with inputPerMillion and outputPerMillion")
        if "effectiveFrom" in default:
            raise _invalid(
                source,
                "defaultPrice.effectiveFrom",
                "is not supported: the default price has no history (give models entries instead)",
            )
        default_price = Price(**_price_fields(default, source, "defaultPrice"))
    taken_on = _taken_on(doc["pricesTakenOn"], source, "pricesTakenOn") if "pricesTakenOn" in doc else None
    return PricingPolicy(
        id=doc.get("id"),
        currency=doc.get("currency"),
        models=tuple(models),
        default_price=default_price,
        source=source,
        prices_taken_on=taken_on,
    )
