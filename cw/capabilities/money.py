"""Money verbs (revenue, ledger, P&L, budget, parent links) and the money checks other verbs use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from cw.capabilities.table import CWD, FX, NOW, PERIOD, PRICING, RUN, SCOPE, WEEK_START, WINDOW, Capability, Param
from cw.core import attribution as attr
from cw.core import ledger
from cw.core.budget import budget_status, has_budget
from cw.core.coststate import missing_text, spent_text, unit_cost
from cw.core.currency import format_amount, format_money, parse_amount, parse_currency
from cw.core.fingerprint import run_app
from cw.core.metrics import usage_units
from cw.core.numbers import CALENDAR_TEXT, is_iso_timestamp
from cw.core.period_budget import usage_texts
from cw.core.pnl import GROUPINGS, build_pnl, render_pnl_text, revenue_items
from cw.core.render import format_policy
from cw.core.state import check_run_id
from cw.core.timeline import unit_at
from cw.model.errors import CwError, NotFoundError, RefusedError, UsageError
from cw.shell import sidefiles
from cw.shell.scan import iter_runs
from cw.shell.sidefiles import has_ledger
from cw.shell.store import LoadedRun, Store, Update, read_run_dir
from cw.shell.workspace import Workspace
from cw.shell.zones import period_from_args, window_from_args

T = TypeVar("T")
JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)
#: How revenue is shared along parent runs: pnl's options, also export's (so their rows match).
ATTRIBUTION = (
    Param("attribution", "how revenue is shared along parent runs", choices=attr.MODELS, default="last-touch"),
    Param("half_life", "time-decay half-life (e.g. 7, 7d, 36h; default 7 days)", metavar="DAYS"),
)

# --- parents ---------------------------------------------------------------------------------------


def _parents_map(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in store.iter_run_dirs():
        try:
            st = read_run_dir(d)
        except Exception:  # an unreadable run has no usable links; it cannot close a cycle we can see
            continue
        out[d.name] = [p for p in st.get("parentRunIds", []) if isinstance(p, str)]
    return out


def link_parents_checked(store: Store, run_id: str, parents: list[str]) -> list[str]:
    """Parents must be existing runs of the same repo; a link that would close a cycle is refused."""
    out: list[str] = []
    for p in parents:
        check_run_id(p, "parent run id")
        if p == run_id:
            raise RefusedError(f"Run {run_id} cannot be its own parent: parent links must not form a cycle.")
        if not (store.run_dir(p) / "state.json").is_file():
            raise NotFoundError(f"Parent run not found: {p}", hint="cw run list")
        if p not in out:
            out.append(p)
    if out:
        cycle = attr.detect_cycle(_parents_map(store), run_id, out)
        if cycle:
            raise RefusedError(
                f"Refusing to link {run_id} to {', '.join(out)}: it would make a cycle ({' -> '.join(cycle)})."
            )
    return out


def run_link(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    store = ws.store(a.get("cwd"))
    now = ws.now()
    parents = list(a.get("parent") or [])
    if not parents:
        raise UsageError("Missing --parent: name at least one parent run.")

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        new = link_parents_checked(store, lr.run_id, parents)
        current = [p for p in lr.state.get("parentRunIds", []) if isinstance(p, str)]
        merged = current + [p for p in new if p not in current]
        return Update(
            {**lr.state, "parentRunIds": merged, "updatedAt": now}, {"runId": lr.run_id, "parentRunIds": merged}
        )

    return store.update(a["run_id"], fn)


# --- budgets ------------------------------------------------------------------------------------------


def check_cost_budget(value: list[str] | None) -> tuple[str, str] | None:
    """``--cost-budget AMOUNT CURRENCY`` as stored: the exact amount text at the currency's precision."""
    if not value:
        return None
    amount, currency = value
    cur = parse_currency(currency, flag="--cost-budget CURRENCY")
    return format_amount(parse_amount(amount, cur, flag="--cost-budget AMOUNT"), cur), cur


