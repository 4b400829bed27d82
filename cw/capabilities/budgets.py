"""Per-period budgets per actor: set, list, remove, and the checks dispatch, intake and ``cw budget`` use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cw.capabilities.table import CWD, NOW, Capability, Param
from cw.core.numbers import whole_number
from cw.core.period_budget import budget_key, period_status, usage_texts
from cw.core.timeline import WEEKDAYS, check_period, check_week_start
from cw.model.errors import NotFoundError, UsageError
from cw.shell.budgets import budgets_file, read_budgets, update_budgets
from cw.shell.workspace import Workspace
from cw.shell.zones import load_zone, zone_name

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)
ACTOR = Param("actor", "the actor the budget is for (e.g. cron:nightly, alice)", required=True, metavar="ACTOR")
PERIOD_REQ = Param(
    "period", "the calendar period the budget resets on", choices=("day", "week", "month"), required=True
)
BUDGET_SCOPE = Param(
    "scope",
    "where the budget lives and whose runs it counts: this repo (.cw/budgets.json) or every repo in the home "
    "registry ($CW_HOME/budgets.json)",
    choices=("repo", "home"),
    default="repo",
)
SCOPES = ("repo", "home")


def _file(ws: Workspace, scope: str, cwd: str | None) -> Path:
    return budgets_file(scope, ws.repo(cwd), ws.home)


def _positive_tokens(value: Any) -> int | None:
    if value is None:
        return None
    n = whole_number(value)
    if not n:
        raise UsageError(
            f'Invalid --tokens "{value}": expected a positive whole number of tokens (e.g. --tokens 2000000).'
        )
    return n


def _cost(value: Any) -> dict[str, str] | None:
    from cw.capabilities.money import check_cost_budget

    if not value:
        return None
    try:
        amount, cur = check_cost_budget(list(value))  # type: ignore[misc]
    except UsageError as exc:
        raise UsageError(exc.message.replace("--cost-budget", "--cost")) from None
    return {"amount": amount, "currency": cur}


def _scope(a: dict[str, Any]) -> str:
    scope = a.get("scope") or "repo"
    if scope not in SCOPES:
        raise UsageError(f'Invalid --scope "{scope}": expected repo or home.')
    return str(scope)


def _actor(a: dict[str, Any]) -> str:
    actor = str(a.get("actor") or "").strip()
    if not actor or len(actor) > 200 or any(c.isspace() or ord(c) < 32 for c in actor):
        raise UsageError(
            f'Invalid --actor "{a.get("actor") or ""}": expected an actor id such as cron:nightly or alice.'
        )
    return actor


def _period(a: dict[str, Any]) -> str:
    p = check_period(a.get("period"))
    if p is None:
        raise UsageError("Missing --period: day, week or month.")
    return p


def budget_set(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    actor, period, scope = _actor(a), _period(a), _scope(a)
    tokens = _positive_tokens(a.get("tokens"))
    cost = _cost(a.get("cost"))
    if tokens is None and cost is None:
        raise UsageError("A budget needs a limit: give --tokens N, --cost AMOUNT CURRENCY, or both.")
    tz = zone_name(a, ws).strip()
    load_zone(tz)
    if a.get("week_start") is not None and period != "week":
        raise UsageError("--week-start only applies to --period week.")
    week_start = WEEKDAYS[check_week_start(a.get("week_start"))]
    now = ws.now()
    entry: dict[str, Any] = {"actor": actor, "period": period}
    if tokens is not None:
        entry["tokens"] = tokens
    if cost is not None:
        entry["cost"] = cost
    entry.update(tz=tz, weekStart=week_start, setAt=now)
    f = _file(ws, scope, a.get("cwd"))

    def fn(current: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        kept = [b for b in current if budget_key(b) != (actor, period)]
        replaced = len(kept) != len(current)
        new = sorted([*kept, entry], key=lambda b: (b["actor"], ("day", "week", "month").index(b["period"])))
        return new, {"replaced": replaced}

    out = update_budgets(f, ws.lock_timeout(), fn)
    return _change("set", scope, f, entry, out["replaced"])


def budget_remove(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    actor, period, scope = _actor(a), _period(a), _scope(a)
    f = _file(ws, scope, a.get("cwd"))
    if not any(budget_key(b) == (actor, period) for b in read_budgets(f)):
        raise NotFoundError(f"No {period} budget for {actor} in {f}.", hint="cw budget list")

    def fn(current: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
        gone = [b for b in current if budget_key(b) == (actor, period)]
        if not gone:  # removed by someone else meanwhile
            raise NotFoundError(f"No {period} budget for {actor} in {f}.", hint="cw budget list")
        return [b for b in current if budget_key(b) != (actor, period)], gone[0]

    removed = update_budgets(f, ws.lock_timeout(), fn)
    return _change("removed", scope, f, removed, True)


def _change(action: str, scope: str, f: Path, budget: dict[str, Any], replaced: bool) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "surface": "budget-change",
        "action": action,
        "replaced": replaced,
        "scope": scope,
        "file": str(f),
        "budget": budget,
    }


def all_budgets(ws: Workspace, cwd: str | None, scopes: tuple[str, ...] = SCOPES) -> list[tuple[str, dict[str, Any]]]:
    """``(scope, budget)`` from the repo's file and the home file."""
    out: list[tuple[str, dict[str, Any]]] = []
    for scope in scopes:
        out += [(scope, b) for b in read_budgets(_file(ws, scope, cwd))]
    return out


