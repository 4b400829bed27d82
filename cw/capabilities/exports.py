"""``cw export``: usage units and revenue entries as rows for other tools (JSON lines, CSV, OTLP, FOCUS, Parquet)."""

from __future__ import annotations

import contextlib
import os
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Any

from cw import __version__, extra_hint
from cw.capabilities.imports import output_path
from cw.capabilities.money import ATTRIBUTION, JSON_OUT, run_key, spend_items, verify_loaded
from cw.capabilities.table import CWD, FX, NOW, PRICING, SCOPE, WINDOW, Capability, Param
from cw.core import attribution as attr
from cw.core import export as ex
from cw.core.currency import parse_currency
from cw.core.fingerprint import run_app
from cw.core.metrics import usage_units
from cw.core.pnl import revenue_items
from cw.core.pricing import price_unit, usage_cost_parts
from cw.model.errors import UsageError
from cw.shell.scan import iter_runs
from cw.shell.sidefiles import has_ledger
from cw.shell.store import atomic_write
from cw.shell.workspace import Workspace
from cw.shell.zones import window_from_args

OUTPUT = Param(
    "output",
    "the file to write (replaced atomically; never inside .cw/); default: stdout (parquet needs a file)",
    metavar="FILE",
    cli_short="-o",
)
MISSING_WAREHOUSE = "cw export --format parquet needs the optional extra 'warehouse' (DuckDB): " + extra_hint(
    "warehouse"
)
#: Parquet money columns: exact to 18 decimal places (38 digits in all).
PARQUET_DECIMAL = "DECIMAL(38,18)"
_Q18 = Decimal("1e-18")
_WIDE = Context(prec=80)


def _target(ws: Workspace, value: Any, fmt: str) -> Path | None:
    if value is None:
        if fmt == "parquet":
            raise UsageError("--format parquet writes a file: name it with -o FILE (e.g. -o usage.parquet).")
        return None
    ext = {"otlp": "otlp.jsonl", "focus": "csv"}.get(fmt, fmt)
    path = output_path(ws, value, "-o", f"usage.{ext}")
    real = Path(os.path.realpath(path.parent)) / path.name
    if ".cw" in path.parts or ".cw" in real.parts:
        raise UsageError(
            f"Invalid -o {path}: cw does not write exports inside .cw/ (its run files); name another file."
        )
    return path


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise UsageError(MISSING_WAREHOUSE) from None
    return duckdb


