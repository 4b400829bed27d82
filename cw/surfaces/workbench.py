"""``cw workbench``: read-only pages over cw's payloads, served on 127.0.0.1 only.

Pages (server-rendered from the Jinja2 templates in ``workbench_templates/``,
with autoescaping; one stylesheet and one small script in ``workbench_assets/``):

* ``/`` runs list, filtered by app, actor and lifecycle (``run.list``);
* ``/run/<runId>`` one run: its P&L row (``pnl --by run``), metrics, revenue
  entries, ledger check, budget, loops and the raw state (``run.show``,
  ``metrics.show``, ``revenue.list``, ``ledger.verify``, ``budget``,
  ``loop.list``);
* ``/summary`` the cross-run rollup (``metrics.summary``);
* ``/pnl`` the P&L with inline SVG charts, window, period, stack, currency and
  attribution controls (``pnl``);
* ``/budgets`` each actor's period budgets and what they used (``budget.list``);
* ``/api/<capability>?<args>`` any read-only capability's payload, the exact
  bytes ``cw <verb> --json`` prints; arguments use the MCP spelling
  (``/api/run.show?runId=r1``) and are checked as MCP checks them.

Every number on a page is read from the same payload the CLI prints under
``--json``: the pages call the capability entries by name and only format
what they return (chart geometry is the only arithmetic here). Elements that
show a payload value carry ``data-path`` (the value's path inside the payload
of the enclosing ``data-payload`` block) and ``data-value`` (its exact JSON),
so tests read exact values. ``null`` figures show as ``n/a``, ``unreported``
or ``unpriced``, never 0.

Safety: the workspace is read-only (``metrics.show`` writes no snapshot) and
nothing is stored or written. Only GET is served (anything else is 405 with
``Allow: GET``); a request whose ``Host`` header is not local (127.0.0.1,
localhost or [::1], optionally with the server's port) is 403, which keeps
other web sites from reading the pages through DNS rebinding.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import msgspec

from cw import __version__
from cw.capabilities import all_capabilities, by_name
from cw.capabilities.table import Capability, Param
from cw.core.currency import is_currency, round_money
from cw.core.jsonout import dumps, dumps_compact
from cw.core.numbers import js_number, to_fixed
from cw.core.render import format_coverage, format_ms, format_policy, format_rate
from cw.model.errors import CwError, NotFoundError, UsageError
from cw.shell.policyfile import FILE_ARGS, check_served_files
from cw.shell.scan import scope_repos
from cw.shell.workspace import Workspace
from cw.surfaces.mcp_server import handler_args

LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
BIND_HOSTS = ("127.0.0.1", "::1", "localhost")
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("Cache-Control", "no-store"),
)
ASSETS = {"workbench.css": "text/css; charset=utf-8", "workbench.js": "text/javascript; charset=utf-8"}
RATES = (("failure", "Failure"), ("verifierPass", "Verifier pass"), ("candidateAcceptance", "Candidate acceptance"))
NAV = (
    ("/", "Runs", "runs"),
    ("/summary", "Summary", "summary"),
    ("/pnl", "P&L", "pnl"),
    ("/budgets", "Budgets", "budgets"),
    ("/api", "API", "api"),
)
# The P&L parameters the P&L page's form sets; the run page takes the same ones except the period.
PNL_CONTROLS = ("currency", "attribution", "half_life", "since", "until", "tz", "period", "week_start")
RUN_PNL_CONTROLS = ("currency", "attribution", "half_life", "since", "until", "tz")
STACKS = ("actor", "app", "model")  # what the per-period charts can stack by


# ---------------------------------------------------------------------------
# calling capabilities


@dataclasses.dataclass(frozen=True)
class Workbench:
    """What every request shares: a read-only workspace and the scope, repo and pricing it was started with."""

    ws: Workspace
    scope: str = "repo"
    cwd: str | None = None
    pricing: str | None = None

    def capability(self, name: str) -> Capability:
        """A capability the workbench serves, by name (read-only ones, and those that only write a derived snapshot)."""
        try:
            cap = by_name(name)
        except KeyError:
            raise NotFoundError(
                f"No capability named {name}: the workbench serves {', '.join(c.name for c in served_capabilities())}."
            ) from None
        if cap not in served_capabilities():
            raise NotFoundError(f"{name} changes state; the workbench only serves read-only capabilities.")
        return cap

    def has(self, name: str) -> bool:
        try:
            self.capability(name)
        except NotFoundError:
            return False
        return True

    def arguments(self, cap: Capability, given: Mapping[str, Any]) -> dict[str, Any]:
        """The handler arguments: ``given`` (MCP spelling) over the workbench's scope, cwd and pricing."""
        keys = {p.name: p.mcp_key for p in cap.params if p.mcp}
        merged = dict(given)
        if "cwd" in keys and keys["cwd"] in merged:  # a query may name a repo of this scope, nothing else
            merged[keys["cwd"]] = self.repo_arg(str(merged[keys["cwd"]]))
        query_files = any(keys.get(n) in merged for n in FILE_ARGS)
        for name, value in (("scope", self.scope), ("cwd", self.cwd), ("pricing", self.pricing)):
            if name in keys and keys[name] not in merged and value is not None:
                merged[keys[name]] = value
        args = handler_args(cap, merged, f"/api/{cap.name}")
        if query_files:  # a query may name a policy, or a regular file of this scope; --pricing at start-up is free
            check_served_files(
                {n: v for n, v in args.items() if keys.get(n) in given}, self.repos(), self.ws.process_cwd, "workbench"
            )
        return args

    def call(self, name: str, given: Mapping[str, Any] | None = None) -> Any:
        """Run a read-only capability's entry, exactly as the CLI would with these arguments."""
        cap = self.capability(name)
        return cap.entry(self.ws, self.arguments(cap, given or {}))

    def attempt(self, name: str, given: Mapping[str, Any]) -> tuple[Any, CwError | None]:
        """``call``, with a refusal returned (the page shows it in its section and still renders)."""
        try:
            return self.call(name, given), None
        except CwError as err:
            return None, err

    def repos(self) -> list[Path]:
        return scope_repos(self.ws, self.scope, self.cwd)

    def repo_arg(self, repo: str | None) -> str | None:
        """``cwd`` for a run in ``repo``: it must be one of the repos this workbench reads."""
        if not repo:
            return self.cwd
        if repo not in {str(r) for r in self.repos()}:
            raise NotFoundError(f"Repo {repo} is not in this workbench's scope ({self.scope}).")
        return repo


