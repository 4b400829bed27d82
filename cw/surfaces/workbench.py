"""``cw workbench``: read-only pages over cw's payloads, served on 127.0.0.1 only.

Pages (plain server-rendered HTML, one small stylesheet, no scripts):

* ``/`` runs list, filtered by app, actor and lifecycle (``run.list``);
* ``/run/<runId>`` one run: durations, the three rates with their samples,
  usage and coverage, cost state, revenue, and the raw payloads
  (``run.show``, ``metrics.show``, ``revenue.list``, ``ledger.verify``);
* ``/summary`` the cross-run rollup (``metrics.summary``);
* ``/pnl`` the P&L with hand-written SVG charts, window, period, currency and
  attribution controls (``pnl``);
* ``/budgets`` each actor's period budgets and what they used (``budget.list``);
* ``/api/<capability>?<args>`` any read-only capability's payload, the exact
  bytes ``cw <verb> --json`` prints; arguments use the MCP spelling
  (``/api/run.show?runId=r1``) and are checked as MCP checks them.

Every number on a page is read from the same payload the CLI prints under
``--json``: the pages call the capability entries by name and only format
what they return. Elements that show a payload value carry ``data-path``
(the value's path inside the payload of the enclosing ``data-payload``
block) and ``data-value`` (its exact JSON), so tests read exact values.
``null`` figures show as ``n/a``, ``unreported`` or ``unpriced``, never 0.

Safety: the workspace is read-only (``metrics.show`` writes no snapshot) and
nothing is stored or written. Only GET is served (anything else is 405 with
``Allow: GET``); a request whose ``Host`` header is not local (127.0.0.1,
localhost or [::1], optionally with the server's port) is 403, which keeps
other web sites from reading the pages through DNS rebinding.
"""

from __future__ import annotations

import dataclasses
import html
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

from cw import __version__
from cw.capabilities import all_capabilities, by_name
from cw.capabilities.table import Capability
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
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("Cache-Control", "no-store"),
)
RATES = (("failure", "Failure"), ("verifierPass", "Verifier pass"), ("candidateAcceptance", "Candidate acceptance"))
# Not read-only in the table only because they write a derived snapshot, which a read-only workspace skips.
NUM = "num"  # the class of right-aligned numeric cells


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


# ---------------------------------------------------------------------------
# HTML pieces


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _jv(value: Any) -> str:
    """A payload value as compact JSON text (for ``data-value`` and ``data-args``)."""
    return dumps_compact(value).decode("utf-8")


def shown(path: str, value: Any, text: str, cls: str = "") -> str:
    """One displayed payload value, tagged with its path and exact JSON."""
    klass = f' class="{esc(cls)}"' if cls else ""
    return f'<span{klass} data-path="{esc(path)}" data-value="{esc(_jv(value))}">{esc(text)}</span>'


def count(path: str, value: Any, none: str = "n/a") -> str:
    if value is None:
        return shown(path, value, none, "na")
    return shown(path, value, js_number(value))


def duration(path: str, ms: Any) -> str:
    return shown(path, ms, "n/a", "na") if ms is None else shown(path, ms, format_ms(ms))


def coverage(path: str, value: Any) -> str:
    return shown(path, value, format_coverage(value), "na" if value is None else "")


def badge(path: str, value: Any) -> str:
    word = str(value)
    kind = {"n/a": "na", "ok": "ok"}.get(word, word)
    return shown(path, value, word, f"badge {kind}")


def cost_amount(path: str, value: Any, cost: Mapping[str, Any]) -> str:
    """A metrics USD figure; ``null`` shows as the cost state (unreported, unpriced) or a dash."""
    if value is None:
        state = cost.get("state")
        word = state if state in ("unreported", "unpriced") else "—"
        return shown(path, value, word, f"na {state}")
    return shown(path, value, f"{cost.get('currency') or 'USD'} {js_number(value)}")


def money(path: str, value: Any, currency: str) -> str:
    """A P&L amount, printed at the currency's minor units (as ``cw pnl`` prints it)."""
    if value is None:
        return shown(path, value, "n/a", "na")
    amount = Decimal(str(value))
    text = format(round_money(amount, currency), "f") if is_currency(currency) else js_number(value)
    return shown(path, value, text)


def rate(path: str, value: Mapping[str, Any]) -> str:
    """A rate with its samples (``66.7% (2/3)``), or ``n/a`` when it has none; tagged with the rate's value."""
    if value.get("state") == "n/a" or value.get("rate") is None:
        return shown(f"{path}.rate", value.get("rate"), "n/a", "na")
    return shown(f"{path}.rate", value["rate"], format_rate(dict(value)))


def rate_row(path: str, label: str, metric: Mapping[str, Any]) -> str:
    """One row of a rates table: the rate, its count and samples (total), its state and buckets."""
    buckets = ", ".join(f"{k} {js_number(v)}" for k, v in (metric.get("buckets") or {}).items()) or "none"
    value = metric.get("rate")
    text = "n/a" if metric.get("state") == "n/a" or value is None else f"{to_fixed(value * 100, 1)}%"
    return (
        "<tr>"
        + td(esc(label))
        + td(shown(f"{path}.rate", value, text, "na" if value is None else ""), NUM)
        + td(count(f"{path}.count", metric.get("count")), NUM)
        + td(count(f"{path}.total", metric.get("total")), NUM)
        + td(badge(f"{path}.state", metric.get("state")))
        + td(esc(buckets), "mono")
        + "</tr>"
    )


def rates_table(path: str, rates: Mapping[str, Any]) -> str:
    rows = [rate_row(f"{path}.{key}", label, rates[key]) for key, label in RATES if key in rates]
    return table(["Rate", ("Value", NUM), ("Count", NUM), ("Samples", NUM), "State", "Buckets"], rows, "")


def td(inner: str, cls: str = "") -> str:
    """A cell around already-escaped HTML."""
    return f'<td class="{cls}">{inner}</td>' if cls else f"<td>{inner}</td>"


def table(heads: Sequence[Any], rows: Sequence[str], empty: str) -> str:
    """A table: ``heads`` are titles or ``(title, css class)``; ``empty`` is said when there are no rows."""
    cols = "".join(
        f'<th class="{cls}">{esc(h)}</th>' if cls else f"<th>{esc(h)}</th>"
        for h, cls in ((h, "") if isinstance(h, str) else h for h in heads)
    )
    body = "".join(rows) or f'<tr><td colspan="{max(len(heads), 1)}" class="na">{esc(empty)}</td></tr>'
    return f"<table>{f'<thead><tr>{cols}</tr></thead>' if cols else ''}<tbody>{body}</tbody></table>"


