"""The capability table: every verb cw offers, declared once (see ``table.py``)."""

from __future__ import annotations

import importlib
from functools import lru_cache

import msgspec

from cw.capabilities.table import Capability, Param

#: The JSON Schema (in schemas/) each verb's payload follows; a test validates every one.
OUTPUT_SCHEMAS = {
    "run.new": "run-new.output.schema.json",
    "run.list": "run-list.schema.json",
    "run.show": "run-show.schema.json",
    "run.link": "run-link.output.schema.json",
    "task.add": "task-add.output.schema.json",
    "dispatch": "dispatch.output.schema.json",
    "result": "worker-output-record.schema.json",
    "worker.output": "worker-output-record.schema.json",
    "worker.fail": "worker-fail.output.schema.json",
    "verify": "verify.output.schema.json",
    "candidate.register": "candidate.schema.json",
    "candidate.select": "candidate-decision.output.schema.json",
    "candidate.reject": "candidate-decision.output.schema.json",
    "feedback.open": "feedback.schema.json",
    "feedback.task": "feedback.schema.json",
    "feedback.resolve": "feedback.schema.json",
    "feedback.reject": "feedback.schema.json",
    "member.add": "membership.schema.json",
    "member.set": "membership.schema.json",
    "registry.add": "registry-change.output.schema.json",
    "registry.remove": "registry-change.output.schema.json",
    "registry.list": "registry-list.schema.json",
    "metrics.show": "metrics-report.schema.json",
    "metrics.summary": "metrics-summary.schema.json",
    "revenue.add": "revenue-entry.output.schema.json",
    "revenue.reverse": "revenue-entry.output.schema.json",
    "revenue.list": "revenue-list.schema.json",
    "ledger.verify": "ledger-verify.schema.json",
    "pnl": "pnl.schema.json",
    "budget": "budget.schema.json",
    "loop.add": "loop-add.output.schema.json",
    "loop.list": "loop-list.schema.json",
    "loop.next": "loop-next.output.schema.json",
    "pricing.import": "pricing-import.output.schema.json",
    "pricing.check": "pricing-check.schema.json",
    "fx.import": "fx-import.output.schema.json",
    "revenue.import": "revenue-import.output.schema.json",
    "budget.set": "budget-change.output.schema.json",
    "budget.remove": "budget-change.output.schema.json",
    "budget.list": "budget-list.schema.json",
    "export": "export.output.schema.json",
}


#: The modules declaring verbs, in the order ``cw --help`` lists them.
MODULES = ("runs", "loops", "reports", "money", "budgets", "imports", "exports")

#: Which module declares each verb (its CLI words), so the CLI can build one verb and import nothing else.
#: A verb missing here still works (the CLI then builds every command); a test keeps this complete.
VERB_MODULES = {
    "run new": "runs",
    "run list": "runs",
    "run show": "runs",
    "task add": "runs",
    "dispatch": "runs",
    "result": "runs",
    "worker output": "runs",
    "worker fail": "runs",
    "verify": "runs",
    "candidate register": "runs",
    "candidate select": "runs",
    "candidate reject": "runs",
    "feedback open": "runs",
    "feedback task": "runs",
    "feedback resolve": "runs",
    "feedback reject": "runs",
    "member add": "runs",
    "member set": "runs",
    "loop add": "loops",
    "loop list": "loops",
    "loop next": "loops",
    "metrics show": "reports",
    "metrics summary": "reports",
    "registry add": "reports",
    "registry remove": "reports",
    "registry list": "reports",
    "run link": "money",
    "revenue add": "money",
    "revenue reverse": "money",
    "revenue list": "money",
    "ledger verify": "money",
    "pnl": "money",
    "budget": "money",
    "pricing import": "imports",
    "pricing check": "imports",
    "fx import": "imports",
    "revenue import": "imports",
    "budget set": "budgets",
    "budget list": "budgets",
    "budget remove": "budgets",
    "export": "exports",
}


def _declared(module: str) -> tuple[Capability, ...]:
    mod = importlib.import_module(f"cw.capabilities.{module}")
    return tuple(msgspec.structs.replace(c, output_schema=OUTPUT_SCHEMAS[c.name]) for c in mod.CAPABILITIES)


def capability_at(words: list[str]) -> Capability | None:
    """The verb the leading CLI words name (two words, else one), importing only its module; None if unknown."""
    for n in (2, 1):
        key = " ".join(words[:n])
        if len(words) >= n and key in VERB_MODULES:
            for c in _declared(VERB_MODULES[key]):
                if " ".join(c.path) == key:
                    return c
    return None


@lru_cache(maxsize=1)
def all_capabilities() -> tuple[Capability, ...]:
    """Every declared verb, in the order ``cw --help`` lists them."""
    caps = tuple(c for m in MODULES for c in _declared(m))
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