def served_capabilities() -> tuple[Capability, ...]:
    """What ``/api`` serves, in table order: the read-only capabilities, plus ``metrics.show``.

    ``metrics.show`` is marked as writing because the CLI and MCP write its
    snapshot; the workbench's workspace is read-only, so it writes nothing here.
    """
    return tuple(c for c in all_capabilities() if c.read_only or c.derived_write)


def query_arguments(cap: Capability, query: Mapping[str, list[str]]) -> dict[str, Any]:
    """Query-string values in MCP form: lists for repeatable parameters, booleans for flags."""
    params = {p.mcp_key: p for p in cap.params if p.mcp}
    out: dict[str, Any] = {}
    for key, values in query.items():
        p = params.get(key)
        if p is None:
            out[key] = values[-1]  # handler_args names the unknown key
        elif p.multiple or p.nargs > 1:
            out[key] = list(values)
        elif len(values) > 1:
            raise UsageError(f"/api/{cap.name} argument {key} was given {len(values)} times; give it once.")
        elif p.type == "boolean":
            flag = values[0].strip().lower()
            if flag not in ("", "1", "true", "0", "false"):
                raise UsageError(f'/api/{cap.name} argument {key}: "{values[0]}" is not true or false.')
            out[key] = flag in ("", "1", "true")
        else:
            out[key] = values[0]
    return out