def notes_list(notes: Iterable[str] | None) -> str:
    items = "".join(f"<li>{esc(n)}</li>" for n in notes or [])
    return f'<ul class="notes">{items}</ul>' if items else ""


def raw_block(title: str, payload: Any) -> str:
    return f'<details class="raw"><summary>{esc(title)}</summary><pre>{esc(dumps(payload))}</pre></details>'


def error_block(err: CwError) -> str:
    hint = f'<div class="hint">Try: {esc(err.hint)}</div>' if err.hint else ""
    return f'<div class="error"><strong>{esc(err.message)}</strong>{hint}</div>'


def link(href: str, text: str, cls: str = "") -> str:
    klass = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{klass}>{esc(text)}</a>'


def run_href(run_id: str, repo: str | None = None) -> str:
    href = "/run/" + quote(str(run_id), safe="")
    return href + ("?" + urlencode({"repo": repo}) if repo else "")


def payload_block(name: str, args: Mapping[str, Any], inner: str, tag: str = "div") -> str:
    """A block whose ``data-path`` values come from ``/api/<name>?<args>``."""
    return f'<{tag} data-payload="{esc(name)}" data-args="{esc(_jv(dict(args)))}">{inner}</{tag}>'


def card(label: str, value_html: str, detail: str = "") -> str:
    extra = f'<div class="detail">{detail}</div>' if detail else ""
    return f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{value_html}</div>{extra}</div>'


@lru_cache(maxsize=1)
def stylesheet() -> bytes:
    return resources.files("cw.surfaces").joinpath("workbench_assets/workbench.css").read_bytes()


NAV = (
    ("/", "Runs", "runs"),
    ("/summary", "Summary", "summary"),
    ("/pnl", "P&L", "pnl"),
    ("/budgets", "Budgets", "budgets"),
    ("/api", "API", "api"),
)


def pricing_label(wb: Workbench) -> str:
    """The pricing policy the pages use (the workbench's --pricing over the config), as the CLI names it."""
    try:
        return format_policy(wb.ws.pricing({"pricing": wb.pricing, "cwd": wb.cwd})[1])
    except CwError as exc:
        return f"unusable: {exc.message}"


def layout(wb: Workbench, title: str, here: str, body: str) -> str:
    nav = "".join(link(href, text, "here" if key == here else "") for href, text, key in NAV)
    where = f"scope={wb.scope} · pricing={pricing_label(wb)} · read-only"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · cw workbench</title>"
        '<link rel="stylesheet" href="/assets/workbench.css"></head><body>'
        f'<header class="top"><span class="brand">cw <small>workbench</small></span><nav>{nav}</nav>'
        f'<span class="where">{esc(where)}</span></header>'
        f"<main>{body}</main>"
        f"<footer>cw {esc(__version__)} · every figure comes from the payload of "
        "<code>cw &lt;verb&gt; --json</code> · nothing here writes</footer></body></html>\n"
    )


# ---------------------------------------------------------------------------
# charts (hand-written SVG)


def _px(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")), "f")


def hbar_chart(
    caption: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Any]]],
    label: Callable[[Any], str],
    paths: Callable[[int, str], str] | None = None,
    legend: bool = False,
    sign_classes: bool = False,
) -> str:
    """Horizontal bars, one group per category and one bar per series; handles negative values.

    ``series`` is ``(name, css class, values)``; each bar carries
    ``data-key``, ``data-series``, ``data-value`` and, with ``paths``, the
    ``data-path`` of its value. Geometry is computed in ``Decimal``.
    """
    label_w, plot_w, value_w, bar_h, gap, group_gap, top = 150, 330, 90, 16, 3, 14, 6
    width = label_w + plot_w + value_w
    values = [Decimal(str(v)) for _, _, vs in series for v in vs if v is not None]
    lo, hi = min([*values, Decimal(0)]), max([*values, Decimal(0)])
    span = (hi - lo) or Decimal(1)
    pw = Decimal(plot_w)

    def x(v: Decimal) -> Decimal:
        return Decimal(label_w) + (v - lo) / span * pw

    group_h = len(series) * (bar_h + gap) - gap
    height = top + len(categories) * (group_h + group_gap) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(caption)}">'
    ]
    zero = x(Decimal(0))
    for i, cat in enumerate(categories):
        y0 = top + i * (group_h + group_gap)
        short = cat if len(cat) <= 22 else cat[:21] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2 + 4:.1f}" text-anchor="end">'
            f"<title>{esc(cat)}</title>{esc(short)}</text>"
        )
        for j, (name, cls, vs) in enumerate(series):
            raw = vs[i]
            if raw is None:
                continue
            v = Decimal(str(raw))
            y = y0 + j * (bar_h + gap)
            x1, x2 = x(min(v, Decimal(0))), x(max(v, Decimal(0)))
            klass = cls if not sign_classes else ("bar-neg" if v < 0 else "bar-pos")
            path = f' data-path="{esc(paths(i, name))}"' if paths else ""
            parts.append(
                f'<rect class="bar {klass}" x="{_px(x1)}" y="{y}" width="{_px(x2 - x1)}" '
                f'height="{bar_h}" rx="2" data-key="{esc(cat)}" data-series="{esc(name)}" '
                f'data-value="{esc(_jv(raw))}"{path}><title>{esc(cat)} · {esc(name)}: '
                f"{esc(label(raw))}</title></rect>"
            )
            tx, anchor = (x2 + 5, "start") if v >= 0 else (zero + 5, "start")
            parts.append(
                f'<text class="value" x="{_px(tx)}" y="{y + bar_h - 4}" text-anchor="{anchor}">{esc(label(raw))}</text>'
            )
    parts.append(f'<line class="axis" x1="{_px(zero)}" y1="{top - 4}" x2="{_px(zero)}" y2="{height - 2}"/>')
    parts.append("</svg>")
    key = ""
    if legend:
        key = (
            '<div class="legend">'
            + "".join(
                f'<span><i class="{esc(cls.replace("bar-", ""))}"></i>{esc(name)}</span>' for name, cls, _ in series
            )
            + "</div>"
        )
    return f'<figure class="chart"><figcaption>{esc(caption)}</figcaption>{key}{"".join(parts)}</figure>'


