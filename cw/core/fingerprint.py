"""The structural source fingerprint of a run (cw-compat §4.3), and the JavaScript value rules it needs.

``source_fingerprint(run)`` reproduces CW's ``sourceFingerprint`` exactly for
any run CW wrote: a list of strings, one per fact metrics depend on, sorted in
UTF-16 code-unit order, encoded as compact JSON the way ``JSON.stringify``
writes it, hashed with SHA-256 and cut to 32 hex digits. Values are rendered
the way a JavaScript template literal renders them (``undefined`` for a
missing key, ``null``, numbers via ``js_number``, ``|| "-"`` and ``?? "-"``
fallbacks as CW uses them).

``source_fingerprint`` is CW's value for every run, cw's included, so a
snapshot either tool writes reads the same in both. cw's additions are
covered by a second value, ``cw_fingerprint`` (the snapshot's
``cwFingerprint``): CW's list plus these strings, for runs that carry any of
them (``None`` otherwise):

* ``actor:<actor>`` and ``claimedActor:<claim>`` (run top level);
* ``parent:<id>`` for each entry of ``parentRunIds``;
* ``costBudget:<amount>:<currency>`` when ``budget.costBudget`` exists;
* ``revenue:<entry id>:<entry hash>`` for each entry of ``revenue.entries``
  (its ``id`` and chain ``hash``);
* per task or worker usage record carrying ``actor``:
  ``usage-actor:<task|worker>:<id>:<actor>``;
* per task or worker usage record carrying ``reasoningTokens``:
  ``reasoning:<task|worker>:<id>:<n>``;
* per task or worker usage record carrying ``cacheWrite1hTokens``:
  ``cache-write-1h:<task|worker>:<id>:<n>``.

The JavaScript helpers here (``MISSING``, ``js_string``, ``js_truthy``,
``js_json``, ``js_get``, ``object_records``) are shared by the other
derivations that must treat values as CW's JavaScript does.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal
from typing import Any, cast

from cw.core.numbers import cu_key, js_number


class _Missing:
    """JavaScript ``undefined``: a key that is not there (distinct from ``None``, JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"  # pickled by name: a copy sent to another process is the same sentinel


MISSING: Any = _Missing()

_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")
_MAX_SAFE = 2**53
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_JSON_ESCAPED = bytes(range(0x20)) + b'"\\'  # the ASCII bytes JSON.stringify writes as escapes


def js_truthy(v: Any) -> bool:
    """JavaScript truthiness: ``undefined``, ``null``, ``false``, ``0``, ``NaN`` and ``""`` are falsy.

    Unlike Python, an empty object or array is truthy (``{}`` usage is attested).
    """
    if type(v) is str:
        return v != ""
    if v is None or v is False or v is MISSING:
        return False
    if v is True:
        return True
    if isinstance(v, str):
        return v != ""
    if isinstance(v, (int, float)):
        return v == v and v != 0
    if isinstance(v, Decimal):
        return not v.is_nan() and v != 0
    return True


def js_string(v: Any) -> str:
    """JavaScript ``String(v)`` / template-literal rendering of a JSON value (or ``MISSING``)."""
    t = type(v)
    if t is str:
        return cast(str, v)
    if t is int and -_MAX_SAFE <= v <= _MAX_SAFE:
        return str(v)
    if v is MISSING:
        return "undefined"
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return ",".join("" if e is None or e is MISSING else js_string(e) for e in v)
    if isinstance(v, dict):
        return "[object Object]"
    return js_number(v)


def _fix_surrogates(m: re.Match[str]) -> str:
    s = m.group()
    if len(s) == 2:  # a pair held as two code points: JavaScript sees one character
        return chr(0x10000 + ((ord(s[0]) - 0xD800) << 10) + (ord(s[1]) - 0xDC00))
    return f"\\u{ord(s):04x}"


def js_quote(s: str) -> str:
    """A string as ``JSON.stringify`` writes it: raw non-ASCII, lone surrogates escaped."""
    out = json.dumps(s, ensure_ascii=False)
    if not out.isascii() and _SURROGATES.search(out):
        out = _SURROGATES.sub(_fix_surrogates, out)
    return out


def js_json(v: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON as JavaScript writes it; with ``sort_keys`` object keys go in code-unit order.

    ``MISSING`` (and ``undefined`` values inside objects) print as ``null``, as
    CW's key-sorting stringifier does; non-finite numbers print as ``null``.
    """
    if v is None or v is MISSING:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return js_quote(v)
    if isinstance(v, (int, Decimal)):
        return js_number(v) if not (isinstance(v, Decimal) and not v.is_finite()) else "null"
    if isinstance(v, float):
        return js_number(v) if math.isfinite(v) else "null"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(js_json(e, sort_keys=sort_keys) for e in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=cu_key) if sort_keys else list(v)
        return "{" + ",".join(js_quote(k) + ":" + js_json(v[k], sort_keys=sort_keys) for k in keys) + "}"
    return js_quote(str(v))


def _or_dash(v: Any) -> str:
    """``${v || "-"}``."""
    if type(v) is str:
        return v or "-"
    return js_string(v) if js_truthy(v) else "-"


def _nullish_dash(v: Any) -> str:
    """``${v ?? "-"}``."""
    return "-" if v is None or v is MISSING else js_string(v)


def js_get(rec: Any, key: str) -> Any:
    """``rec?.key``: ``MISSING`` when rec is not an object or lacks the key."""
    return rec.get(key, MISSING) if isinstance(rec, dict) else MISSING


def object_records(v: Any) -> list[dict[str, Any]]:
    """The object records of an array field (anything else is skipped)."""
    return [r for r in v if isinstance(r, dict)] if isinstance(v, list) else []


def run_app(run: dict[str, Any]) -> Any:
    """``workflow.app?.id || workflow.id`` (``MISSING`` when both are absent)."""
    workflow = run.get("workflow")
    app_id = js_get(js_get(workflow, "app"), "id")
    return app_id if js_truthy(app_id) else js_get(workflow, "id")


def usage_key(usage: Any) -> str:
    """CW's ``usageKey``: ``unreported`` or ``<source>:<model>:<input>:<output>``."""
    if type(usage) is not dict:
        if not js_truthy(usage):
            return "unreported"
        usage = {}
    get = usage.get
    source = get("source", MISSING)
    model = get("model")
    inp = get("inputTokens")
    out = get("outputTokens")
    # Plain strings and safe integers print as themselves; anything else goes through the JS rules.
    return (
        f"{source if type(source) is str else js_string(source)}:"
        f"{model if type(model) is str and model else _or_dash(model)}:"
        f"{inp if type(inp) is int and -_MAX_SAFE <= inp <= _MAX_SAFE else _nullish_dash(inp)}:"
        f"{out if type(out) is int and -_MAX_SAFE <= out <= _MAX_SAFE else _nullish_dash(out)}"
    )


def _s(v: Any) -> str:
    """``js_string`` with the plain-string case first (the common one, called per record)."""
    return v if type(v) is str else js_string(v)


def _d(v: Any) -> str:
    """``_or_dash`` with the non-empty-string case first."""
    return v if type(v) is str and v else _or_dash(v)


def _usage_additions(append: Any, kind: str, rid: str, usage: dict[str, Any]) -> None:
    """cw's additions for one usage record: who caused it, and reasoning tokens (only when present)."""
    if "actor" in usage:
        append(f"usage-actor:{kind}:{rid}:{_s(usage['actor'])}")
    if "reasoningTokens" in usage:
        append(f"reasoning:{kind}:{rid}:{_s(usage['reasoningTokens'])}")
    if "cacheWrite1hTokens" in usage:
        append(f"cache-write-1h:{kind}:{rid}:{_s(usage['cacheWrite1hTokens'])}")


def all_parts(run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """CW's list of fingerprint strings and, apart, cw's additions present on the run (both unsorted)."""
    S = js_string
    parts = [
        f"id:{S(run.get('id', MISSING))}",
        f"createdAt:{S(run.get('createdAt', MISSING))}",
        f"updatedAt:{S(run.get('updatedAt', MISSING))}",
        f"app:{S(run_app(run))}",
    ]
    extra: list[str] = []
    append = parts.append
    add = extra.append
    for t in object_records(run.get("tasks")):
        get = t.get
        rid = _s(get("id", MISSING))
        usage = get("usage", MISSING)
        append(
            f"task:{rid}:{_s(get('status', MISSING))}:{_d(get('dispatchedAt'))}:{_d(get('completedAt'))}:"
            f"{usage_key(usage)}:{_d(get('backendId'))}"
        )
        if isinstance(usage, dict):
            _usage_additions(add, "task", rid, usage)
    for w in object_records(run.get("workers")):
        get = w.get
        rid = _s(get("id", MISSING))
        usage = get("usage", MISSING)
        output = get("output")
        recorded = output.get("recordedAt", MISSING) if type(output) is dict else js_get(output, "recordedAt")
        append(f"worker:{rid}:{_s(get('status', MISSING))}:{_d(recorded)}:{usage_key(usage)}:{_d(get('backendId'))}")
        if isinstance(usage, dict):
            _usage_additions(add, "worker", rid, usage)
    for n in object_records(run.get("nodes")):
        if n.get("kind") == "verifier":
            append(f"verifier:{_s(n.get('id', MISSING))}:{_s(n.get('status', MISSING))}")
    for prefix, records in (
        ("candidate", run.get("candidates")),
        ("feedback", run.get("feedback")),
        ("membership", js_get(run.get("multiAgent"), "memberships")),
    ):
        for r in object_records(records):
            append(f"{prefix}:{_s(r.get('id', MISSING))}:{_s(r.get('status', MISSING))}")
    if "actor" in run:
        add(f"actor:{S(run['actor'])}")
    if "claimedActor" in run:
        add(f"claimedActor:{S(run['claimedActor'])}")
    parents = run.get("parentRunIds")
    if isinstance(parents, list):
        extra.extend(f"parent:{S(p)}" for p in parents)
    budget = run.get("budget")
    if isinstance(budget, dict) and "costBudget" in budget:
        cb = budget["costBudget"]
        add(f"costBudget:{S(js_get(cb, 'amount'))}:{S(js_get(cb, 'currency'))}")
    for entry in object_records(js_get(run.get("revenue"), "entries")):
        add(f"revenue:{S(entry.get('id', MISSING))}:{S(entry.get('hash', MISSING))}")
    return parts, extra


def fingerprint_parts(run: dict[str, Any]) -> list[str]:
    """CW's unsorted list of fingerprint strings."""
    return all_parts(run)[0]


def fingerprint_strings(parts: list[str]) -> str:
    """``sha256:`` + the first 32 hex digits over the code-unit-sorted list as compact JSON."""
    # Code-unit and code-point order differ only when a character above U+FFFF is present.
    joined = "".join(parts)
    ascii_only = joined.isascii()
    astral = not ascii_only and _ASTRAL.search(joined)
    ordered = sorted(parts, key=cu_key) if astral else sorted(parts)
    raw = joined.encode("ascii") if ascii_only else b""
    if ascii_only and len(raw.translate(None, _JSON_ESCAPED)) == len(raw):
        # ASCII with nothing JSON escapes (no control character, quote or backslash): strings as they are.
        text = '["' + '","'.join(ordered) + '"]' if ordered else "[]"
    else:
        text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
        if not text.isascii() and _SURROGATES.search(text):
            text = _SURROGATES.sub(_fix_surrogates, text)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def source_fingerprint(run: dict[str, Any]) -> str:
    """The run's ``sourceFingerprint``: CW's value, for CW's runs and cw's alike."""
    return fingerprint_strings(all_parts(run)[0])


def fingerprints(run: dict[str, Any]) -> tuple[str, str | None]:
    """``(sourceFingerprint, cwFingerprint)``; the second is None for a run without cw's additions."""
    parts, extra = all_parts(run)
    return fingerprint_strings(parts), fingerprint_strings(parts + extra) if extra else None


def cw_fingerprint(run: dict[str, Any]) -> str | None:
    """CW's strings plus cw's additions; None when the run carries none of them."""
    return fingerprints(run)[1]