def budget_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    """Every budget with its use in the period holding ``--now`` (``status``, as ``cw budget RUN`` shows it)."""
    scopes = (a["only"],) if a.get("only") in SCOPES else SCOPES
    now = ws.now(a.get("now"))
    listed = all_budgets(ws, a.get("cwd"), scopes)
    rows = []
    if listed:
        pricing = ws.pricing(a)[0]
        fx = ws.fx(a)
        statuses: dict[str, list[dict[str, Any]]] = {}
        for scope, b in listed:
            actor = str(b["actor"])
            if actor not in statuses:
                statuses[actor] = actor_period_status(ws, a.get("cwd"), actor, now, pricing, fx)
            status = next(st for st in statuses[actor] if st["scope"] == scope and st["period"] == b["period"])
            rows.append({"scope": scope, **b, "status": status})
    return {
        "schemaVersion": 1,
        "surface": "budget-list",
        "generatedAt": now,
        "files": {s: str(_file(ws, s, a.get("cwd"))) for s in scopes},
        "budgets": rows,
    }


def _text_list(p: dict[str, Any]) -> str:
    lines = [f"budgets  {len(p['budgets'])}"]
    for b in p["budgets"]:
        limits = []
        if "tokens" in b:
            limits.append(f"tokens={b['tokens']}")
        if "cost" in b:
            limits.append(f"cost={b['cost']['amount']} {b['cost']['currency']}")
        week = f" (from {b['weekStart']})" if b["period"] == "week" else ""
        lines.append(f"  {b['actor']}  per {b['period']}{week}  {'  '.join(limits)}  tz={b['tz']}  [{b['scope']}]")
        st = b["status"]
        used = usage_texts(st)
        flag = "  EXCEEDED" if st["exceeded"] else ("" if st["dispatch"]["allowed"] else "  dispatch refused")
        lines.append(f"    {st['current']['period']}: {'; '.join(used)}{flag}")
    if not p["budgets"]:
        lines.append("  none; add one with cw budget set --actor ACTOR --period month --cost 50.00 USD")
    return "\n".join(lines)


def _text_change(p: dict[str, Any]) -> str:
    b = p["budget"]
    verb = "replaced" if p["action"] == "set" and p["replaced"] else p["action"]
    return f"{verb} {b['actor']}'s {b['period']} budget in {p['file']}"


# --- what dispatch, intake and `cw budget` ask -------------------------------------------------------


def actor_period_status(
    ws: Workspace,
    cwd: str | None,
    actor: str,
    now: str,
    pricing: Any,
    fx: Any,
    allow_unreported: bool = False,
) -> list[dict[str, Any]]:
    """The status of every period budget for ``actor`` (repo's, then home's), for the period holding ``now``."""
    from cw.capabilities.money import spend_items
    from cw.shell.scan import iter_runs

    mine = [(s, b) for s, b in all_budgets(ws, cwd) if b.get("actor") == actor]
    out = []
    items_by_scope: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for scope, b in mine:
        if scope not in items_by_scope:
            items: list[dict[str, Any]] = []
            unreadable = 0
            for run in iter_runs(ws, scope, cwd):
                if run.error is not None or run.state is None:
                    unreadable += 1
                    continue
                items.extend(spend_items(run.state, pricing))
            items_by_scope[scope] = (items, unreadable)
        items, unreadable = items_by_scope[scope]
        st = period_status(
            b, scope, items, zone=load_zone(b.get("tz") or "UTC"), now=now, fx=fx, allow_unreported=allow_unreported
        )
        if unreadable and not allow_unreported:
            st["dispatch"]["allowed"] = False
            st["dispatch"]["reasons"].append(
                f"{actor}'s {b['period']} budget ({scope}): {unreadable} run(s) in scope cannot be read, so their "
                "spend is unknown (see cw run list), or pass --allow-unreported"
            )
        out.append(st)
    return out


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "budget.set",
        ("budget", "set"),
        "Set an actor's budget per day, week or month (tokens, cost, or both).",
        (
            ACTOR,
            PERIOD_REQ,
            Param("tokens", "the token limit per period", metavar="N"),
            Param(
                "cost",
                "the cost limit per period, priced and converted by the policies",
                nargs=2,
                metavar="AMOUNT CURRENCY",
            ),
            BUDGET_SCOPE,
            Param(
                "tz",
                "the zone whose calendar the periods follow (IANA name; default: the config's timezone, else UTC)",
                metavar="ZONE",
            ),
            Param("week_start", "the day weeks start on, with --period week (default monday)", metavar="DAY"),
            CWD,
            JSON_OUT,
        ),
        budget_set,
        read_only=False,
        text=_text_change,
        description="Replaces the actor's budget for that period if there is one. cw dispatch refuses a run "
        "whose actor has reached a budget in the current period; spend nobody reported blocks it "
        "too unless --allow-unreported.",
        examples=(
            "cw budget set --actor cron:nightly --period month --cost 50.00 USD",
            "cw budget set --actor alice --period week --tokens 2000000 --scope home",
        ),
    ),
    Capability(
        "budget.list",
        ("budget", "list"),
        "List per-period budgets with what each has used and has left.",
        (
            Param("only", "only the repo's or only the home's budgets (default both)", choices=SCOPES),
            Param(
                "pricing", "the pricing policy: a file path, or 'default' for the bundled one", metavar="PATH|default"
            ),
            Param("fx", "the FX policy: a file path, or 'default' for the bundled one", metavar="PATH|default"),
            NOW,
            CWD,
            JSON_OUT,
        ),
        budget_list,
        read_only=True,
        text=_text_list,
    ),
    Capability(
        "budget.remove",
        ("budget", "remove"),
        "Remove an actor's budget for a period.",
        (ACTOR, PERIOD_REQ, BUDGET_SCOPE, CWD, JSON_OUT),
        budget_remove,
        read_only=False,
        text=_text_change,
    ),
)
