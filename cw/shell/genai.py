"""Reading the installed genai-prices package (the optional ``prices`` extra)."""

from __future__ import annotations

from typing import Any

from cw.model.errors import UsageError

#: How to install what ``cw pricing import --from genai-prices`` needs.
MISSING_EXTRA = (
    "cw pricing import --from genai-prices needs the optional extra 'prices': pip install 'cw-runs[prices]' "
    "(or pip install genai-prices)."
)


def load_genai_prices() -> tuple[str, list[Any]]:
    """(version, providers) of the installed genai-prices bundled data; a usage error naming the extra if absent."""
    try:
        import genai_prices
        from genai_prices.data import providers
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None
    return str(genai_prices.__version__), list(providers)


#: How the bundled manifest/pricing.policy.json is made (``python -m cw.shell.genai`` rewrites it).
BUNDLED_PROVIDERS = ("anthropic", "openai", "google")
BUNDLED_DEFAULT_PRICE = ("3", "15")  # kept from CW's bundled example: unknown models are estimated, not free
BUNDLED_DEFAULT_CACHE = ("0.3", "3.75")  # its cache read and write prices (0.1x and 1.25x input), never 0 by omission


def bundled_policy_text(taken_on: str) -> str:
    """The bundled policy's exact bytes (as text) for the installed genai-prices, read on ``taken_on``."""
    from decimal import Decimal

    from cw.core.jsonout import dumps
    from cw.core.priceimport import build_policy

    version, providers = load_genai_prices()
    result = build_policy(
        providers,
        version=version,
        taken_on=taken_on,
        provider_ids=BUNDLED_PROVIDERS,
        policy_id=f"cw-bundled-genai-prices-{version}",
        default_price=(Decimal(BUNDLED_DEFAULT_PRICE[0]), Decimal(BUNDLED_DEFAULT_PRICE[1])),
    )
    doc = result.policy
    doc["defaultPrice"]["cacheReadPerMillion"] = Decimal(BUNDLED_DEFAULT_CACHE[0])
    doc["defaultPrice"]["cacheWritePerMillion"] = Decimal(BUNDLED_DEFAULT_CACHE[1])
    doc["description"] = doc["description"].replace(
        "defaultPrice was given at import", "defaultPrice (with cache prices) was given at import"
    )
    return dumps(doc) + "\n"


def main(argv: list[str]) -> int:
    """``python -m cw.shell.genai YYYY-MM-DD``: rewrite the bundled policy as read on that date."""
    import sys

    from cw.shell.resources import manifest_path
    from cw.shell.store import atomic_write

    if len(argv) != 1:
        print("usage: python -m cw.shell.genai YYYY-MM-DD (the date to record as pricesTakenOn)", file=sys.stderr)
        return 2
    atomic_write(manifest_path("pricing.policy.json"), bundled_policy_text(argv[0]).encode("utf-8"))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