# ---------------------------------------------------------------------------
# pages


def _first(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values and values[-1] != "" else None


def runs_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """All runs in scope, filtered by app, actor and lifecycle (``run.list``)."""
    cap = wb.capability("run.list")
    filters = {k: v for k in ("app", "actor", "lifecycle") if (v := _first(query, k)) is not None}
    everything = wb.call("run.list")
    payload = wb.call("run.list", filters) if filters else everything
    lifecycles = next((p.choices for p in cap.params if p.name == "lifecycle" and p.choices), ())

    def select(key: str, label: str, options: Iterable[str]) -> str:
        opts = ['<option value="">any</option>'] + [
            f'<option value="{esc(o)}"{" selected" if filters.get(key) == o else ""}>{esc(o)}</option>' for o in options
        ]
        return f'<label>{esc(label)}<select name="{esc(key)}">{"".join(opts)}</select></label>'

    apps = sorted({str(r["app"]) for r in everything["runs"] if r.get("app") is not None})
    actors = sorted({str(r["actor"]) for r in everything["runs"] if r.get("actor") is not None})
    form = (
        '<form class="filters" method="get" action="/">'
        + select("app", "App", apps)
        + select("actor", "Actor", actors)
        + select("lifecycle", "Lifecycle", lifecycles)
        + '<button type="submit">Filter</button></form>'
    )
    home = payload.get("scope") == "home"
    rows = []
    for i, r in enumerate(payload["runs"]):
        p, t = f"runs.{i}", r["tasks"]
        cells = [
            td(link(run_href(r["runId"], r.get("repo") if home else None), r["runId"]), "mono nowrap"),
            td(shown(f"{p}.app", r.get("app"), r.get("app") or "—")),
            td(shown(f"{p}.title", r.get("title"), r.get("title") or "")),
            td(shown(f"{p}.actor", r.get("actor"), r.get("actor") or "")),
            td(badge(f"{p}.lifecycle", r["lifecycle"])),
            td(f"{count(f'{p}.tasks.completed', t['completed'])}/{count(f'{p}.tasks.total', t['total'])}", NUM),
            td(count(f"{p}.tasks.failed", t["failed"]), NUM),
            td(count(f"{p}.workers", r["workers"]), NUM),
            td(shown(f"{p}.createdAt", r.get("createdAt"), r.get("createdAt") or "—"), "mono when"),
        ]
        if home:
            cells.append(td(shown(f"{p}.repo", r.get("repo"), r.get("repo") or ""), "mono"))
        rows.append(f'<tr data-run-id="{esc(r["runId"])}">{"".join(cells)}</tr>')
    heads = [
        "Run",
        "App",
        "Title",
        "Actor",
        "Lifecycle",
        ("Tasks done", NUM),
        ("Failed", NUM),
        ("Workers", NUM),
        "Created",
    ] + (["Repo"] if home else [])
    empty = "No runs match these filters." if filters else "No runs yet: create one with cw run new."
    unreadable = "".join(
        f'<li><span class="mono">{esc(u["runId"])}</span> ({esc(u["repo"])}): {esc(u["reason"])}</li>'
        for u in payload["unreadable"]
    )
    body = (
        f'<h1>Runs</h1><p class="sub">{count("runCount", payload["runCount"])} run(s) in scope '
        f"<strong>{esc(payload['scope'])}</strong>{' matching the filters' if filters else ''}.</p>"
        f'<section class="panel">{form}{table(heads, rows, empty)}'
        + (f'<h2>Unreadable runs</h2><ul class="notes">{unreadable}</ul>' if unreadable else "")
        + raw_block("Raw payload (run.list)", payload)
        + "</section>"
    )
    return layout(wb, "Runs", "runs", payload_block("run.list", filters, body))


def _time_rows(path: str, rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for i, r in enumerate(rows):
        p, d = f"{path}.{i}", r.get("duration") or {}
        flying = d.get("inFlight")
        out.append(
            "<tr>"
            + td(esc(r.get("id")), "mono")
            + td(esc(r.get("kind")))
            + td(badge(f"{p}.status", r.get("status")))
            + td(esc(d.get("startedAt") or "—"), "mono when")
            + td(esc(d.get("endedAt") or "—"), "mono when")
            + td(duration(f"{p}.duration.wallClockMs", d.get("wallClockMs")), NUM)
            + td(shown(f"{p}.duration.inFlight", flying, "yes" if flying else "no"))
            + "</tr>"
        )
    return out


def present(path: str, record: Mapping[str, Any], key: str, render: Callable[[str, Any], str] = count) -> str:
    """A value the record may not have: shown with its path when present, a dash when the key is absent."""
    if not isinstance(record, Mapping) or key not in record:
        return '<span class="na">—</span>'
    return render(f"{path}.{key}", record[key])


def _usage_row(path: str, unit: Mapping[str, Any]) -> str:
    usage: Mapping[str, Any] = unit["usage"] if isinstance(unit.get("usage"), Mapping) else {}
    model = present(f"{path}.usage", usage, "model", lambda p, v: shown(p, v, str(v)))
    tokens = "".join(
        td(present(f"{path}.usage", usage, k), NUM) for k in ("inputTokens", "outputTokens", "totalTokens")
    )
    return (
        "<tr>"
        + td(esc(unit.get("unit")), "mono")
        + td(esc(unit.get("kind")))
        + td(model, "mono")
        + tokens
        + td(esc(usage.get("source") or "—"))
        + td(esc(usage.get("actor") or "—"))
        + "</tr>"
    )


def metrics_panels(report: dict[str, Any]) -> str:
    """The run page's metrics sections, from one ``metrics.show`` payload."""
    t, u, c = report["time"], report["usage"], report["cost"]
    cards = "".join(
        [
            card(
                "Wall clock",
                duration("time.run.wallClockMs", t["run"]["wallClockMs"]),
                "in flight" if t["run"]["inFlight"] else "settled",
            ),
            card("Active task time", duration("time.activeTaskMs", t["activeTaskMs"])),
            card("In-flight items", count("time.inFlight", t["inFlight"])),
            card(
                "Usage coverage",
                coverage("usage.coverage", u["coverage"]),
                f"{esc(js_number(u['attestedUnits']))} of {esc(js_number(u['units']))} units attested",
            ),
            card("Cost state", badge("cost.state", c["state"]), esc(format_policy(report.get("pricingPolicy")))),
        ]
    )
    durations = table(
        ["Item", "Kind", "Status", "Started", "Ended", ("Wall clock", NUM), "In flight"],
        _time_rows("time.tasks", t["tasks"]) + _time_rows("time.workers", t["workers"]),
        "No tasks or workers yet.",
    )
    usage = (
        f"<p>{count('usage.attestedUnits', u['attestedUnits'])} of {count('usage.units', u['units'])} units "
        f"attested, {count('usage.unreportedUnits', u['unreportedUnits'])} unreported · coverage "
        f"{coverage('usage.coverage', u['coverage'])} · tokens in {count('usage.inputTokens', u['inputTokens'])}"
        f", out {count('usage.outputTokens', u['outputTokens'])}, total "
        f"{count('usage.totalTokens', u['totalTokens'])}</p>"
        + table(
            ["Unit", "Kind", "Model", ("In", NUM), ("Out", NUM), ("Total", NUM), "Source", "Actor"],
            [_usage_row(f"attestedUsage.{i}", a) for i, a in enumerate(report.get("attestedUsage") or [])],
            "No attested usage: cost is unreported, not zero.",
        )
    )
    unpriced = ", ".join(map(str, c.get("unpricedModels") or [])) or "none"
    cost = table(
        [],
        [
            "<tr><th>State</th>" + td(badge("cost.state", c["state"])) + "</tr>",
            "<tr><th>Attested</th>" + td(cost_amount("cost.attestedUsd", c.get("attestedUsd"), c)) + "</tr>",
            "<tr><th>Estimated</th>" + td(cost_amount("cost.estimatedUsd", c.get("estimatedUsd"), c)) + "</tr>",
            "<tr><th>Priced coverage</th>" + td(coverage("cost.pricedCoverage", c.get("pricedCoverage"))) + "</tr>",
            "<tr><th>Unpriced models</th>" + td(esc(unpriced), "mono") + "</tr>",
            "<tr><th>Policy</th>" + td(esc(format_policy(report.get("pricingPolicy"))), "mono") + "</tr>",
        ],
        "",
    )
    return (
        f'<div class="cards">{cards}</div>'
        f'<section class="panel"><h2>Rates</h2>{rates_table("rates", report["rates"])}</section>'
        f'<section class="panel"><h2>Durations</h2>{durations}</section>'
        f'<section class="panel"><h2>Usage</h2>{usage}</section>'
        f'<section class="panel"><h2>Cost</h2>{cost}{notes_list(c.get("notes"))}'
        f'<p class="note">Next: {esc(report.get("nextAction", ""))}</p>'
        + raw_block("Raw payload (metrics.show)", report)
        + "</section>"
    )


def net_panel(report: dict[str, Any]) -> str:
    """The run's own revenue and net, from the ``revenue``/``net`` keys of its ``metrics.show`` payload."""
    rev, net = report.get("revenue"), report.get("net")
    if rev is None:
        return '<p class="na">No revenue ledger on this run: revenue n/a.</p>'
    if rev.get("state") != "ok":
        return f'<div class="error">{badge("revenue.state", rev.get("state"))} {esc(rev.get("reason", ""))}</div>'
    if net is None:
        return ""
    cur = net.get("currency") or "USD"
    complete = net["complete"]
    return (
        '<div class="cards">'
        + card(f"Revenue ({cur})", money("net.revenue", net["revenue"], cur))
        + card(f"Spend ({cur})", money("net.spend", net["spend"], cur))
        + card(f"Net ({cur})", money("net.net", net["net"], cur))
        + card(
            "Net complete",
            shown(
                "net.complete", complete, "yes" if complete else "no", "badge " + ("ok" if complete else "incomplete")
            ),
        )
        + "</div>"
        + notes_list(net.get("reasons"))
    )


def revenue_panel(payload: dict[str, Any]) -> str:
    """Revenue entries and totals from one ``revenue.list`` payload."""
    rows = []
    for i, e in enumerate(payload.get("entries") or []):
        p, cur = f"entries.{i}", e.get("currency") or ""
        detail = f"ref {e['ref']}" if "ref" in e else f"reverses {e.get('reverses')}: {e.get('reason', '')}"
        rows.append(
            "<tr>"
            + td(esc(e.get("id")), "mono")
            + td(badge(f"{p}.kind", e.get("kind")))
            + td(f"{money(f'{p}.amount', e.get('amount'), cur)} {esc(cur)}", NUM)
            + td(money(f"{p}.net", e["net"], cur) if "net" in e else "", NUM)
            + td(esc(detail))
            + td(esc(e.get("at")), "mono when")
            + td(esc(e.get("actor")))
            + "</tr>"
        )
    for i, t in enumerate(payload.get("totals") or []):
        p, cur = f"totals.{i}", t["currency"]
        rows.append(
            f'<tr class="total"><td colspan="2">Total {esc(cur)}</td>'
            + td(f"{money(f'{p}.booked', t['booked'], cur)} booked", NUM)
            + td(money(f"{p}.net", t["net"], cur), NUM)
            + f'<td colspan="3">reversed {money(f"{p}.reversed", t["reversed"], cur)}</td></tr>'
        )
    unverified = "".join(
        f'<div class="error"><strong>The ledger of {esc(u.get("runId"))} does not verify; its '
        f"revenue is left out.</strong> {esc((u.get('problem') or {}).get('what', ''))}</div>"
        for u in payload.get("unverified") or []
    )
    return (
        unverified
        + table(
            ["Entry", "Kind", ("Amount", NUM), ("Net", NUM), "Detail", "At", "Actor"],
            rows,
            "No revenue booked on this run.",
        )
        + raw_block("Raw payload (revenue.list)", payload)
    )


def ledger_panel(payload: dict[str, Any]) -> str:
    """The run's ledger check, from one ``ledger.verify`` payload."""
    rows = []
    for i, r in enumerate(payload.get("runs") or []):
        ok = r.get("ok")
        rows.append(
            "<tr>"
            + td(esc(r.get("runId")), "mono")
            + td(
                shown(
                    f"runs.{i}.ok", ok, "verifies" if ok else "does not verify", "badge " + ("ok" if ok else "failed")
                )
            )
            + td(count(f"runs.{i}.entries", r.get("entries")), NUM)
            + td(esc((r.get("problem") or {}).get("what") or r.get("note") or ""))
            + "</tr>"
        )
    return table(["Run", "Ledger", ("Entries", NUM), "Note"], rows, "No revenue ledger on this run.")


def budget_panel(payload: dict[str, Any]) -> str:
    """Spend against the run's budgets, from one ``budget`` payload."""
    tb, cb, d = payload.get("tokenBudget"), payload.get("costBudget"), payload.get("dispatch") or {}
    rows = []
    if tb:
        rows.append(
            "<tr><th>Tokens</th>"
            + td(f"{count('tokenBudget.spent', tb['spent'])} of {count('tokenBudget.limit', tb['limit'])}", NUM)
            + td(f"remaining {count('tokenBudget.remaining', tb['remaining'])}", NUM)
            + "</tr>"
        )
    else:
        rows.append('<tr><th>Tokens</th><td colspan="2" class="na">no token budget</td></tr>')
    if cb:
        cur = cb.get("currency") or "USD"
        rows.append(
            "<tr><th>Cost</th>"
            + td(
                f"{money('costBudget.spent', cb['spent'], cur)} of "
                f"{money('costBudget.limit', cb['limit'], cur)} {esc(cur)}",
                NUM,
            )
            + td(f"remaining {money('costBudget.remaining', cb['remaining'], cur)} {esc(cur)}", NUM)
            + "</tr>"
        )
    else:
        rows.append('<tr><th>Cost</th><td colspan="2" class="na">no cost budget</td></tr>')
    allowed = d.get("allowed")
    verdict = shown(
        "dispatch.allowed", allowed, "allowed" if allowed else "refused", "badge " + ("ok" if allowed else "failed")
    )
    reasons = "".join(f'<div class="note">{esc(r)}</div>' for r in d.get("reasons") or [])
    rows.append(f'<tr><th>Dispatch</th><td colspan="2">{verdict}{reasons}</td></tr>')
    return table([], rows, "")


def _param_key(wb: Workbench, name: str, *candidates: str) -> str | None:
    """The MCP key of the first of ``candidates`` (handler names) that capability ``name`` declares."""
    if not wb.has(name):
        return None
    keys = {p.name: p.mcp_key for p in wb.capability(name).params if p.mcp}
    return next((keys[c] for c in candidates if c in keys), None)


def _section(title: str, render: Callable[[], str], boxed: bool = True) -> str:
    """A page section (or, unboxed, a part of one); a refusal inside shows as its message, the page still renders."""
    try:
        inner = render()
    except CwError as err:
        inner = error_block(err)
    if boxed:
        return f'<section class="panel"><h2>{esc(title)}</h2>{inner}</section>'
    return f'<div class="part"><h3>{esc(title)}</h3>{inner}</div>'


def _panel_of(wb: Workbench, name: str, args: dict[str, Any], panel: Callable[[Any], str]) -> Callable[[], str]:
    """A deferred render of one payload's panel (evaluated inside ``_section``'s error handling)."""
    return lambda: payload_block(name, args, panel(wb.call(name, args)))


def run_page(wb: Workbench, run_id: str, query: Mapping[str, list[str]]) -> str:
    """One run: summary, metrics, revenue and net, ledger, budget and the raw state."""
    repo = _first(query, "repo")
    cwd = wb.repo_arg(repo)
    run_args = {"runId": run_id, **({"cwd": cwd} if cwd else {})}
    state = wb.call("run.show", run_args)
    ref, t = state["summary"], state["summary"]["tasks"]
    parents = ", ".join(link(run_href(p, repo), p) for p in ref.get("parentRunIds") or [])
    title = f" · {shown('summary.title', ref['title'], ref['title'])}" if ref.get("title") else ""
    head = (
        f'<h1>Run <span class="id">{esc(ref["runId"])}</span> {badge("summary.lifecycle", ref["lifecycle"])}'
        f'</h1><p class="sub">app {shown("summary.app", ref.get("app"), ref.get("app") or "—")}{title} · '
        f"actor {shown('summary.actor', ref.get('actor'), ref.get('actor') or '—')} · created "
        f"{esc(ref.get('createdAt') or '—')} · updated {esc(ref.get('updatedAt') or '—')} · tasks "
        f"{count('summary.tasks.completed', t['completed'])}/{count('summary.tasks.total', t['total'])} done, "
        f"{count('summary.tasks.failed', t['failed'])} failed" + (f" · parents {parents}" if parents else "") + "</p>"
    )
    parts = [payload_block("run.show", run_args, head)]
    try:
        shown_report: dict[str, Any] = wb.call("metrics.show", run_args)
        parts.append(payload_block("metrics.show", run_args, metrics_panels(shown_report)))
        report: dict[str, Any] | None = shown_report
    except CwError as err:
        report = None
        parts.append(f'<section class="panel"><h2>Metrics</h2>{error_block(err)}</section>')

    revenue = [payload_block("metrics.show", run_args, net_panel(report))] if report is not None else []
    for name, title_, panel in (("revenue.list", "Entries", revenue_panel), ("ledger.verify", "Ledger", ledger_panel)):
        key = _param_key(wb, name, "run")
        if key:
            args = {key: run_id, **({"cwd": cwd} if cwd else {})}
            revenue.append(_section(title_, _panel_of(wb, name, args, panel), boxed=False))
    parts.append(f'<section class="panel"><h2>Revenue and net</h2>{"".join(revenue)}</section>')
    if wb.has("budget"):
        parts.append(
            _section("Budget", lambda: payload_block("budget", run_args, budget_panel(wb.call("budget", run_args))))
        )
    parts.append(
        f'<section class="panel"><h2>State</h2><p class="note mono">{esc(state["statePath"])}</p>'
        + raw_block("Raw payload (run.show)", state)
        + "</section>"
    )
    return layout(wb, f"Run {run_id}", "runs", "".join(parts))


GROUP_HEADS = [
    "Key",
    ("Runs", NUM),
    ("Failure", NUM),
    ("Verifier pass", NUM),
    ("Coverage", NUM),
    "Cost",
    ("Attested", NUM),
    ("Estimated", NUM),
]


def _cost_cells(path: str, c: Mapping[str, Any]) -> str:
    return (
        td(badge(f"{path}.state", c["state"]))
        + td(cost_amount(f"{path}.attestedUsd", c.get("attestedUsd"), c), NUM)
        + td(cost_amount(f"{path}.estimatedUsd", c.get("estimatedUsd"), c), NUM)
    )


def _group_rows(path: str, groups: list[dict[str, Any]]) -> list[str]:
    return [
        "<tr>"
        + td(esc(g["key"]), "mono")
        + td(count(f"{path}.{i}.runCount", g["runCount"]), NUM)
        + td(rate(f"{path}.{i}.rates.failure", g["rates"]["failure"]), NUM)
        + td(rate(f"{path}.{i}.rates.verifierPass", g["rates"]["verifierPass"]), NUM)
        + td(coverage(f"{path}.{i}.usage.coverage", g["usage"]["coverage"]), NUM)
        + _cost_cells(f"{path}.{i}.cost", g["cost"])
        + "</tr>"
        for i, g in enumerate(groups)
    ]


def summary_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """The cross-run rollup (``metrics.summary``)."""
    s = wb.call("metrics.summary")
    u, c = s["usage"], s["cost"]
    home = s.get("scope") == "home"
    cards = "".join(
        [
            card(
                "Runs",
                count("runCount", s["runCount"]),
                f"{esc(js_number(s.get('unreadableRuns', 0)))} unreadable · "
                f"{esc(js_number(s.get('omittedRuns', 0)))} omitted",
            ),
            card(
                "Usage coverage",
                coverage("usage.coverage", u["coverage"]),
                f"{esc(js_number(u['attestedUnits']))} of {esc(js_number(u['units']))} units attested",
            ),
            card(
                "Tokens",
                count("usage.totalTokens", u["totalTokens"]),
                f"in {esc(js_number(u['inputTokens']))} · out {esc(js_number(u['outputTokens']))}",
            ),
            card("Cost state", badge("cost.state", c["state"])),
            card("Attested cost", cost_amount("cost.attestedUsd", c.get("attestedUsd"), c)),
            card("Estimated cost", cost_amount("cost.estimatedUsd", c.get("estimatedUsd"), c)),
        ]
    )
    runs = []
    for i, r in enumerate(s["runs"]):
        p = f"runs.{i}"
        runs.append(
            "<tr>"
            + td(link(run_href(r["runId"], r.get("repo") if home else None), str(r["runId"])), "mono nowrap")
            + td(esc(r.get("app") or "—"))
            + td(badge(f"{p}.freshness", r.get("freshness")))
            + "".join(td(rate(f"{p}.rates.{k}", r["rates"][k]), NUM) for k, _ in RATES)
            + td(coverage(f"{p}.usage.coverage", r["usage"]["coverage"]), NUM)
            + _cost_cells(f"{p}.cost", r["cost"])
            + "</tr>"
        )
    backend_cost = [
        (
            "<tr>"
            + td(esc(b["backendId"]), "mono")
            + td(count(f"byBackendCost.{i}.runCount", b["runCount"]), NUM)
            + td(count(f"byBackendCost.{i}.outputBytes", b["outputBytes"]), NUM)
            + "</tr>"
        )
        for i, b in enumerate(s.get("byBackendCost") or [])
    ]
    unreadable = "".join(
        f'<li><span class="mono">{esc(x["runId"])}</span> ({esc(x["repo"])}): {esc(x["reason"])}</li>'
        for x in s.get("unreadable") or []
    )
    groups = [
        (key, title)
        for key, title in (("byActor", "By actor"), ("byApp", "By app"), ("byBackend", "By backend"))
        if key in s
    ]
    sections = [
        f'<section class="panel"><h2>Rates (pooled)</h2>{rates_table("rates", s["rates"])}'
        f"{notes_list(c.get('notes'))}</section>"
    ]
    sections += [
        f'<section class="panel"><h2>{title}</h2>{table(GROUP_HEADS, _group_rows(key, s[key]), "No runs.")}</section>'
        for key, title in groups
    ]
    if backend_cost:
        sections.append(
            '<section class="panel"><h2>Worker output by backend</h2>'
            + table(["Backend", ("Runs", NUM), ("Output bytes", NUM)], backend_cost, "")
            + "</section>"
        )
    sections.append(
        '<section class="panel"><h2>Runs</h2>'
        + table(
            [
                "Run",
                "App",
                "Snapshot",
                ("Failure", NUM),
                ("Verifier pass", NUM),
                ("Acceptance", NUM),
                ("Coverage", NUM),
                "Cost",
                ("Attested", NUM),
                ("Estimated", NUM),
            ],
            runs,
            "No runs.",
        )
        + (f'<h2>Unreadable runs</h2><ul class="notes">{unreadable}</ul>' if unreadable else "")
        + f'<p class="note">Next: {esc(s.get("nextAction", ""))}</p>'
        + raw_block("Raw payload (metrics.summary)", s)
        + "</section>"
    )
    body = (
        f'<h1>Summary</h1><p class="sub">Pooled over every run in scope <strong>{esc(s["scope"])}</strong>'
        f' · pricing {esc(format_policy(s.get("pricingPolicy")))}</p><div class="cards">{cards}</div>'
        + "".join(sections)
    )
    return layout(wb, "Summary", "summary", payload_block("metrics.summary", {}, body))


def pnl_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """The P&L table and its charts (``pnl``)."""
    cap = wb.capability("pnl")
    by_param = next((p for p in cap.params if p.name == "by"), None)
    choices = tuple(by_param.choices or ()) if by_param else ()
    by = _first(query, "by") or (by_param.default if by_param and by_param.default else "actor")
    if choices and by not in choices:
        raise UsageError(f'Invalid by "{by}": expected one of {", ".join(choices)}.')
    args = {by_param.mcp_key: by} if by_param else {}
    # the page's controls are the capability's own parameters: whatever the query sets is what /api/pnl gets
    controls = {p.mcp_key: p for p in cap.params if p.mcp and p.name in _PNL_CONTROLS}
    for key in controls:
        value = _first(query, key)
        if value is not None:
            args[key] = value
    pnl = wb.call("pnl", args)
    cur, rows = pnl["currency"], pnl["rows"]
    keys = [str(r["key"]) for r in rows]

    def fmt(v: Any) -> str:
        return f"{format(round_money(Decimal(str(v)), cur), 'f') if is_currency(cur) else js_number(v)} {cur}"

    def path(i: int, series: str) -> str:
        return f"rows.{i}.{series}"

    charts = [
        hbar_chart(
            f"Spend and revenue per {by}",
            keys,
            [
                ("spend", "bar-spend", [r["spend"] for r in rows]),
                ("revenue", "bar-revenue", [r["revenue"] for r in rows]),
            ],
            fmt,
            path,
            legend=True,
        ),
        hbar_chart(f"Net per {by}", keys, [("net", "bar-net", [r["net"] for r in rows])], fmt, path, sign_classes=True),
    ]
    if by_param and "model" in choices:
        if by != "model":
            model_args = {**args, by_param.mcp_key: "model"}  # the same window, currency and attribution
            by_model = wb.call("pnl", model_args)["rows"]
            charts.append(
                payload_block(
                    "pnl",
                    model_args,
                    hbar_chart(
                        "Cost by model",
                        [str(r["key"]) for r in by_model],
                        [("spend", "bar-cost", [r["spend"] for r in by_model])],
                        fmt,
                        path,
                    ),
                )
            )
    else:
        charts.append(
            '<figure class="chart"><figcaption>Cost by model</figcaption><p class="na">Not available: the '
            "pnl capability of this cw cannot group spend by model.</p></figure>"
        )

    def key_cell(key: str, cls: str) -> str:
        # every row leads to what is behind it: the run, or the runs list filtered to the actor or app
        if cls or by == "model":
            return esc(key)
        if by == "run":
            return link(run_href(key), key)
        return link("/?" + urlencode({by: key}), key)

    def row(key: str, r: Mapping[str, Any], p: str, cls: str = "") -> str:
        done = r["netComplete"]
        return (
            (f'<tr class="{cls}">' if cls else "<tr>")
            + td(key_cell(key, cls), "mono")
            + td(count(f"{p}.runs", r["runs"]), NUM)
            + td(count(f"{p}.units.total", r["units"]["total"]), NUM)
            + td(money(f"{p}.spend", r["spend"], cur), NUM)
            + td(badge(f"{p}.spendState", r["spendState"]))
            + td(coverage(f"{p}.coverage", r["coverage"]), NUM)
            + td(money(f"{p}.revenue", r["revenue"], cur), NUM)
            + td(money(f"{p}.net", r["net"], cur), NUM)
            + td(shown(f"{p}.netComplete", done, "yes" if done else "no", "badge " + ("ok" if done else "incomplete")))
            + "</tr>"
        )

    table_rows = [row(str(r["key"]), r, f"rows.{i}") for i, r in enumerate(rows)]
    table_rows.append(row("total", pnl["totals"], "totals", "total"))
    reasons = "".join(
        f'<li><span class="mono">{esc(r["key"])}</span>: {esc(x)}</li>' for r in rows for x in r.get("reasons") or []
    )
    left_out = "".join(
        f'<div class="error"><strong>Revenue of {esc(r.get("runId"))} is left out:</strong> '
        f"{esc(r.get('reason', ''))}</div>"
        for r in pnl.get("refusedRevenue") or []
    )
    left_out += "".join(
        f'<div class="error"><strong>Run {esc(u.get("runId"))} ({esc(u.get("repo"))}) cannot be '
        f"read:</strong> {esc(u.get('reason', ''))}</div>"
        for u in pnl.get("unreadable") or []
    )
    fx = pnl.get("fx") or {}
    rates = ", ".join(f"{r['date']} {r['currency']} {js_number(r['perBase'])}" for r in fx.get("ratesUsed") or [])
    fx_text = (
        f"FX policy {fx['policyId']} (per 1 {fx.get('base')}): {rates or 'no rates needed'}"
        if fx.get("policyId")
        else "no FX policy"
    )
    kept = {k: v for k, v in args.items() if k != (by_param.mcp_key if by_param else "by")}
    tabs = " · ".join(
        f"<strong>{esc(c)}</strong>" if c == by else link("/pnl?" + urlencode({"by": c, **kept}), c) for c in choices
    )
    periods_html = _periods_section(pnl, fmt, args)
    controls_html = _pnl_form(controls, args, by)
    body = (
        f'<h1>P&amp;L by {esc(by)}</h1><p class="sub">{shown("currency", cur, cur)} · pricing '
        f"{esc(format_policy(pnl.get('pricingPolicy')))} · attribution "
        f"{esc((pnl.get('attribution') or {}).get('model', ''))} · {esc(fx_text)}"
        f'{" · group by " + tabs if tabs else ""}</p>{controls_html}{left_out}<div class="charts">{"".join(charts)}</div>'
        + periods_html
        + '<section class="panel"><h2>Table</h2>'
        + table(
            [
                by.capitalize(),
                ("Runs", NUM),
                ("Units", NUM),
                ("Spend", NUM),
                "Spend state",
                ("Coverage", NUM),
                ("Revenue", NUM),
                ("Net", NUM),
                "Complete",
            ],
            table_rows,
            "",
        )
        + (f'<h2>What the incomplete rows leave out</h2><ul class="notes">{reasons}</ul>' if reasons else "")
        + notes_list(pnl.get("notes"))
        + raw_block("Raw payload (pnl)", pnl)
        + "</section>"
    )
    return layout(wb, "P&L", "pnl", payload_block("pnl", args, body))


_PNL_CONTROLS = ("currency", "attribution", "half_life", "since", "until", "tz", "period", "week_start")


def _pnl_form(controls: Mapping[str, Any], args: Mapping[str, Any], by: str) -> str:
    """A GET form over the P&L's own parameters: window, zone, period, currency and attribution."""
    fields = [f'<input type="hidden" name="by" value="{esc(by)}">']
    for key, p in controls.items():
        value = args.get(key)
        label = p.name.replace("_", " ")
        if p.choices:
            opts = '<option value="">default</option>' + "".join(
                f'<option value="{esc(c)}"{" selected" if c == value else ""}>{esc(c)}</option>' for c in p.choices
            )
            field = f'<select name="{esc(key)}" title="{esc(p.help)}">{opts}</select>'
        else:
            kind = "date" if p.name in ("since", "until") and (value is None or len(str(value)) == 10) else "text"
            field = (
                f'<input type="{kind}" name="{esc(key)}" value="{esc(value or "")}" '
                f'placeholder="{esc(p.metavar or "")}" title="{esc(p.help)}">'
            )
        fields.append(f"<label>{esc(label)} {field}</label>")
    return (
        f'<form class="filters pnl-controls" method="get" action="/pnl">{"".join(fields)}<button>Show</button></form>'
    )


def _periods_section(pnl: Mapping[str, Any], fmt: Callable[[Any], str], args: Mapping[str, Any]) -> str:
    """Per period: a chart of spend, revenue and net, and the table behind it (oldest first)."""
    periods = pnl.get("periods")
    if not periods:
        return ""
    cur = pnl["currency"]
    labels = [str(p["period"]) for p in periods]

    def path(i: int, series: str) -> str:
        return f"periods.{i}.total.{series}"

    chart = hbar_chart(
        f"Spend, revenue and net per {pnl['window']['period']}",
        labels,
        [
            ("spend", "bar-spend", [p["total"]["spend"] for p in periods]),
            ("revenue", "bar-revenue", [p["total"]["revenue"] for p in periods]),
            ("net", "bar-cost", [p["total"]["net"] for p in periods]),
        ],
        fmt,
        path,
        legend=True,
    )
    rows = []
    for i, p in enumerate(periods):
        t = p["total"]
        window = {k: v for k, v in args.items() if k not in ("since", "until", "period", "weekStart")}
        drill = "/pnl?" + urlencode({**window, "since": p["start"], "until": p["end"]})
        rows.append(
            "<tr>"
            + td(link(drill, p["period"]), "mono")
            + td(count(f"periods.{i}.total.units.total", t["units"]["total"]), NUM)
            + td(money(f"periods.{i}.total.spend", t["spend"], cur), NUM)
            + td(coverage(f"periods.{i}.total.coverage", t["coverage"]), NUM)
            + td(money(f"periods.{i}.total.revenue", t["revenue"], cur), NUM)
            + td(money(f"periods.{i}.total.net", t["net"], cur), NUM)
            + "</tr>"
        )
    tbl = table(["Period", ("Units", NUM), ("Spend", NUM), ("Coverage", NUM), ("Revenue", NUM), ("Net", NUM)], rows, "")
    return (
        f'<div class="charts">{chart}<div></div></div><section class="panel"><h2>Per {esc(pnl["window"]["period"])}</h2>'
        f'<p class="sub">Periods add up exactly to the totals below; each links to the P&amp;L of that period.</p>'
        f"{tbl}</section>"
    )


def budgets_page(wb: Workbench, query: Mapping[str, list[str]]) -> str:
    """Budget use per actor: every period budget, spent against its limit in the current period."""
    args: dict[str, Any] = {}
    now = _first(query, "now")
    if now:
        args["now"] = now
    payload = wb.call("budget.list", args)
    budgets = payload["budgets"]
    cats: list[str] = []
    used: list[Any] = []
    paths: list[str] = []
    rows = []
    for i, b in enumerate(budgets):
        st, p = b["status"], f"budgets.{i}.status"
        label = f"{b['actor']} {b['period']} ({b['scope']})"
        for what in ("tokens", "cost"):
            lim = st[what]
            if not lim:
                continue
            share = Decimal(str(lim["spent"])) / Decimal(str(lim["limit"])) * 100
            cats.append(f"{label} {what}")
            used.append(share.quantize(Decimal("0.1")))
            paths.append(f"{p}.{what}.spent")
            unit = f" {lim['currency']}" if what == "cost" else ""
            exceeded = what in st["exceeded"]
            rows.append(
                "<tr>"
                + td(link("/?" + urlencode({"actor": b["actor"]}), b["actor"]), "mono")
                + td(
                    esc(b["period"])
                    + " · "
                    + shown(f"{p}.current.period", st["current"]["period"], st["current"]["period"])
                )
                + td(esc(b["scope"]))
                + td(esc(what))
                + td(count(f"{p}.{what}.spent", lim["spent"]) + esc(unit), NUM)
                + td(count(f"{p}.{what}.limit", lim["limit"]) + esc(unit), NUM)
                + td(count(f"{p}.{what}.remaining", lim["remaining"]) + esc(unit), NUM)
                + td(
                    '<span class="badge incomplete">exceeded</span>'
                    if exceeded
                    else '<span class="badge ok">within</span>'
                )
                + "</tr>"
            )
    chart = (
        hbar_chart(
            "Budget used in the current period (% of the limit)",
            cats,
            [("used", "bar-spend", used)],
            lambda v: f"{v}%",
        )
        if cats
        else ""
    )
    refused = "".join(
        f'<li><span class="mono">{esc(b["actor"])}</span>: {esc(r)}</li>'
        for b in budgets
        for r in b["status"]["dispatch"]["reasons"]
    )
    body = (
        '<h1>Budgets</h1><p class="sub">Per-period budgets per actor (<code>cw budget set</code>); dispatch is refused '
        "once a budget is reached. Files: "
        + ", ".join(shown(f"files.{k}", v, f"{k} {v}", "mono") for k, v in payload["files"].items())
        + "</p>"
        + (f'<div class="charts">{chart}<div></div></div>' if chart else "")
        + '<section class="panel"><h2>Use per actor</h2>'
        + table(
            ["Actor", "Period", "Scope", "Limit on", ("Spent", NUM), ("Limit", NUM), ("Left", NUM), "State"],
            rows,
            "No budgets. Add one with cw budget set --actor ACTOR --period month --cost 50.00 USD.",
        )
        + (f'<h2>Why dispatch is refused</h2><ul class="notes">{refused}</ul>' if refused else "")
        + raw_block("Raw payload (budget.list)", payload)
        + "</section>"
    )
    return layout(wb, "Budgets", "budgets", payload_block("budget.list", args, body))


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
            if path == "/assets/workbench.css":
                self._send(HTTPStatus.OK, stylesheet(), "text/css; charset=utf-8")
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
            self._html(status_of(err), layout(wb, "Error", "", f"<h1>Cannot show this page</h1>{error_block(err)}"))
            return
        except Exception as exc:
            self.server.log(f"{path} failed:\n{traceback.format_exc()}")
            internal = CwError(
                f"internal error ({type(exc).__name__}: {exc}); the workbench's stderr has the traceback."
            )
            self._html(HTTPStatus.INTERNAL_SERVER_ERROR, layout(wb, "Error", "", error_block(internal)))
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
    ro = dataclasses.replace(ws, read_only=True)
    ro.repo(cwd)  # a bad --cwd fails now, not on the first request
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
