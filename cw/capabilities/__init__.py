"""The capability table: every verb cw offers, declared once (see ``table.py``)."""

from __future__ import annotations

from functools import lru_cache

from cw.capabilities.table import Capability, Param


@lru_cache(maxsize=1)
def all_capabilities() -> tuple[Capability, ...]:
    """Every declared verb, in the order ``cw --help`` lists them."""
    from cw.capabilities import money, reports, runs

    caps = runs.CAPABILITIES + reports.CAPABILITIES + money.CAPABILITIES
    names = [c.name for c in caps]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"capability declared twice: {sorted(dupes)}")
    return caps


def by_name(name: str) -> Capability:
    for c in all_capabilities():
        if c.name == name:
            return c
    raise KeyError(name)


def by_tool(tool: str) -> Capability | None:
    for c in all_capabilities():
        if c.tool_name == tool:
            return c
    return None


__all__ = ["Capability", "Param", "all_capabilities", "by_name", "by_tool"]