def _gather(ws: Workspace, a: dict[str, Any], policy: Any, model: attr.AttributionModel) -> dict[str, Any]:
    """The same per-unit and per-entry figures ``cw pnl`` nets, with what each unit and entry says about itself."""
    units: list[dict[str, Any]] = []
    nodes: dict[str, attr.RunNode] = {}
    ledgers: dict[str, Any] = {}
    created: dict[str, Any] = {}
    repos: dict[str, str] = {}
    shown: dict[str, str] = {}  # run key -> the run id rows show
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    refused: list[dict[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    for item in iter_runs(ws, a.get("scope") or "repo", a.get("cwd")):
        if item.error is not None:
            unreadable.append({"runId": item.run_id, "repo": str(item.repo), "reason": item.error})
            continue
        st = item.state
        assert st is not None  # a readable run has its state
        # Runs are keyed by (repo, directory), as cw pnl keys them: one id in two repos is two runs.
        rid = run_key(item.repo, item.dir.name)
        shown[rid] = str(st.get("id"))
        app = run_app(st)
        nodes[rid] = attr.RunNode(
            created_at=st.get("createdAt"),
            parents=tuple(run_key(item.repo, p) for p in st.get("parentRunIds", []) if isinstance(p, str)),
            actor=st.get("actor") if isinstance(st.get("actor"), str) else "unattributed",
            app=app if isinstance(app, str) else None,
        )
        created[rid] = st.get("createdAt")
        repos[rid] = str(item.repo)
        for u, spend in zip(usage_units(st), spend_items(st, policy), strict=True):
            rec = u.record if isinstance(u.record, dict) else {}
            parts = None
            if spend["state"] in ("attested", "estimated"):
                price = price_unit(u.usage, policy).price
                assert price is not None  # a priced unit has its price
                parts = usage_cost_parts(u.usage, price)
                assert sum(c for _, _, c in parts) == spend["amount"]  # the buckets add up to pnl's figure
            start = rec.get("dispatchedAt") or rec.get("startedAt")
            units.append(
                {
                    **spend,
                    "runCreatedAt": st.get("createdAt"),
                    "repo": str(item.repo),
                    "unitKind": u.kind,
                    "backend": rec.get("backendId"),
                    "usage": u.usage,
                    "startAt": start,
                    "parts": parts,
                }
            )
        if has_ledger(item.dir, st):
            res = verify_loaded(item.dir, st)
            if res.ok:
                ledgers[rid] = st.get("revenue")
                for e in (st.get("revenue") or {}).get("entries") or []:
                    entries[(rid, e["id"])] = e
            else:
                p = res.problem or {}
                refused.append(
                    {
                        "runId": item.dir.name,
                        "repo": str(item.repo),
                        "reason": f"revenue ledger does not verify ({p.get('entryId') or 'ledger'}: {p.get('what')})",
                    }
                )
    revenue = []
    for r in revenue_items(ledgers, nodes, model):
        e = entries.get((r["bookedRunId"], r["entryId"]), {})
        booking = e.get("reverses") or r["entryId"]
        revenue.append(
            {
                **r,
                "runId": shown[r["runId"]],
                "bookedRunId": shown[r["bookedRunId"]],
                "runCreatedAt": created.get(r["runId"]),
                "repo": repos.get(r["runId"]),
                "entryKind": e.get("kind"),
                "ref": entries.get((r["bookedRunId"], booking), {}).get("ref"),
            }
        )
    return {"units": units, "revenue": revenue, "refused": refused, "unreadable": unreadable}


# --- writers -----------------------------------------------------------------------------------------


def _parquet_value(col: str, v: Any) -> Any:
    if col in ex.MONEY_COLUMNS and v is not None:
        q = v.quantize(_Q18, rounding=ROUND_HALF_EVEN, context=_WIDE)
        if len(q.as_tuple().digits) > 38:
            raise UsageError(
                f"An amount in the export ({ex.decimal_text(v)}) is too large for Parquet {PARQUET_DECIMAL}."
            )
        return format(q, "f")
    return v


def _write_parquet(path: Path, rows: list[dict[str, Any]], token: str) -> None:
    duckdb = _duckdb()
    types = {
        c: ("BIGINT" if c in ex.TOKEN_COLUMNS else PARQUET_DECIMAL if c in ex.MONEY_COLUMNS else "VARCHAR")
        for c in ex.COLUMNS
    }
    tmp = path.parent / f".{path.name}.{token}.tmp"
    con = duckdb.connect(":memory:")
    try:
        con.execute("CREATE TABLE export (" + ", ".join(f'"{c}" {t}' for c, t in types.items()) + ")")
        marks = ", ".join(f"CAST(? AS {PARQUET_DECIMAL})" if c in ex.MONEY_COLUMNS else "?" for c in ex.COLUMNS)
        if rows:
            con.executemany(
                f"INSERT INTO export VALUES ({marks})", [[_parquet_value(c, r[c]) for c in ex.COLUMNS] for r in rows]
            )
        literal = "'" + str(tmp).replace("'", "''") + "'"
        con.execute(f"COPY (SELECT * FROM export ORDER BY rowid) TO {literal} (FORMAT parquet)")
        con.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --- the verb ------------------------------------------------------------------------------------------


def export(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    fmt = a.get("format")
    if fmt not in ex.FORMATS:
        raise UsageError(f'Invalid --format "{fmt}": expected one of {", ".join(ex.FORMATS)}.')
    target = _target(ws, a.get("output"), fmt)
    if fmt == "parquet":
        _duckdb()  # a missing extra is said before any work
    currency = parse_currency(ws.currency(a), flag="--currency")
    model = attr.parse_attribution_model(a.get("attribution"), a.get("half_life"))
    window = window_from_args(a, ws)
    now = ws.now(a.get("now"))  # checked there
    policy, header = ws.pricing(a)
    fx = ws.fx(a)
    got = _gather(ws, a, policy, model)
    rows, counts = ex.build_rows(got["units"], got["revenue"], window=window, currency=currency, fx_policy=fx)
    content: str | None = None
    n = len(rows)
    if fmt == "jsonl":
        content = ex.to_jsonl(rows)
    elif fmt == "csv":
        content = ex.to_csv(rows)
    elif fmt == "otlp":
        content = ex.to_otlp(rows, version=__version__)
    elif fmt == "focus":
        focus = ex.focus_rows(rows)
        n = len(focus)
        content = ex.to_focus_csv(focus)
    if target is not None:
        if fmt == "parquet":
            _write_parquet(target, rows, ws.token(8))
        else:
            assert content is not None
            atomic_write(target, content.encode("utf-8"))
    return {
        "schemaVersion": 1,
        "surface": "export",
        "generatedAt": now,
        "format": fmt,
        "scope": a.get("scope") or "repo",
        "file": str(target) if target is not None else None,
        "rows": n,
        "units": counts["units"],
        "revenueEntries": counts["revenue"],
        "undatedUnits": counts["undated"],
        "idScheme": ex.ID_VERSION,
        "currency": currency,
        "pricingPolicy": header,
        "fxPolicyId": fx.id if fx is not None else None,
        "attribution": model.header(),
        "window": window.header(),
        "refusedRevenue": got["refused"],
        "unreadable": got["unreadable"],
        "content": content if target is None else None,
    }


def _text(p: dict[str, Any]) -> str:
    if p["file"] is None:
        return (p["content"] or "").removesuffix("\n")
    lines = [
        f"wrote {p['rows']} {p['format']} rows to {p['file']}: {p['units']} usage units, "
        f"{p['revenueEntries']} revenue entries"
    ]
    if p["undatedUnits"]:
        lines.append(f"  left out {p['undatedUnits']} undated unit(s): the window cannot place them")
    lines += [f"  refused revenue {r['runId']} ({r['repo']}): {r['reason']}" for r in p["refusedRevenue"]]
    lines += [f"  unreadable {u['runId']} ({u['repo']}): {u['reason']}" for u in p["unreadable"]]
    return "\n".join(lines)


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "export",
        ("export",),
        "Export usage and revenue rows: JSON lines, CSV, OTLP, FOCUS or Parquet.",
        (
            Param("format", "the file format", choices=ex.FORMATS, required=True),
            OUTPUT,
            SCOPE,
            Param("currency", "reporting currency of reportAmount (default: the config's, else USD)", metavar="CODE"),
            FX,
            PRICING,
            *ATTRIBUTION,
            *WINDOW,
            NOW,
            CWD,
            JSON_OUT,
        ),
        export,
        read_only=False,
        text=_text,
        description="One row per usage unit and per attributed revenue entry, from the same figures as `cw pnl` "
        "(so totals per actor, app or run match it for the same window and options), with ids that stay the "
        "same on every export and machine (docs/export.md). Unreported and unpriced units carry their state "
        "and no cost. Without -o the rows go to stdout (and into the --json payload's content); "
        f"parquet needs -o and the 'warehouse' extra ({extra_hint('warehouse')}).",
        examples=(
            "cw export --format jsonl -o usage.jsonl",
            "cw export --scope home --since 2026-11-01 --until 2026-12-01 --format focus -o focus.csv",
            "cw export --format otlp -o traces.jsonl",
            "cw export --format parquet -o usage.parquet",
        ),
    ),
)
