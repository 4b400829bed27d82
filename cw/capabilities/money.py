"""Money verbs (revenue, ledger, P&L, budget) and the money checks other verbs use."""

from __future__ import annotations

import re
from typing import Any

from cw.capabilities.table import Capability
from cw.core.state import check_run_id
from cw.model.errors import NotFoundError, RefusedError, UsageError
from cw.shell.store import Store
from cw.shell.workspace import Workspace

_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def check_cost_budget(value: list[str] | None) -> tuple[str, str] | None:
    if not value:
        return None
    amount, currency = value
    if not _AMOUNT.match(amount) or float(amount) <= 0:
        raise UsageError(f'Invalid --cost-budget amount "{amount}": expected a positive decimal, e.g. '
                         "--cost-budget 25.00 USD.")
    return amount, currency


def link_parents_checked(store: Store, run_id: str, parents: list[str]) -> list[str]:
    out = []
    for p in parents:
        check_run_id(p, "parent run id")
        if p == run_id:
            raise RefusedError(f"Run {run_id} cannot be its own parent (a cycle).")
        if not (store.run_dir(p) / "state.json").is_file():
            raise NotFoundError(f"Parent run not found: {p}", hint="cw run list")
        if p not in out:
            out.append(p)
    return out


class _Gate:
    def policy(self, ws: Workspace, a: dict[str, Any]) -> Any:
        return None

    def check(self, state: dict[str, Any], policy: Any, allow_unreported: bool) -> None:
        return None


dispatch_gate = _Gate()

CAPABILITIES: tuple[Capability, ...] = ()