class DispatchGate:
    """Budget checks ``cw dispatch`` runs inside its lock (policies are loaded before the lock).

    The run's own budgets come from its state; the actor's period budgets
    count the actor's spend over the runs of each budget's scope.
    """

    def policy(self, ws: Workspace, a: dict[str, Any]) -> tuple[Any, Any]:
        return ws.pricing(a)[0], ws.fx(a)

    def check(
        self,
        state: dict[str, Any],
        policies: tuple[Any, Any],
        allow_unreported: bool,
        now: str,
        ws: Workspace | None = None,
        cwd: str | None = None,
    ) -> None:
        from cw.capabilities.budgets import actor_period_status

        reasons: list[str] = []
        if has_budget(state):
            status = budget_status(state, policies[0], policies[1], now=now, allow_unreported=allow_unreported)
            reasons += status["dispatch"]["reasons"]
        actor = str(state["actor"]) if isinstance(state.get("actor"), str) else "unattributed"
        if ws is not None:
            for st in actor_period_status(ws, cwd, actor, now, policies[0], policies[1], allow_unreported):
                reasons += st["dispatch"]["reasons"]
        if reasons:
            raise RefusedError(
                f"Refusing to dispatch run {state['id']}: " + "; ".join(reasons) + ".",
                hint=f"cw budget {state['id']}",
            )


dispatch_gate = DispatchGate()


