"""Data import verbs: prices from genai-prices, FX from the ECB's files, revenue from Stripe exports."""

from __future__ import annotations

import os
import stat
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cw.capabilities.table import CWD, NOW, PRICING, SCOPE, Capability, Param
from cw.core import ecb, ledger, pricecheck, priceimport, stripeimport
from cw.core.fx import validate_fx_policy
from cw.core.jsonout import dumps
from cw.core.numbers import whole_number
from cw.core.pricing import price_problem
from cw.model.errors import CwError, UsageError
from cw.shell import sidefiles
from cw.shell.paths import NotRegularFileError, check_path_text, read_regular
from cw.shell.scan import iter_runs
from cw.shell.store import LoadedRun, Update, atomic_write, read_run_dir
from cw.shell.workspace import Workspace

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)
OUTPUT = Param(
    "output",
    "the policy file to write (replaced atomically if it exists)",
    required=True,
    metavar="FILE",
    cli_short="-o",
)


def output_path(ws: Workspace, value: Any, flag: str = "--output", example: str = "policy.json") -> Path:
    """Where ``-o FILE`` writes: resolved against the process cwd; its folder must exist, and what is there
    already must be a regular file (the atomic replace would swap a pipe or a device for a plain file)."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"Missing {flag}: name the file to write (e.g. {flag} {example}).")
    check_path_text(value, flag)
    path = Path(os.path.normpath(os.path.join(ws.process_cwd, value)))
    if path.is_dir():
        raise UsageError(f"Invalid {flag} {path}: it is a directory; name a file.")
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise UsageError(f"Invalid {flag} {path}: it is {kind}, not a regular file; name a file.")
    if not path.parent.is_dir():
        raise UsageError(f"Invalid {flag} {path}: the folder {path.parent} does not exist.")
    return path


# --- pricing import ----------------------------------------------------------------------------


def _default_price(value: Any) -> tuple[Decimal, Decimal] | None:
    if not value:
        return None
    out = []
    for text in value:
        try:
            d = Decimal(str(text))
        except InvalidOperation:
            d = Decimal(-1)
        problem = price_problem(d)
        if problem is not None:
            raise UsageError(
                f'Invalid --default-price "{text}": {problem}; expected two prices per million tokens '
                "(input output), e.g. --default-price 3 15."
            )
        out.append(d)
    return out[0], out[1]


def _check_written_policy(policy: dict[str, Any], out: Path) -> None:
    """A policy cw writes must pass both the core's checks and the published schema; else nothing is written."""
    import msgspec

    from cw.core.pricing import validate_policy
    from cw.shell.policies import schema_problem

    doc = msgspec.json.Decoder(float_hook=Decimal).decode(dumps(policy))  # as every reader will see it
    validate_policy(doc, str(out))
    problem = schema_problem(doc)
    if problem is not None:
        raise CwError(
            f"The imported policy for {out} does not match schemas/pricing-policy.schema.json ({problem}); nothing was written."
        )


