"""Generate ``schemas/*.schema.json`` for the documents modelled as msgspec structs.

``python -m cw.shell.schemagen`` rewrites them; ``--check`` exits 1 when a file
is stale (the test suite runs the check).
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from cw.model import documents

GENERATED = {
    "state.schema.json": (documents.RunState, "cw run state (state.json)"),
    "usage-record.schema.json": (documents.UsageRecord, "cw usage record"),
    "cost-budget.schema.json": (documents.CostBudget, "cw cost budget"),
    "registry-repos.schema.json": (documents.RegistryRepos, "home registry repos.json"),
    "budgets.schema.json": (documents.PeriodBudgets, "cw per-period budgets (budgets.json)"),
}


def _clean_descriptions(node: Any) -> Any:
    """Dedent every ``description`` ourselves: msgspec versions clean docstrings differently."""
    if isinstance(node, dict):
        return {
            k: inspect.cleandoc(v) if k == "description" and isinstance(v, str) else _clean_descriptions(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_clean_descriptions(v) for v in node]
    return node


def generate(struct: type, title: str) -> dict[str, Any]:
    sch = _clean_descriptions(msgspec.json.schema(struct))
    out: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title}
    out.update(sch)
    return out


def render(struct: type, title: str) -> str:
    return json.dumps(generate(struct, title), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2] / "schemas"
    stale = []
    for name, (struct, title) in GENERATED.items():
        text = render(struct, title)
        path = root / name
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale schemas (run python -m cw.shell.schemagen): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