def budget(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.capabilities.budgets import actor_period_status

    loaded = ws.store(a.get("cwd")).read(a["run_id"])
    policy, header = ws.pricing(a)
    fx = ws.fx(a)
    now = ws.now(a.get("now"))
    out = budget_status(loaded.state, policy, fx, now=now)
    actor = str(loaded.state["actor"]) if isinstance(loaded.state.get("actor"), str) else "unattributed"
    periods = actor_period_status(ws, a.get("cwd"), actor, now, policy, fx)
    dispatch = out.pop("dispatch")
    out["actor"] = actor
    out["periodBudgets"] = periods
    reasons = dispatch["reasons"] + [r for p in periods for r in p["dispatch"]["reasons"]]
    out["exceeded"] = exceeded_list(out, periods)
    out["dispatch"] = {"allowed": not reasons, "reasons": reasons}
    out["pricingPolicy"] = header
    return out


def intake_exceeded(ws: Workspace, cwd: str | None, run_id: str) -> list[str]:
    """After intake: the budgets of the run and of its actor that are now used up (empty when none apply)."""
    from cw.capabilities.budgets import actor_period_status, all_budgets

    loaded = ws.store(cwd).read(run_id)
    actor = str(loaded.state["actor"]) if isinstance(loaded.state.get("actor"), str) else "unattributed"
    if not has_budget(loaded.state) and not any(b.get("actor") == actor for _, b in all_budgets(ws, cwd)):
        return []
    policy = ws.pricing({"cwd": cwd})[0]
    fx = ws.fx({"cwd": cwd})
    now = ws.now()
    run_status = budget_status(loaded.state, policy, fx, now=now) if has_budget(loaded.state) else None
    return exceeded_list(run_status, actor_period_status(ws, cwd, actor, now, policy, fx, allow_unreported=True))


def exceeded_list(run_status: dict[str, Any] | None, periods: list[dict[str, Any]]) -> list[str]:
    """Which budgets are used up: ``run tokens``, ``run cost``, ``<actor> <period> tokens|cost``."""
    out: list[str] = []
    if run_status is not None:
        tb, cb = run_status.get("tokenBudget"), run_status.get("costBudget")
        if tb and tb["spent"] >= tb["limit"]:
            out.append("run tokens")
        if cb and cb["spent"] >= cb["limit"]:
            out.append("run cost")
    for p in periods:
        out += [f"{p['actor']} {p['period']} {what} ({p['scope']}, {p['current']['period']})" for what in p["exceeded"]]
    return out


def _spent(block: dict[str, Any], units: int, figure: str) -> str:
    return spent_text(figure, units, int(block.get("missingUnits") or 0))


def _missing(block: dict[str, Any], detail: list[tuple[int, str]]) -> str:
    said = missing_text(detail) if block.get("missingUnits") else ""
    return f"  ({said})" if said else ""


def _bound(block: dict[str, Any], figure: str) -> str:
    """Remaining over incomplete spend is an upper bound."""
    return figure if block.get("complete", True) else "≤" + figure


def _text_budget(p: dict[str, Any]) -> str:
    lines = [f"budget {p['runId']}  units={p['units']}  unreported={p['unreportedUnits']}"]
    tb, cb = p["tokenBudget"], p["costBudget"]
    n = p["units"]
    token_detail = [(p["unreportedUnits"], "unreported"), (p.get("invalidUnits", 0), "invalid")]
    if tb:
        spent = _spent(tb, n, str(tb["spent"]))
        lines.append(
            f"  tokens: spent={spent} of {tb['limit']}  remaining={_bound(tb, str(tb['remaining']))}"
            + _missing(tb, token_detail)
        )
    else:
        lines.append("  tokens: no budget")
    if cb:
        cur = cb["currency"]
        detail = [*token_detail, (len(cb["unknownUnits"]), "unpriced or not converted")]
        spent = _spent(cb, n, format_money(cb["spent"], cur))
        lines.append(
            f"  cost:   spent={spent} of {format_money(cb['limit'], cur)} {cur}  "
            f"remaining={_bound(cb, format_money(cb['remaining'], cur))} {cur}" + _missing(cb, detail)
        )
    else:
        lines.append("  cost:   no budget")
    if "pricingPolicy" in p:
        lines.append(f"  pricing: {format_policy(p['pricingPolicy'])}")
    for pb in p.get("periodBudgets", ()):
        cur = pb["current"]
        head = f"  {pb['actor']} per {pb['period']} ({pb['scope']}, {cur['period']}):"
        lines += [f"{head} {used}" for used in usage_texts(pb)]
        if pb["exceeded"]:
            lines.append(f"    EXCEEDED: {', '.join(pb['exceeded'])}")
    if p.get("exceeded"):
        lines.append(f"  exceeded: {', '.join(p['exceeded'])}")
    d = p["dispatch"]
    lines.append("  dispatch: allowed" if d["allowed"] else "  dispatch: refused")
    lines += [f"    - {r}" for r in d["reasons"]]
    return "\n".join(lines)


# --- the ledger ---------------------------------------------------------------------------------------


def id_mismatch(run_dir: Path, state: dict[str, Any]) -> str | None:
    """Why a run's state names another run than its directory (a copied or renamed run), or None."""
    rid = state.get("id")
    if not isinstance(rid, str) or rid == run_dir.name:
        return None
    return (
        f"run directory {run_dir.name} holds run id {rid}, which does not match it (a copied or renamed run?); "
        f"it is listed under its directory, never merged with run {rid}"
    )


def verify_loaded(run_dir: Path, state: dict[str, Any]) -> ledger.VerifyResult:
    """The run's ledger checked whole; a ledger in a directory its run id does not name fails closed, so a
    copied run's revenue is never counted twice."""
    mismatch = id_mismatch(run_dir, state)
    entries = (state.get("revenue") or {}).get("entries") if isinstance(state.get("revenue"), dict) else None
    if mismatch is not None and entries:
        what = f"{mismatch}; its ledger belongs to run {state['id']} and is not counted again"
        return ledger.VerifyResult(False, len(entries), {"index": None, "entryId": None, "what": what}, None, None)
    return ledger.verify(state.get("revenue"), sidefiles.read_head(run_dir), str(state.get("id") or run_dir.name))


def _entry_at(value: Any, now: str) -> str:
    if value is None:
        return now
    if not is_iso_timestamp(value):
        raise UsageError(
            f'Invalid --at "{value}": expected an ISO 8601 time with a zone, e.g. 2026-06-08T10:00:00Z, '
            f"{CALENDAR_TEXT}."
        )
    return value


def ledger_lock_target(repo: Path) -> Path:
    """The file whose CW-protocol lock (``<repo>/.cw/revenue-refs.lock``) every booking of the repo takes,
    so checking a ref across the repo's runs and writing the booking happen as one step."""
    return repo / ".cw" / "revenue-refs"


def with_ledger_lock(ws: Workspace, repo: Path, fn: Callable[[], T]) -> T:
    from cw.shell.locks import with_lock  # imported by writers only, as the start-up test pins

    return with_lock(ledger_lock_target(repo), ws.lock_timeout(), fn)


def _ref_elsewhere(store: Store, run_dir: Path, ref: str) -> None:
    for d in store.iter_run_dirs():
        if d == run_dir:
            continue
        try:
            st = read_run_dir(d)
        except Exception:
            continue
        hit = ledger.find_booking(st.get("revenue"), ref) if "revenue" in st else None
        if hit is not None:
            same = "" if hit["ref"] == ref else f' (stored as "{ledger.shown_ref(hit["ref"])}")'
            raise RefusedError(
                f'Revenue with --ref "{ledger.shown_ref(ref)}" is already booked on run {d.name} as {hit["id"]}'
                f"{same} ({hit['amount']} {hit['currency']}, earned {hit['at']}); a ref books once per repo, "
                "so a retried job books once. Nothing was written.",
                hint=f"cw revenue list --run {d.name}",
            )


def revenue_add(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    cur = parse_currency(a["currency"], flag="CURRENCY")
    amount = parse_amount(a["amount"], cur, flag="AMOUNT")
    ref = a.get("ref")
    if not ref or not str(ref).strip():
        raise UsageError("Missing --ref: give the external id (invoice, payment) so a retried job books once.")
    now = ws.now()
    at = _entry_at(a.get("at"), now)
    store = ws.store(a.get("cwd"))
    run_dir = store.run_dir(a["run_id"])

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        ledger.ensure_verified(lr.state.get("revenue"), sidefiles.read_head(lr.dir), lr.run_id)
        doc, entry = ledger.book(
            lr.state.get("revenue"),
            run_id=lr.run_id,
            amount=amount,
            currency=cur,
            ref=ref,
            note=a.get("note"),
            at=at,
            recorded_at=now,
            actor=lr.state.get("actor") or "unattributed",
        )
        return sidefiles.ledger_update(lr, doc, {"runId": lr.run_id, "entry": entry}, now)

    def booking() -> dict[str, Any]:
        # Under the repo's ledger lock: no other booking can land between this check and the write.
        _ref_elsewhere(store, run_dir, ref)
        return store.update(a["run_id"], fn)

    return with_ledger_lock(ws, store.repo, booking)


def revenue_reverse(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    reason = a.get("reason")
    if not reason or not str(reason).strip():
        raise UsageError("Missing --reason: say why the revenue is reversed.")
    now = ws.now()

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        ledger.ensure_verified(lr.state.get("revenue"), sidefiles.read_head(lr.dir), lr.run_id)
        doc, entry = ledger.reverse(
            lr.state.get("revenue"),
            entry_id=a["entry_id"],
            amount=a.get("amount"),
            reason=reason,
            recorded_at=now,
            actor=lr.state.get("actor") or "unattributed",
            run_id=lr.run_id,
            at=_entry_at(a.get("at"), now),
        )
        return sidefiles.ledger_update(lr, doc, {"runId": lr.run_id, "entry": entry}, now)

    return ws.store(a.get("cwd")).update(a["run_id"], fn)


def _unreadable_problem(reason: str) -> dict[str, Any]:
    return {"index": None, "entryId": None, "what": f"run unreadable: {reason}"}


def _ledger_rows(ws: Workspace, a: dict[str, Any]) -> Iterator[tuple[str, str, Any, ledger.VerifyResult]]:
    for item in iter_runs(ws, a.get("scope") or "repo", a.get("cwd")):
        if a.get("run") and item.run_id != a["run"]:
            continue
        if item.error is not None:
            yield (
                item.run_id,
                str(item.repo),
                None,
                ledger.VerifyResult(False, 0, _unreadable_problem(item.error), None, None),
            )
            continue
        assert item.state is not None  # a readable run has its state
        if has_ledger(item.dir, item.state) or a.get("run"):
            try:
                res = verify_loaded(item.dir, item.state)
            except CwError as exc:  # a head "file" that is a FIFO or a folder: this run fails, the rest are checked
                res = ledger.VerifyResult(False, 0, _unreadable_problem(exc.message), None, None)
            doc = item.state.get("revenue") if has_ledger(item.dir, item.state) else None
            yield item.run_id, str(item.repo), doc, res


def revenue_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    if a.get("run"):
        check_run_id(a["run"])
    window = window_from_args(a, ws)
    rows = list(_ledger_rows(ws, a))
    if a.get("run") and not rows:
        raise NotFoundError(f"Run not found: {a['run']}")
    return ledger.revenue_list_payload(
        rows,
        scope=a.get("scope") or "repo",
        run_filter=a.get("run"),
        generated_at=ws.now(a.get("now")),
        window=window,
    )


def ledger_verify(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    if a.get("run"):
        check_run_id(a["run"])
    window = window_from_args(a, ws)
    rows = [
        (rid, repo, res)
        for rid, repo, doc, res in _ledger_rows(ws, a)
        if not window.bounded or not res.ok or ledger.has_entry_in(doc, window.contains_text)
    ]
    if a.get("run") and not rows and not window.bounded:
        raise NotFoundError(f"Run not found: {a['run']}")
    payload = ledger.verify_payload(rows, scope=a.get("scope") or "repo", generated_at=ws.now(a.get("now")))
    return {**payload, "window": window.header()}


# --- P&L ------------------------------------------------------------------------------------------------


def spend_items(run: dict[str, Any], policy: Any) -> Iterator[dict[str, Any]]:
    """One spend item per usage unit, priced; the actor is the usage's, else the run's, else unattributed."""
    app = run_app(run)
    app = app if isinstance(app, str) else None
    run_actor = run.get("actor") if isinstance(run.get("actor"), str) else None
    currency = policy.report_currency if policy is not None else "USD"
    for u in usage_units(run):
        usage = u.usage if isinstance(u.usage, dict) else {}
        actor = usage.get("actor") if isinstance(usage.get("actor"), str) else run_actor
        model = usage.get("model")
        item = {
            "runId": run.get("id"),
            "unit": u.unit,
            "app": app,
            "actor": actor or "unattributed",
            "model": model if isinstance(model, str) and model else None,
            "at": unit_at(run, u.kind, u.record, u.usage),
            "currency": currency,
        }
        priced = unit_cost(u.usage, u.attested, policy)
        item.update(state=priced.state, amount=priced.cost, tokens=priced.tokens)
        yield item


def pnl(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    by = a.get("by") or "actor"
    if by not in GROUPINGS:
        raise UsageError(f'Invalid --by "{by}": expected one of {", ".join(GROUPINGS)}.')
    currency = parse_currency(ws.currency(a), flag="--currency")
    model = attr.parse_attribution_model(a.get("attribution"), a.get("half_life"))
    policy, header = ws.pricing(a)
    fx = ws.fx(a)
    window = window_from_args(a, ws)
    period, week_start = period_from_args(a)
    now = ws.now(a.get("now"))
    spend: list[dict[str, Any]] = []
    nodes: dict[str, attr.RunNode] = {}
    ledgers: dict[str, Any] = {}
    runs: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    notes: list[str] = []
    for item in iter_runs(ws, a.get("scope") or "repo", a.get("cwd")):
        if item.error is not None:
            unreadable.append({"runId": item.run_id, "repo": str(item.repo), "reason": item.error})
            continue
        st = item.state
        assert st is not None  # a readable run has its state
        # Runs are keyed by (repo, directory): two repos' runs with one id, or a copied run, stay apart.
        rid = run_key(item.repo, item.dir.name)
        mismatch = id_mismatch(item.dir, st)
        if mismatch is not None:
            notes.append(f"{mismatch[0].upper()}{mismatch[1:]} (repo {item.repo}).")
        app = run_app(st)
        node = attr.RunNode(
            created_at=st.get("createdAt"),
            parents=tuple(run_key(item.repo, p) for p in st.get("parentRunIds", []) if isinstance(p, str)),
            actor=st.get("actor") if isinstance(st.get("actor"), str) else "unattributed",
            app=app if isinstance(app, str) else None,
        )
        nodes[rid] = node
        runs.append({"runId": rid, "app": node.app, "actor": node.actor, "createdAt": st.get("createdAt")})
        spend.extend({**i, "runId": rid} for i in spend_items(st, policy))
        if has_ledger(item.dir, st):
            res = verify_loaded(item.dir, st)
            if res.ok:
                ledgers[rid] = st.get("revenue")
            else:
                p = res.problem or {}
                refused.append(
                    {
                        "runId": item.dir.name,
                        "key": rid,
                        "repo": str(item.repo),
                        "actor": node.actor,
                        "app": node.app,
                        "reason": f"revenue ledger does not verify ({p.get('entryId') or 'ledger'}: {p.get('what')})",
                    }
                )
    payload = build_pnl(
        spend,
        revenue_items(ledgers, nodes, model),
        by=by,
        currency=currency,
        fx_policy=fx,
        pricing_policy_id=policy.id if policy is not None else None,
        attribution=model,
        now=now,
        runs=runs,
        refused=refused,
        unreadable=unreadable,
        pricing=header,
        window=window,
        period=period,
        week_start=week_start,
    )
    if by == "run":
        for rows in [payload["rows"], *(p["rows"] for p in payload.get("periods", ()))]:
            rows[:] = [_run_row(r) for r in rows]
    payload["notes"] += notes
    return payload


_KEY_SEP = "\x00"  # no repo path or run directory name holds it


def run_key(repo: Path, dir_name: str) -> str:
    """A run's identity across a scope: its repo and its directory, never its id alone."""
    return f"{repo}{_KEY_SEP}{dir_name}"


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    """A by-run row as shown: ``key`` the run's directory, ``repo`` its repo."""
    repo, _, name = str(row["key"]).partition(_KEY_SEP)
    return {"key": name, "repo": repo, **{k: v for k, v in row.items() if k != "key"}}


def _text_pnl(p: dict[str, Any]) -> str:
    text = render_pnl_text(p)
    extra = [f"  refused revenue {r['runId']} ({r['repo']}): {r['reason']}" for r in p.get("refusedRevenue", [])]
    extra += [f"  unreadable {u['runId']} ({u['repo']}): {u['reason']}" for u in p.get("unreadable", [])]
    return "\n".join([text, *extra]) if extra else text


def _text_entry(p: dict[str, Any]) -> str:
    e = p["entry"]
    what = (
        f"booked {e['amount']} {e['currency']} (ref {e['ref']})"
        if e["kind"] == "booked"
        else f"reversed {e['amount']} {e['currency']} of {e['reverses']}"
    )
    return f"{p['runId']} {e['id']}: {what}  actor={e['actor']}\n  hash: {e['hash']}"


def _exit_verify(p: dict[str, Any]) -> int:
    return 0 if p["ok"] else 1


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "run.link",
        ("run", "link"),
        "Link a run to parent runs (for revenue attribution).",
        (RUN, Param("parent", "a parent run", multiple=True, required=True, metavar="RUN"), CWD, JSON_OUT),
        run_link,
        read_only=False,
        text=lambda p: f"{p['runId']} parents: {', '.join(p['parentRunIds'])}",
    ),
    Capability(
        "revenue.add",
        ("revenue", "add"),
        "Book revenue on the run that earned it (append-only).",
        (
            RUN,
            Param(
                "amount",
                "the amount, exact to the currency's minor unit (e.g. 120.00)",
                positional=True,
                required=True,
                metavar="AMOUNT",
            ),
            Param("currency", "ISO 4217 code (e.g. USD, EUR, JPY)", positional=True, required=True, metavar="CURRENCY"),
            Param(
                "ref",
                "the external id (invoice, payment); booking it again on any run of the repo is refused "
                "(compared without invisible characters, in NFC)",
                required=True,
                metavar="EXTERNAL-ID",
            ),
            Param("note", "a free-text note", metavar="TEXT"),
            Param("at", "when it was earned (ISO 8601; default now)", metavar="ISO"),
            CWD,
            JSON_OUT,
        ),
        revenue_add,
        read_only=False,
        text=_text_entry,
        examples=("cw revenue add nightly-20261122T030000Z-a1b2c3 120.00 USD --ref INV-1042",),
    ),
    Capability(
        "revenue.reverse",
        ("revenue", "reverse"),
        "Reverse (part of) a booking with a correcting entry.",
        (
            RUN,
            Param(
                "entry_id",
                "the booked entry to correct (e.g. rev-0001)",
                positional=True,
                required=True,
                metavar="ENTRY-ID",
                mcp_name="entryId",
            ),
            Param("amount", "how much to reverse (default: all that remains)", metavar="PART"),
            Param("reason", "why", required=True, metavar="TEXT"),
            Param("at", "when the reversal happened (ISO 8601; default now; not before the booking)", metavar="ISO"),
            CWD,
            JSON_OUT,
        ),
        revenue_reverse,
        read_only=False,
        text=_text_entry,
    ),
    Capability(
        "revenue.list",
        ("revenue", "list"),
        "List revenue entries and per-currency totals.",
        (Param("run", "only this run", metavar="RUN"), SCOPE, *WINDOW, NOW, CWD, JSON_OUT),
        revenue_list,
        read_only=True,
        text=ledger.render_revenue_list_text,
        description="A window (--since inclusive, --until exclusive, read in --tz) keeps the entries dated in "
        "it (a reversal at its own date) and totals those.",
    ),
    Capability(
        "ledger.verify",
        ("ledger", "verify"),
        "Check every revenue ledger's hash chain and head file.",
        (SCOPE, Param("run", "only this run", metavar="RUN"), *WINDOW, NOW, CWD, JSON_OUT),
        ledger_verify,
        read_only=True,
        text=ledger.render_verify_text,
        description="Exits 1 when any ledger does not verify. Every ledger is checked whole; a window "
        "(--since inclusive, --until exclusive, read in --tz) only narrows the listing to ledgers with an "
        "entry dated in it, and a ledger that does not verify is always listed.",
        exit_code=_exit_verify,
    ),
    Capability(
        "pnl",
        ("pnl",),
        "Spend against revenue per actor, app or run, in one currency.",
        (
            SCOPE,
            Param(
                "by",
                "group rows by (model: spend per usage model; revenue then has its own row)",
                choices=GROUPINGS,
                default="actor",
            ),
            Param("currency", "reporting currency (default: the config's, else USD)", metavar="CODE"),
            FX,
            PRICING,
            *ATTRIBUTION,
            *WINDOW,
            PERIOD,
            WEEK_START,
            NOW,
            CWD,
            JSON_OUT,
        ),
        pnl,
        read_only=True,
        text=_text_pnl,
        description="Spend is attested usage priced by the pricing policy (default: the bundled one) and "
        "converted by the FX policy (default: the bundled one) at each unit's date; revenue is "
        "booked minus reversed, attributed along parent runs. A row whose spend is unreported or "
        "unpriced, or whose amounts could not be converted, says its net is not complete. "
        "A window (--since inclusive, --until exclusive, read in --tz) nets what happened in it: spend "
        "at each unit's usage attestedAt (else its output's recordedAt, else its task's completedAt), "
        "revenue at each entry's date, a reversal at its own. Run counts take the runs created in it. "
        "--period adds one block per day, week or month; the periods add up to the window's totals.",
        examples=(
            "cw pnl --scope home",
            "cw pnl --by app --currency EUR --attribution linear",
            "cw pnl --since 2026-11-01 --until 2026-12-01 --period week --tz Europe/Berlin",
        ),
    ),
    Capability(
        "budget",
        ("budget",),
        "Show a run's budgets and its actor's period budgets, and whether dispatch would go on.",
        (RUN, PRICING, FX, NOW, CWD, JSON_OUT),
        budget,
        read_only=True,
        text=_text_budget,
        description="Also `cw budget show RUN`. Period budgets (cw budget set) count the actor's spend in "
        "the current day, week or month of the budget's zone.",
    ),
)