def pricing_import(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    source = a.get("from")
    if source != "genai-prices":
        raise UsageError(f'Invalid --from "{source}": the one source cw imports prices from is genai-prices.')
    out = output_path(ws, a.get("output"))
    default = _default_price(a.get("default_price"))
    now = ws.now(a.get("now"))
    from cw.shell.genai import load_genai_prices

    version, providers = load_genai_prices()
    result = priceimport.build_policy(
        providers,
        version=version,
        taken_on=now[:10],
        provider_ids=list(a.get("provider") or []),
        model_globs=list(a.get("model") or []),
        policy_id=a.get("id"),
        default_price=default,
    )
    _check_written_policy(result.policy, out)
    atomic_write(out, (dumps(result.policy) + "\n").encode("utf-8"))
    return {
        "schemaVersion": 1,
        "surface": "pricing-import",
        "file": str(out),
        "policyId": result.policy["id"],
        "source": result.policy["source"],
        "from": {"package": "genai-prices", "version": version},
        "models": result.models,
        "entries": result.entries,
        "skipped": result.skipped,
        "notCarried": result.not_carried,
        "shadowed": result.shadowed,
    }


def _text_import(p: dict[str, Any]) -> str:
    lines = [
        f"wrote {p['file']}: {p['models']} models, {p['entries']} entries from genai-prices {p['from']['version']}"
    ]
    if p["skipped"]:
        lines.append(f"  left out {len(p['skipped'])} models:")
        lines += [f"    {s['provider']}/{s['model']}: {s['reason']}" for s in p["skipped"]]
    if p["shadowed"]:
        lines.append(f"  {len(p['shadowed'])} models also listed by a later provider kept the first's prices")
    if p["notCarried"]:
        lines.append(
            f"  {len(p['notCarried'])} models have prices cw does not carry "
            "(variants, off-peak or non-token prices; --json lists them)"
        )
    return "\n".join(lines)


# --- pricing check -----------------------------------------------------------------------------


def pricing_check(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    max_age = pricecheck.parse_max_age(a.get("max_age"))
    now = ws.now(a.get("now"))
    scope = a.get("scope") or "repo"
    # the policy the other verbs price with: --pricing over the config's, else the bundled one
    policy, _ = ws.pricing(a)
    if policy is None:
        raise UsageError(
            "--pricing none: cw pricing check checks a policy; name one (default, cw-example or a file), "
            "or set pricing in the config."
        )
    runs: list[tuple[str, str, dict[str, Any]]] = []
    unreadable: list[dict[str, Any]] = []
    for item in iter_runs(ws, scope, a.get("cwd")):
        if item.error is not None or item.state is None:
            unreadable.append({"runId": item.run_id, "repo": str(item.repo), "reason": item.error})
        else:
            runs.append((item.run_id, str(item.repo), item.state))
    return pricecheck.check_pricing(runs, policy, now=now, max_age=max_age, scope=scope, unreadable=unreadable)


# --- fx import ---------------------------------------------------------------------------------

MAX_INPUT_BYTES = 256 * 1024 * 1024  # the ECB's full history is a few MB; anything this large is not one


def read_input(ws: Workspace, value: Any, flag: str = "FILE") -> tuple[Path, bytes]:
    """The bytes of an input file named on the command line (resolved against the process cwd)."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"Missing {flag}: name the file to read.")
    check_path_text(value, flag)
    path = Path(os.path.normpath(os.path.join(ws.process_cwd, value)))
    if not path.is_file():
        raise UsageError(f"{flag} {path}: no such file" + (" (it is a directory)" if path.is_dir() else "") + ".")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise UsageError(f"{flag} {path}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB; not an input cw reads.")
    try:
        return path, read_regular(path, MAX_INPUT_BYTES)
    except NotRegularFileError as exc:
        raise UsageError(f"Invalid {flag}: {exc.message}") from None
    except OSError as exc:
        raise UsageError(f"Cannot read {flag} {path}: {exc.strerror or exc}") from None


def _days(value: Any, flag: str) -> int | None:
    if value is None:
        return None
    n = whole_number(value, 36600)
    if n is None:
        raise UsageError(f'Invalid {flag} "{value}": expected a whole number of days (e.g. {flag} 7).')
    return n


def fx_import(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    src, data = read_input(ws, a.get("file"))
    out = output_path(ws, a.get("output"))
    if out.exists() and os.path.samefile(out, src):
        raise UsageError(f"Invalid --output {out}: it is the ECB file being read; name another file for the policy.")
    max_age = _days(a.get("max_rate_age"), "--max-rate-age")
    rates = ecb.read_ecb(data, str(src))
    newest = max(d for d, _ in rates.fixings)
    doc = ecb.fx_policy_doc(rates, name=src.name, policy_id=a.get("id") or f"ecb-{newest}", max_rate_age_days=max_age)
    policy = validate_fx_policy(doc, str(out))  # the file written must load as it is
    atomic_write(out, (dumps(doc) + "\n").encode("utf-8"))
    currencies = sorted({c for f in policy.fixings for c in f.per_base})
    return {
        "schemaVersion": 1,
        "surface": "fx-import",
        "file": str(out),
        "input": str(src),
        "format": rates.format,
        "policyId": policy.id,
        "fixings": len(policy.fixings),
        "firstDate": policy.fixings[0].date,
        "lastDate": policy.fixings[-1].date,
        "currencies": currencies,
        "maxRateAgeDays": policy.max_rate_age_days,
    }


def _text_fx_import(p: dict[str, Any]) -> str:
    return (
        f"wrote {p['file']}: {p['fixings']} ECB fixings ({p['format']}) from {p['firstDate']} to {p['lastDate']}, "
        f"{len(p['currencies'])} currencies per 1 EUR; rates older than {p['maxRateAgeDays']} days are called out"
    )


# --- revenue import ----------------------------------------------------------------------------


def _ledgers(
    ws: Workspace, a: dict[str, Any]
) -> tuple[Any, dict[str, list[dict[str, Any]]], dict[str, str], dict[str, str]]:
    """(store, verified ledger entries per run, ref -> run holding it, run -> why its revenue cannot take entries)."""
    store = ws.store(a.get("cwd"))
    runs: dict[str, list[dict[str, Any]]] = {}
    refs: dict[str, str] = {}
    refused: dict[str, str] = {}
    for d in store.iter_run_dirs():
        try:
            state = read_run_dir(d)
        except CwError as exc:
            refused[d.name] = f"run {d.name} cannot be read ({exc.message})"
            continue
        res = ledger.verify(state.get("revenue"), sidefiles.read_head(d), d.name)
        if not res.ok:
            refused[d.name] = f"the revenue ledger of run {d.name} does not verify (cw ledger verify)"
            continue
        entries = list((state.get("revenue") or {}).get("entries") or [])
        runs[d.name] = entries
        for e in entries:
            if e.get("kind") == "booked":
                refs[ledger.ref_key(e["ref"])] = d.name
    return store, runs, refs, refused


def _money(v: Any) -> str:
    return format(v, "f")


def revenue_import(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    if a.get("dry_run"):
        return _revenue_import(ws, a)
    from cw.capabilities.money import with_ledger_lock

    # The repo's ledger lock, as cw revenue add takes it: refs are checked and booked as one step.
    return with_ledger_lock(ws, ws.store(a.get("cwd")).repo, lambda: _revenue_import(ws, a))


def _revenue_import(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    fmt = a.get("format")
    if fmt not in stripeimport.FORMATS:
        raise UsageError(f'Missing or invalid --format "{fmt or ""}": expected stripe-payments or stripe-balance.')
    run_col = a.get("run_column")
    if not run_col:
        raise UsageError(
            'Missing --run-column: name the column holding the run id (e.g. --run-column "cw_run (metadata)").'
        )
    src, data = read_input(ws, a.get("file"))
    rows = stripeimport.read_export(data, str(src), fmt, run_col, a.get("actor_column"))
    store, runs, refs, refused = _ledgers(ws, a)
    plan = stripeimport.plan_import(rows, fmt=fmt, file_label=src.name, runs=runs, refs_elsewhere=refs)
    for item in plan.bad:
        if item["what"].startswith("unknown run") and item["runId"] in refused:
            item["what"] = refused[item["runId"]]
    # a dry run shows the whole plan, bad rows included: that is what the refusal's hint sends people to
    if plan.bad and not a.get("skip_bad") and not a.get("dry_run"):
        listed = "; ".join(f"line {b['line']} ({b['id']}): {b['what']}" for b in plan.bad[:20])
        more = f"; and {len(plan.bad) - 20} more" if len(plan.bad) > 20 else ""
        raise UsageError(
            f"{src}: {len(plan.bad)} row(s) cannot be booked, so nothing was: {listed}{more}.",
            hint="fix the rows, or pass --skip-bad to book the others (--dry-run shows the plan)",
        )
    now = ws.now()
    booked: list[dict[str, Any]] = []
    reversed_: list[dict[str, Any]] = []
    for run_id in sorted(set(plan.books) | set(plan.reversals)):
        books, revs = plan.books.get(run_id, []), plan.reversals.get(run_id, [])
        if a.get("dry_run"):
            booked += [
                {
                    "line": b["line"],
                    "runId": run_id,
                    "ref": b["ref"],
                    "amount": _money(b["amount"]),
                    "currency": b["currency"],
                    "at": b["at"],
                    "entryId": None,
                }
                for b in books
            ]
            reversed_ += [
                {
                    "line": r["line"],
                    "runId": run_id,
                    "reverses": r["target"],
                    "amount": _money(-r["amount"]),
                    "currency": r["currency"],
                    "entryId": None,
                }
                for r in revs
            ]
            continue
        ids: dict[str, str] = {}
        booked += [store.update(run_id, _import_fn(b, None, now, ids)) for b in books]
        reversed_ += [store.update(run_id, _import_fn(None, r, now, ids)) for r in revs]
    return {
        "schemaVersion": 1,
        "surface": "revenue-import",
        "file": str(src),
        "format": fmt,
        "dryRun": bool(a.get("dry_run")),
        "booked": booked,
        "reversed": reversed_,
        "unchanged": plan.unchanged,
        "ignored": plan.ignored,
        "skipped": plan.bad,
    }


def _import_fn(book: dict[str, Any] | None, rev: dict[str, Any] | None, now: str, ids: dict[str, str]) -> Any:
    """One booking or one reversal: each entry is its own write, so a killed import leaves the head file one
    entry behind at most (the tolerated trace of a crash) and a re-run books the rest (refs book once).
    ``ids`` carries the entry ids booked so far, for reversals of payments booked by the same import."""

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        ledger.ensure_verified(lr.state.get("revenue"), sidefiles.read_head(lr.dir), lr.run_id)
        doc = lr.state.get("revenue")
        run_actor = lr.state.get("actor") if isinstance(lr.state.get("actor"), str) else None
        if book is not None:
            doc, entry = ledger.book(
                doc,
                run_id=lr.run_id,
                amount=book["amount"],
                currency=book["currency"],
                ref=book["ref"],
                note=book["note"],
                at=book["at"],
                recorded_at=now,
                actor=book["actor"] or run_actor or "unattributed",
            )
            ids[book["ref"]] = entry["id"]
            row = {
                "line": book["line"],
                "runId": lr.run_id,
                "ref": book["ref"],
                "amount": entry["amount"],
                "currency": entry["currency"],
                "at": entry["at"],
                "entryId": entry["id"],
            }
        else:
            assert rev is not None
            target = ids[rev["target"]] if rev["planned"] else rev["target"]
            doc, entry = ledger.reverse(
                doc,
                entry_id=target,
                amount=rev["amount"],
                reason=rev["reason"],
                recorded_at=now,
                actor=rev["actor"] or run_actor or "unattributed",
                run_id=lr.run_id,
            )
            row = {
                "line": rev["line"],
                "runId": lr.run_id,
                "reverses": target,
                "amount": entry["amount"],
                "currency": entry["currency"],
                "entryId": entry["id"],
            }
        return sidefiles.ledger_update(lr, doc, row, now)

    return fn


def _text_revenue_import(p: dict[str, Any]) -> str:
    verb = "would book" if p["dryRun"] else "booked"
    lines = [
        f"{p['file']} ({p['format']}): {verb} {len(p['booked'])}, "
        f"{'would reverse' if p['dryRun'] else 'reversed'} {len(p['reversed'])}, "
        f"unchanged {len(p['unchanged'])}, ignored {len(p['ignored'])}, skipped {len(p['skipped'])}"
    ]
    lines += [f"  + line {b['line']}: {b['runId']} {b['amount']} {b['currency']} ref {b['ref']}" for b in p["booked"]]
    lines += [
        f"  - line {r['line']}: {r['runId']} {r['amount']} {r['currency']} of {r['reverses']}" for r in p["reversed"]
    ]
    said = "cannot be booked" if p["dryRun"] else "skipped"
    lines += [f"  ! line {s['line']} ({s['id']}): {said}: {s['what']}" for s in p["skipped"]]
    if p["dryRun"] and p["skipped"]:
        lines.append("  (without --skip-bad nothing is booked while a row cannot be)")
    return "\n".join(lines)


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "pricing.import",
        ("pricing", "import"),
        "Write a pricing policy from the installed genai-prices data.",
        (
            Param("from", "where the prices come from", required=True, choices=("genai-prices",), metavar="SOURCE"),
            Param(
                "provider",
                "only this genai-prices provider id (repeatable; first wins a shared model)",
                multiple=True,
                metavar="P",
            ),
            Param(
                "model",
                "only model ids matching this glob, e.g. 'claude-*' (repeatable)",
                multiple=True,
                metavar="GLOB",
            ),
            OUTPUT,
            Param("id", "the policy id (default genai-prices-<version>)", metavar="ID"),
            Param(
                "default_price",
                "add a defaultPrice (input output, per million tokens) for models without an entry",
                nargs=2,
                metavar="IN OUT",
            ),
            Param("now", "the date to record as pricesTakenOn (ISO 8601; default now)", metavar="ISO"),
            JSON_OUT,
        ),
        pricing_import,
        read_only=False,
        text=_text_import,
        description="Needs the optional extra 'prices' (genai-prices). Carries input, output, cache read, "
        "cache write (5-minute and 1-hour), reasoning and long-context tier prices, and every dated price "
        "change as the policy's history; see docs/pricing.md for what is not carried.",
        examples=(
            "cw pricing import --from genai-prices --provider anthropic --provider openai -o prices.json",
            "cw pricing import --from genai-prices --model 'claude-*' -o claude.json",
        ),
    ),
    Capability(
        "pricing.check",
        ("pricing", "check"),
        "List models the policy cannot price, and entries older than --max-age.",
        (
            PRICING,
            Param("max_age", "also list entries whose prices were read more than DAYS days ago", metavar="DAYS"),
            SCOPE,
            NOW,
            CWD,
            JSON_OUT,
        ),
        pricing_check,
        read_only=True,
        text=pricecheck.render_check_text,
        description="Uses the bundled policy unless --pricing names one. Exits 1 when anything is listed.",
        exit_code=lambda p: 0 if p["ok"] else 1,
        examples=("cw pricing check --pricing prices.json --max-age 30",),
    ),
    Capability(
        "fx.import",
        ("fx", "import"),
        "Write an FX policy from the ECB's reference-rate file (CSV or XML).",
        (
            Param(
                "file",
                "eurofxref-hist.csv, eurofxref.csv, eurofxref-daily.xml or eurofxref-hist.xml",
                positional=True,
                required=True,
                metavar="FILE",
            ),
            OUTPUT,
            Param("id", "the policy id (default ecb-<newest date>)", metavar="ID"),
            Param(
                "max_rate_age",
                "call out amounts converted at a rate more than DAYS days older than them (default 7)",
                metavar="DAYS",
            ),
            JSON_OUT,
        ),
        fx_import,
        read_only=False,
        text=_text_fx_import,
        description="Every day in the file becomes one fixing (units per 1 EUR, exactly as published); "
        "N/A rates are left out. A malformed file is refused naming the line, and nothing is written.",
        examples=("cw fx import eurofxref-hist.csv -o fx.json", "cw pnl --fx fx.json --currency EUR"),
    ),
    Capability(
        "revenue.import",
        ("revenue", "import"),
        "Book revenue from a Stripe export on the runs its rows name.",
        (
            Param("file", "the exported CSV file", positional=True, required=True, metavar="FILE"),
            Param("format", "which Stripe export it is", choices=stripeimport.FORMATS, required=True),
            Param(
                "run_column", "the column holding the run id, e.g. 'cw_run (metadata)'", required=True, metavar="COLUMN"
            ),
            Param("actor_column", "a column whose value, when set, is the entry's actor", metavar="COLUMN"),
            Param("dry_run", "show what would be booked and write nothing", type="boolean"),
            Param("skip_bad", "book the rows that can be booked and list the others", type="boolean"),
            CWD,
            JSON_OUT,
        ),
        revenue_import,
        read_only=False,
        text=_text_revenue_import,
        description="Refs are the charge id (payments export) or balance transaction id (balance history), so "
        "importing a file again books nothing twice; refunds become reversals. Rows that cannot be booked "
        "(no run, unknown run, bad amount) are listed with their line, and nothing is booked unless "
        "--skip-bad. One locked write per run.",
        examples=(
            'cw revenue import payments.csv --format stripe-payments --run-column "cw_run (metadata)" --dry-run',
            'cw revenue import balance.csv --format stripe-balance --run-column "cw_run (metadata)"',
        ),
    ),
)