def _first(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values and values[-1] != "" else None


def _params(cap: Capability, names: Iterable[str]) -> dict[str, Param]:
    """The MCP keys of ``cap``'s parameters among ``names`` (handler names), in the table's order."""
    wanted = set(names)
    return {p.mcp_key: p for p in cap.params if p.mcp and p.name in wanted}


def _controls(cap: Capability, names: Iterable[str], query: Mapping[str, list[str]]) -> dict[str, Any]:
    """The query's values for ``cap``'s parameters among ``names``: what the page passes on unchanged."""
    return {key: v for key in _params(cap, names) if (v := _first(query, key)) is not None}


# ---------------------------------------------------------------------------
# templates (Jinja2 is imported when the workbench starts, never by other verbs)


def jv(value: Any) -> str:
    """A payload value as compact JSON text (for ``data-value`` and ``data-args``)."""
    return dumps_compact(value).decode("utf-8")


def money_text(value: Any, currency: str) -> str:
    """A P&L amount at the currency's minor units (as ``cw pnl`` prints it)."""
    if value is None:
        return "n/a"
    return format(round_money(Decimal(str(value)), currency), "f") if is_currency(currency) else js_number(value)


def rate_text(metric: Mapping[str, Any]) -> str:
    return "n/a" if metric.get("state") == "n/a" or metric.get("rate") is None else format_rate(dict(metric))


def percent1(value: Any) -> str:
    return "n/a" if value is None else f"{to_fixed(value * 100, 1)}%"


def run_href(run_id: Any, repo: Any = None, extra: Mapping[str, Any] | None = None) -> str:
    query = {**({"repo": repo} if repo else {}), **(extra or {})}
    return "/run/" + quote(str(run_id), safe="") + ("?" + urlencode(query) if query else "")


def href(path: str, params: Mapping[str, Any] | None = None, **more: Any) -> str:
    query = {k: v for k, v in {**(params or {}), **more}.items() if v is not None and v != ""}
    return path + ("?" + urlencode(query) if query else "")


@lru_cache(maxsize=1)
def environment() -> Any:
    """The template environment: the package's templates, autoescaped, undefined names an error."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cw.surfaces", "workbench_templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        jv=jv,
        num=js_number,
        ms=format_ms,
        coverage_text=format_coverage,
        money_text=money_text,
        policy=format_policy,
        rate_text=rate_text,
        percent1=percent1,
        pretty=dumps,
    )
    env.globals.update(run_href=run_href, href=href, RATES=RATES, NAV=NAV, version=__version__)
    return env


def render(wb: Workbench, template: str, title: str, here: str, **context: Any) -> str:
    where = f"scope={wb.scope} · pricing={pricing_label(wb)} · read-only"
    return str(environment().get_template(template).render(title=title, here=here, where=where, **context))


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> bytes:
    return resources.files("cw.surfaces").joinpath(f"workbench_assets/{name}").read_bytes()


def pricing_label(wb: Workbench) -> str:
    """The pricing policy the pages use (the workbench's --pricing over the config), as the CLI names it."""
    try:
        return format_policy(wb.ws.pricing({"pricing": wb.pricing, "cwd": wb.cwd})[1])
    except CwError as exc:
        return f"unusable: {exc.message}"


# ---------------------------------------------------------------------------
# charts: inline SVG geometry (Decimal); the templates draw it, with a <title> per bar and a table behind


def _px(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")), "f")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def hbar_chart(
    caption: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Any]]],
    label: Callable[[Any], str],
    paths: Callable[[int, str], str],
    legend: bool = False,
    sign_classes: bool = False,
) -> dict[str, Any]:
    """Horizontal bars, one group per category and one bar per series; handles negative values.

    ``series`` is ``(name, css class, values)``; each bar carries
    ``data-key``, ``data-series``, ``data-value`` and the ``data-path`` of its value.
    """
    label_w, plot_w, value_w, bar_h, gap, group_gap, top = 150, 330, 90, 16, 3, 14, 6
    values = [_dec(v) for _, _, vs in series for v in vs if v is not None]
    lo, hi = min([*values, Decimal(0)]), max([*values, Decimal(0)])
    span = (hi - lo) or Decimal(1)

    def x(v: Decimal) -> Decimal:
        return Decimal(label_w) + (v - lo) / span * plot_w

    group_h = len(series) * (bar_h + gap) - gap
    height = top + len(categories) * (group_h + group_gap) + 4
    zero = x(Decimal(0))
    labels, bars = [], []
    for i, cat in enumerate(categories):
        y0 = top + i * (group_h + group_gap)
        labels.append({"x": label_w - 8, "y": f"{y0 + group_h / 2 + 4:.1f}", "text": cat, "short": _short(cat, 22)})
        for j, (name, cls, vs) in enumerate(series):
            raw = vs[i]
            if raw is None:
                continue
            v = _dec(raw)
            y = y0 + j * (bar_h + gap)
            x1, x2 = x(min(v, Decimal(0))), x(max(v, Decimal(0)))
            bars.append(
                {
                    "cls": cls if not sign_classes else ("bar-neg" if v < 0 else "bar-pos"),
                    "x": _px(x1),
                    "y": y,
                    "w": _px(x2 - x1),
                    "h": bar_h,
                    "key": cat,
                    "series": name,
                    "value": raw,
                    "path": paths(i, name),
                    "title": f"{cat} · {name}: {label(raw)}",
                    "text": label(raw),
                    "tx": _px((x2 if v >= 0 else zero) + 5),
                    "ty": y + bar_h - 4,
                }
            )
    table = [
        {
            "key": cat,
            "cells": [
                {"path": paths(i, name), "value": vs[i], "text": "n/a" if vs[i] is None else label(vs[i])}
                for name, _, vs in series
            ],
        }
        for i, cat in enumerate(categories)
    ]
    return {
        "kind": "hbar",
        "caption": caption,
        "width": label_w + plot_w + value_w,
        "height": height,
        "labels": labels,
        "bars": bars,
        "axis": {"x": _px(zero), "y1": top - 4, "y2": height - 2},
        "legend": [(name, cls.replace("bar-", "")) for name, cls, _ in series] if legend else [],
        "heads": [name for name, _, _ in series],
        "table": table,
    }


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def column_chart(
    caption: str,
    periods: Sequence[str],
    stacks: Sequence[Sequence[tuple[str, Any, str]]],
    label: Callable[[Any], str],
    groups: Sequence[str],
    signed: bool = False,
) -> dict[str, Any]:
    """Vertical columns, one per period, each stacked by group (positives up from zero, negatives down).

    ``stacks[i]`` is period ``i``'s segments ``(group, value, path)``; ``groups``
    fixes each group's colour (``s0``...``s7``) and the legend. With ``signed``
    each column is one value coloured by its sign.
    """
    left, plot_h, top, bottom = 8, Decimal(200), 8, 34
    col_w = max(10, min(48, 720 // max(len(periods), 1) - 8))
    step = col_w + 8
    ups: list[Decimal] = []
    downs: list[Decimal] = []
    for segs in stacks:
        ups.append(sum((_dec(v) for _, v, _ in segs if v is not None and _dec(v) > 0), Decimal(0)))
        downs.append(sum((_dec(v) for _, v, _ in segs if v is not None and _dec(v) < 0), Decimal(0)))
    hi, lo = max([*ups, Decimal(0)]), min([*downs, Decimal(0)])
    span = (hi - lo) or Decimal(1)

    def y(v: Decimal) -> Decimal:
        return top + (hi - v) / span * plot_h

    colour = {g: f"s{i % 8}" for i, g in enumerate(groups)}
    bars, ticks = [], []
    every = max(1, len(periods) // 12)  # at most a dozen period labels; every column has its <title>
    for i, (period, segs) in enumerate(zip(periods, stacks, strict=True)):
        x = left + i * step
        up, down = Decimal(0), Decimal(0)
        for group, raw, path in segs:
            if raw is None or _dec(raw) == 0:
                continue
            v = _dec(raw)
            if v > 0:
                y1, y2, up = y(up + v), y(up), up + v
            else:
                y1, y2, down = y(down), y(down + v), down + v
            cls = ("bar-neg" if v < 0 else "bar-pos") if signed else colour.get(group, "s7")
            bars.append(
                {
                    "cls": cls,
                    "x": x,
                    "y": _px(y1),
                    "w": col_w,
                    "h": _px(y2 - y1),
                    "key": period,
                    "series": group,
                    "value": raw,
                    "path": path,
                    "title": f"{period} · {group}: {label(raw)}",
                }
            )
        if i % every == 0:
            ticks.append({"x": x + col_w / 2, "text": _short(period, 10)})
    width = max(left + len(periods) * step + 8, 520)  # a few periods keep the chart wide, not tall
    table = []
    for period, segs in zip(periods, stacks, strict=True):
        by_group: dict[str, dict[str, Any]] = {
            g: {"path": path, "value": v, "text": "n/a" if v is None else label(v)} for g, v, path in segs
        }
        table.append({"key": period, "cells": [by_group.get(g) for g in groups]})
    return {
        "kind": "columns",
        "caption": caption,
        "width": width,
        "height": top + int(plot_h) + bottom,
        "bars": bars,
        "ticks": ticks,
        "tick_y": top + int(plot_h) + 18,
        "axis": {"y": _px(y(Decimal(0))), "x2": width - 4},
        "legend": [] if signed else [(g, colour[g]) for g in groups],
        "heads": list(groups),
        "table": table,
    }


def bullet_chart(caption: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One track per limit: the spent share of it drawn to scale (capped at the track), over it marked."""
    label_w, plot_w, value_w, bar_h, gap, top = 190, 300, 150, 16, 12, 6
    bars = []
    for i, it in enumerate(items):
        spent, limit = _dec(it["spent"]), _dec(it["limit"])
        share = min(spent / limit, Decimal(1)) if limit > 0 else Decimal(1)
        y = top + i * (bar_h + gap)
        bars.append(
            {
                **it,
                "y": y,
                "ty": y + bar_h - 4,
                "w": _px(share * plot_w),
                "short": _short(str(it["label"]), 28),
            }
        )
    return {
        "kind": "bullets",
        "caption": caption,
        "width": label_w + plot_w + value_w,
        "height": top + len(items) * (bar_h + gap) + 4,
        "label_w": label_w,
        "plot_w": plot_w,
        "bar_h": bar_h,
        "bars": bars,
    }


# ---------------------------------------------------------------------------
# pages: each calls capabilities, hands their payloads to a template and adds only links and chart geometry


def runs_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """All runs in scope, filtered by app, actor and lifecycle (``run.list``)."""
    cap = wb.capability("run.list")
    filters = {k: v for k in ("app", "actor", "lifecycle") if (v := _first(query, k)) is not None}
    everything = wb.call("run.list")
    payload = wb.call("run.list", filters) if filters else everything
    lifecycles = next((p.choices for p in cap.params if p.name == "lifecycle" and p.choices), ())
    selects = [
        ("app", "App", sorted({str(r["app"]) for r in everything["runs"] if r.get("app") is not None})),
        ("actor", "Actor", sorted({str(r["actor"]) for r in everything["runs"] if r.get("actor") is not None})),
        ("lifecycle", "Lifecycle", list(lifecycles)),
    ]
    return render(
        wb,
        "runs.html",
        "Runs",
        "runs",
        payload=payload,
        args=filters,
        filters=filters,
        selects=selects,
        home=payload.get("scope") == "home",
    )


def run_page(wb: Workbench, run_id: str, query: Mapping[str, list[str]]) -> str:
    """One run: its P&L row, metrics, revenue entries, ledger, budget, loops and the raw state."""
    repo = _first(query, "repo")
    cwd = wb.repo_arg(repo)
    run_args = {"runId": run_id, **({"cwd": cwd} if cwd else {})}
    state = wb.call("run.show", run_args)
    sections: dict[str, Any] = {}
    metrics, metrics_error = wb.attempt("metrics.show", run_args)
    # the run's revenue and net are its row of `cw pnl --by run` with the same controls: the P&L page's figures
    pnl_cap = wb.capability("pnl")
    pnl_args = {"by": "run", **_controls(pnl_cap, RUN_PNL_CONTROLS, query)}
    pnl, pnl_error = wb.attempt("pnl", pnl_args)
    if isinstance(pnl_error, UsageError):
        raise pnl_error  # a bad control in the query refuses the page, as the CLI refuses the flag
    # by-run rows carry their repo: of two repos' runs with one name, the one this page shows
    rows = pnl["rows"] if pnl else []
    row = next(
        (i for i, r in enumerate(rows) if r["key"] == run_id and (not repo or r.get("repo", repo) == repo)), None
    )
    for name in ("revenue.list", "ledger.verify"):
        if wb.has(name):
            args = {"run": run_id, **({"cwd": cwd} if cwd else {})}
            sections[name] = (args, *wb.attempt(name, args))
    for name in ("budget", "loop.list"):
        if wb.has(name):
            sections[name] = (run_args, *wb.attempt(name, run_args))
    pnl_link = href("/pnl", pnl_args)
    return render(
        wb,
        "run.html",
        f"Run {run_id}",
        "runs",
        state=state,
        run_args=run_args,
        repo=repo,
        metrics=metrics,
        metrics_error=metrics_error,
        pnl=pnl,
        pnl_args=pnl_args,
        pnl_error=pnl_error,
        pnl_row=row,
        pnl_link=pnl_link,
        sections=sections,
    )


def summary_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """The cross-run rollup (``metrics.summary``)."""
    s = wb.call("metrics.summary")
    groups = [
        (key, title, filt)
        for key, title, filt in (
            ("byActor", "By actor", "actor"),
            ("byApp", "By app", "app"),
            ("byBackend", "By backend", None),
        )
        if key in s
    ]
    return render(wb, "summary.html", "Summary", "summary", s=s, args={}, groups=groups, home=s.get("scope") == "home")


def _money_label(currency: str) -> Callable[[Any], str]:
    return lambda v: f"{money_text(v, currency)} {currency}"


def _run_repos(wb: Workbench) -> dict[str, str | None]:
    """Run id -> its repo (home scope), for links; an id two repos share links without a repo."""
    if wb.scope != "home":
        return {}
    seen: dict[str, str | None] = {}
    for r in wb.call("run.list")["runs"]:
        rid = str(r["runId"])
        seen[rid] = None if rid in seen else r.get("repo")
    return seen


def pnl_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """The P&L table, its charts and, with a period, money over time stacked by actor, app or model (``pnl``)."""
    cap = wb.capability("pnl")
    by_param = next(p for p in cap.params if p.name == "by")
    choices = tuple(by_param.choices or ())
    by = _first(query, "by") or by_param.default or "actor"
    if by not in choices:
        raise UsageError(f'Invalid by "{by}": expected one of {", ".join(choices)}.')
    stack = _first(query, "stack") or (by if by in STACKS else STACKS[0])
    stacks = tuple(s for s in STACKS if s in choices)
    if stack not in stacks:
        raise UsageError(f'Invalid stack "{stack}": expected one of {", ".join(stacks)}.')
    # the page's controls are the capability's own parameters: whatever the query sets is what /api/pnl gets
    controls = _params(cap, PNL_CONTROLS)
    kept = _controls(cap, PNL_CONTROLS, query)
    args = {by_param.mcp_key: by, **kept}
    pnl = wb.call("pnl", args)
    cur, rows = pnl["currency"], pnl["rows"]
    label = _money_label(cur)
    keys = [str(r["key"]) for r in rows]

    def row_path(i: int, series: str) -> str:
        return f"rows.{i}.{series}"

    charts = [
        (
            "pnl",
            args,
            hbar_chart(
                f"Spend and revenue per {by}",
                keys,
                [
                    ("spend", "bar-spend", [r["spend"] for r in rows]),
                    ("revenue", "bar-revenue", [r["revenue"] for r in rows]),
                ],
                label,
                row_path,
                legend=True,
            ),
        ),
        (
            "pnl",
            args,
            hbar_chart(
                f"Net per {by}",
                keys,
                [("net", "bar-net", [r["net"] for r in rows])],
                label,
                row_path,
                sign_classes=True,
            ),
        ),
    ]
    if by != "model" and "model" in choices:
        model_args = {**args, by_param.mcp_key: "model"}  # the same window, currency and attribution
        by_model = wb.call("pnl", model_args)["rows"]
        charts.append(
            (
                "pnl",
                model_args,
                hbar_chart(
                    "Spend by model",
                    [str(r["key"]) for r in by_model],
                    [("spend", "bar-cost", [r["spend"] for r in by_model])],
                    label,
                    row_path,
                ),
            )
        )
    run_controls = {k: v for k, v in kept.items() if k in _params(cap, RUN_PNL_CONTROLS)}
    repos = _run_repos(wb) if by == "run" else {}

    def row_href(key: str) -> str | None:
        # every row leads to what is behind it: the run (its page shows this row), or the runs filtered to it
        if by == "run":
            return run_href(key, repos.get(key), run_controls)
        if by in ("actor", "app"):
            return href("/", {by: key})
        return None

    periods = _periods(wb, pnl, args, by, stack, label) if pnl.get("periods") is not None else None
    period_param = next((p for p in cap.params if p.name == "period"), None)
    period_tabs = []
    if period_param is not None:
        current = kept.get(period_param.mcp_key)
        for choice in (None, *(period_param.choices or ())):
            week_start = _params(cap, ("week_start",))
            drop = {period_param.mcp_key, *(week_start if choice != "week" else ())}
            target = {k: v for k, v in args.items() if k not in drop}
            if choice is not None:
                target[period_param.mcp_key] = choice
                target["stack"] = _first(query, "stack")
            period_tabs.append((choice or "none", None if choice == current else href("/pnl", target)))
    form = []
    for key, p in controls.items():
        value = args.get(key)
        kind = "date" if p.name in ("since", "until") and (value is None or len(str(value)) == 10) else "text"
        form.append({"key": key, "label": p.name.replace("_", " "), "param": p, "value": value, "kind": kind})
    return render(
        wb,
        "pnl.html",
        "P&L",
        "pnl",
        pnl=pnl,
        args=args,
        by=by,
        stack=stack,
        tabs=[
            (c, None if c == by else href("/pnl", {**kept, "by": c, "stack": _first(query, "stack")})) for c in choices
        ],
        form=form,
        charts=charts,
        row_links=[row_href(k) for k in keys],
        periods=periods,
        period_tabs=period_tabs,
    )


def _periods(
    wb: Workbench, pnl: Mapping[str, Any], args: Mapping[str, Any], by: str, stack: str, label: Callable[[Any], str]
) -> dict[str, Any]:
    """Money over time: spend and revenue per period stacked by ``stack``, net per period, and the table."""
    stack_args = {**args, "by": stack}
    data = pnl if stack == by else wb.call("pnl", stack_args)
    periods = data["periods"]
    names = [str(p["period"]) for p in periods]
    groups: list[str] = []
    for p in periods:
        for r in p["rows"]:
            if str(r["key"]) not in groups:
                groups.append(str(r["key"]))

    def segments(series: str) -> list[list[tuple[str, Any, str]]]:
        return [
            [(str(r["key"]), r[series], f"periods.{i}.rows.{j}.{series}") for j, r in enumerate(p["rows"])]
            for i, p in enumerate(periods)
        ]

    unit = data["window"]["period"]
    charts = [
        column_chart(f"Spend per {unit}, by {stack}", names, segments("spend"), label, groups),
        column_chart(f"Revenue per {unit}, by {stack}", names, segments("revenue"), label, groups),
        column_chart(
            f"Net per {unit}",
            names,
            [[("net", p["total"]["net"], f"periods.{i}.total.net")] for i, p in enumerate(periods)],
            label,
            ["net"],
            signed=True,
        ),
    ]
    window = {k: v for k, v in args.items() if k not in ("since", "until", "period", "weekStart")}
    drill = [href("/pnl", {**window, "since": p["start"], "until": p["end"]}) for p in periods]
    kept = {k: v for k, v in args.items() if k != "by"}
    stack_tabs = [(s, None if s == stack else href("/pnl", {**kept, "by": by, "stack": s})) for s in STACKS]
    return {
        "data": data,
        "args": stack_args,
        "charts": charts,
        "groups": groups,
        "drill": drill,
        "stack_tabs": stack_tabs,
        "unit": unit,
    }


def budgets_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """Budget use per actor: every period budget, spent against its limit in the current period."""
    args: dict[str, Any] = {}
    now = _first(query, "now")
    if now:
        args["now"] = now
    payload = wb.call("budget.list", args)
    rows, items = [], []
    for i, b in enumerate(payload["budgets"]):
        st = b["status"]
        for what in ("tokens", "cost"):
            lim = st[what]
            if not lim:
                continue
            p = f"budgets.{i}.status.{what}"
            unit = lim["currency"] if what == "cost" else "tokens"
            over = what in st["exceeded"]
            rows.append({"i": i, "b": b, "what": what, "lim": lim, "path": p, "unit": unit, "over": over})
            items.append(
                {
                    "label": f"{b['actor']} {b['period']} {what}",
                    "spent": lim["spent"],
                    "limit": lim["limit"],
                    "path": f"{p}.spent",
                    "over": over,
                    "title": f"{b['actor']} {b['period']} ({b['scope']}) {what}: {js_number(lim['spent'])} of "
                    f"{js_number(lim['limit'])} {unit}",
                }
            )
    chart = bullet_chart("Spent against each limit in the current period", items) if items else None
    return render(wb, "budgets.html", "Budgets", "budgets", payload=payload, args=args, rows=rows, chart=chart)


def api_index(wb: Workbench) -> dict[str, Any]:
    """``/api``: the capabilities served, with their arguments (MCP spelling)."""
    return {
        "schemaVersion": 1,
        "surface": "workbench-api",
        "capabilities": [
            {
                "name": c.name,
                "path": f"/api/{c.name}",
                "summary": c.summary,
                "arguments": [
                    {"name": p.mcp_key, "type": p.type, "required": p.required, "help": p.help}
                    for p in c.params
                    if p.mcp
                ],
            }
            for c in served_capabilities()
        ],
    }


# ---------------------------------------------------------------------------
# HTTP


def status_of(err: CwError) -> HTTPStatus:
    if isinstance(err, UsageError):
        return HTTPStatus.BAD_REQUEST
    if isinstance(err, NotFoundError):
        return HTTPStatus.NOT_FOUND
    return HTTPStatus.UNPROCESSABLE_ENTITY


class WorkbenchHandler(BaseHTTPRequestHandler):
    """GET only; local Host headers only; every response carries the security headers."""

    server: WorkbenchServer
    server_version = f"cw-workbench/{__version__}"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.address_string()} {format % args}")

    def _send(self, status: int, body: bytes, ctype: str, extra: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (*SECURITY_HEADERS, *extra):
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: int, message: str, extra: Iterable[tuple[str, str]] = ()) -> None:
        self._send(status, (message + "\n").encode("utf-8"), "text/plain; charset=utf-8", extra)

    def host_is_local(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        port = self.server.server_address[1]
        return any(host in (name, f"{name}:{port}") for name in LOCAL_NAMES)

    def _refuse_method(self) -> None:
        self.close_connection = True  # the request body (if any) is never read
        if not self.host_is_local():
            self._forbidden()
            return
        self._text(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "405 Method Not Allowed: the workbench is read-only (GET only).",
            [("Allow", "GET"), ("Connection", "close")],
        )

    def _forbidden(self) -> None:
        self.close_connection = True
        self._text(
            HTTPStatus.FORBIDDEN,
            "403 Forbidden: the workbench answers only requests to a local host (127.0.0.1, localhost or [::1]).",
            [("Connection", "close")],
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def __getattr__(self, name: str) -> Any:
        """Any other method (PROPFIND, lowercase get, ...) is refused with 405 too, never 501."""
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def do_GET(self) -> None:
        if not self.host_is_local():
            self._forbidden()
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        path = url.path
        wb = self.server.workbench
        try:
            if path.startswith("/assets/") and path[len("/assets/") :] in ASSETS:
                name = path[len("/assets/") :]
                self._send(HTTPStatus.OK, asset(name), ASSETS[name])
            elif path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
            elif path in ("/api", "/api/"):
                self._json(HTTPStatus.OK, dumps(api_index(wb)))
            elif path.startswith("/api/"):
                self._api(wb, unquote(path[len("/api/") :]), query)
            else:
                self._page(wb, path, query)
        except BrokenPipeError:
            pass

    def _json(self, status: int, text: str) -> None:
        self._send(status, (text + "\n").encode("utf-8"), "application/json; charset=utf-8")

    def _api(self, wb: Workbench, name: str, query: Mapping[str, list[str]]) -> None:
        try:
            cap = wb.capability(name)
            payload = cap.entry(wb.ws, wb.arguments(cap, query_arguments(cap, query)))
        except CwError as err:
            self._json(status_of(err), dumps({"error": err.message, "hint": err.hint}))
            return
        except Exception as exc:
            self.server.log(f"/api/{name} failed:\n{traceback.format_exc()}")
            self._json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                dumps({"error": f"internal error ({type(exc).__name__})", "hint": None}),
            )
            return
        self._json(HTTPStatus.OK, dumps(payload))

    def _page(self, wb: Workbench, path: str, query: Mapping[str, list[str]]) -> None:
        try:
            if path == "/":
                text = runs_page(wb, query)
            elif path.startswith("/run/") and len(path) > len("/run/"):
                text = run_page(wb, unquote(path[len("/run/") :]), query)
            elif path == "/summary":
                text = summary_page(wb, query)
            elif path == "/pnl":
                text = pnl_page(wb, query)
            elif path == "/budgets":
                text = budgets_page(wb, query)
            else:
                raise NotFoundError(f"No page at {path}.", hint="open / for the runs list")
        except CwError as err:
            self._html(status_of(err), render(wb, "error.html", "Error", "", error=err))
            return
        except Exception as exc:
            self.server.log(f"{path} failed:\n{traceback.format_exc()}")
            internal = CwError(
                f"internal error ({type(exc).__name__}: {exc}); the workbench's stderr has the traceback."
            )
            self._html(HTTPStatus.INTERNAL_SERVER_ERROR, render(wb, "error.html", "Error", "", error=internal))
            return
        self._html(HTTPStatus.OK, text)

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8")


class WorkbenchServer(ThreadingHTTPServer):
    """A threading HTTP server bound to a loopback address, holding the shared ``Workbench``."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], workbench: Workbench, log: Callable[[str], None]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, WorkbenchHandler)
        self.workbench = workbench
        self.log = log

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{'[::1]' if ':' in name else name}:{port}/"


def _stderr_log(line: str) -> None:
    print(f"cw workbench: {line}", file=sys.stderr, flush=True)


def make_server(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = 0,
    scope: str = "repo",
    cwd: str | None = None,
    pricing: str | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> WorkbenchServer:
    """A ready (bound, not yet serving) workbench server; ``port=0`` picks a free port.

    The workspace is made read-only. ``host`` must be a loopback name
    (127.0.0.1, ::1 or localhost). Call ``serve_forever()`` (tests run it in a
    thread) and ``shutdown()``/``server_close()`` to stop.
    """
    if host not in BIND_HOSTS:
        raise UsageError(f"The workbench listens on loopback only (127.0.0.1, ::1 or localhost), not {host}.")
    if scope not in ("repo", "home"):
        raise UsageError(f'Invalid scope "{scope}": expected repo or home.')
    environment()  # the templates load (and Jinja2 is imported) when the workbench starts, not on a first request
    ro = msgspec.structs.replace(ws, read_only=True)
    ro.repo(cwd)  # a bad --cwd fails now, not on the first request
    if pricing is not None:
        ro.pricing({"pricing": pricing, "cwd": cwd})  # and so does a --pricing that does not load
    wb = Workbench(ro, scope=scope, cwd=cwd, pricing=pricing)
    bind = "127.0.0.1" if host == "localhost" else host
    try:
        return WorkbenchServer((bind, port), wb, log or _stderr_log)
    except OSError as exc:
        raise CwError(
            f"Cannot listen on {bind}:{port}: {exc.strerror or exc}. Pick another port with --port N "
            "(0 picks a free one)."
        ) from None


def serve(
    ws: Workspace, *, port: int = 7717, scope: str = "repo", cwd: str | None = None, pricing: str | None = None
) -> None:
    """``cw workbench``: serve until Ctrl-C, printing the URL on stderr."""
    server = make_server(ws, "127.0.0.1", port, scope, cwd, pricing)
    print(
        f"cw workbench: serving {server.url} (read-only, scope={scope}); press Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("cw workbench: stopped", file=sys.stderr, flush=True)
    finally:
        server.server_close()
