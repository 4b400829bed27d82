"""Loading a run's state document: decode, migrate, check shape, fill defaults.

This is CW's "migrate and normalize" (cw-compat §1.2), done in memory only.
The caller (the store) supplies the bytes and the facts about the run
directory; nothing here touches the disk.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from cw.model.errors import UnsupportedStateError, UsageError

SCHEMA_VERSION = 1
EPOCH = "1970-01-01T00:00:00.000Z"

RUN_ID_RE = re.compile(r"^[A-Za-z0-9._:-]+$")

REQUIRED_KEYS = (
    "schemaVersion",
    "id",
    "createdAt",
    "updatedAt",
    "cwd",
    "workflow",
    "inputs",
    "loopStage",
    "phases",
    "tasks",
    "dispatches",
    "commits",
    "paths",
)
ARRAY_KEYS = (
    "phases",
    "tasks",
    "dispatches",
    "commits",
    "nodes",
    "contracts",
    "feedback",
    "workers",
    "sandboxProfiles",
    "candidates",
    "candidateSelections",
)
OBJECT_KEYS = ("workflow", "paths", "multiAgent", "blackboard", "topologies", "collaboration")
LOOP_STAGES = ("interpret", "plan", "dispatch", "execute", "observe", "adjust", "verify", "commit", "report")

PATH_KEYS = (
    ("runDir", ""),
    ("state", "state.json"),
    ("report", "report.md"),
    ("tasksDir", "tasks"),
    ("resultsDir", "results"),
    ("dispatchesDir", "dispatches"),
    ("artifactsDir", "artifacts"),
    ("commitsDir", "commits"),
    ("stateNodesDir", "nodes"),
    ("feedbackDir", "feedback"),
    ("auditDir", "audit"),
    ("workersDir", "workers"),
    ("candidatesDir", "candidates"),
    ("multiAgentDir", "multi-agent"),
    ("blackboardDir", "blackboard"),
    ("topologiesDir", "topologies"),
)
MULTI_AGENT_ARRAYS = ("runs", "roles", "groups", "memberships", "fanouts", "fanins")

_decoder = msgspec.json.Decoder()

#: What a JSON reader can raise for bad bytes: malformed JSON, invalid UTF-8, absurd nesting.
JSON_ERRORS = (msgspec.DecodeError, ValueError, RecursionError)


def check_run_id(run_id: Any, what: str = "run id") -> str:
    """A run id is one safe path segment; anything else is refused (exit 2)."""
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or run_id in (".", ".."):
        raise UsageError(
            f"Unsafe {what}: {_js_quote(run_id)} must be a single path segment ([A-Za-z0-9._:-], not '.' or '..')",
            hint="cw run list" if what == "run id" else None,
        )
    return run_id


def _js_quote(v: Any) -> str:
    return msgspec.json.encode(v if isinstance(v, str) else str(v)).decode()


def decode_json(raw: bytes, label: str) -> Any:
    """Parse JSON bytes, or refuse with CW's message naming the file."""
    try:
        return _decoder.decode(raw)
    except JSON_ERRORS as exc:
        raise UnsupportedStateError(f"Invalid JSON in {label}: {exc}") from None


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _schema_version(doc: dict[str, Any]) -> int:
    if "schemaVersion" not in doc:
        return 0
    v = doc["schemaVersion"]
    if isinstance(v, bool) or not isinstance(v, int):
        shown = msgspec.json.encode(v).decode() if not isinstance(v, str) else v
        raise UnsupportedStateError(
            "Unsupported CW run state: Run state schemaVersion invalid "
            f"({_type_name(v)}: {shown}) is newer than this CW runtime ({SCHEMA_VERSION})."
        )
    if v > SCHEMA_VERSION:
        raise UnsupportedStateError(
            f"Unsupported CW run state: Run state schemaVersion {v} is newer than this CW runtime ({SCHEMA_VERSION})."
        )
    if v < 0:
        raise UnsupportedStateError(f"Unsupported CW run state: Unsupported run-state schemaVersion {v}.")
    return v


def data_loss_message(run_id: str) -> str:
    return (
        f"Refusing to load run {run_id}: state.json is missing its core fields (workflow, paths), "
        "but the run directory already has task, commit, or other content on disk. This looks like "
        "state.json was corrupted, truncated, or replaced by something outside cw, not a new run. "
        "Restore state.json from a backup, or remove the run directory to start over."
    )


# The record fields cw reads, with the JSON types they must have when present (None = null allowed).
_STR, _OPT_STR = (str,), (str, type(None))
_RECORD_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "tasks": {
        "id": _STR,
        "status": _STR,
        "workerId": _OPT_STR,
        "dispatchedAt": _OPT_STR,
        "completedAt": _OPT_STR,
        "backendId": _OPT_STR,
        "usage": (dict, type(None)),
    },
    "workers": {
        "id": _STR,
        "status": _STR,
        "taskId": _OPT_STR,
        "createdAt": _OPT_STR,
        "updatedAt": _OPT_STR,
        "backendId": _OPT_STR,
        "output": (dict, type(None)),
        "usage": (dict, type(None)),
        "feedbackIds": (list,),
        "errors": (list,),
    },
    "nodes": {"id": _STR, "kind": _OPT_STR, "status": _OPT_STR},
    "candidates": {"id": _STR, "status": _STR},
    "candidateSelections": {"id": _STR},
    "feedback": {"id": _STR, "status": _STR},
    "dispatches": {"id": _STR},
}


def _field_errors(rec: Any, where: str, fields: dict[str, tuple[type, ...]]) -> list[str]:
    if not isinstance(rec, dict):
        return [f"{where} must be an object."]
    missing = [f"{where}.id is missing." for key in fields if key == "id" and key not in rec]
    return missing + [
        f"{where}.{key} must be {_expected(types)}, not {_type_name(rec[key])}."
        for key, types in fields.items()
        if key in rec and (not isinstance(rec[key], types) or isinstance(rec[key], bool))
    ]


def _expected(types: tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "an array", type(None): "null"}
    return " or ".join(names[t] for t in types)


def _record_struct(name: str, fields: dict[str, tuple[type, ...]]) -> type:
    """A msgspec struct that type-checks one kind of record in C (unknown keys are ignored)."""

    def annotation(types: tuple[type, ...]) -> Any:
        t: Any = types[0]
        for extra in types[1:]:
            t = t | extra
        return t

    return msgspec.defstruct(
        name,
        [
            (k, annotation(t)) if k == "id" else (k, annotation(t) | msgspec.UnsetType, msgspec.UNSET)
            for k, t in fields.items()
        ],
    )


_RECORDS_STRUCT = msgspec.defstruct(
    "_RecordsCheck",
    [
        *[
            (key, list[_record_struct(f"_{key}Check", fields)] | msgspec.UnsetType, msgspec.UNSET)  # type: ignore[misc]  # a struct built at run time
            for key, fields in _RECORD_FIELDS.items()
        ],
        (
            "multiAgent",
            msgspec.defstruct(
                "_MultiAgentCheck",
                [
                    (
                        "memberships",
                        list[_record_struct("_membershipCheck", {"id": _STR, "status": _STR})]  # type: ignore[misc]  # built at run time
                        | msgspec.UnsetType,
                        msgspec.UNSET,
                    )
                ],
            )
            | msgspec.UnsetType,
            msgspec.UNSET,
        ),
    ],
)


def record_errors(doc: dict[str, Any]) -> list[str]:
    """Type errors in the records cw reads (CW leaves records unchecked; cw refuses what it cannot read).

    The common case (every record fine) is checked by msgspec in C; only a
    document that fails is walked in Python, to word each problem.
    """
    errors: list[str] = []
    try:
        msgspec.convert(doc, _RECORDS_STRUCT)
    except msgspec.ValidationError:
        for key, fields in _RECORD_FIELDS.items():
            records = doc.get(key)
            if isinstance(records, list):
                for i, rec in enumerate(records):
                    errors += _field_errors(rec, f"{key}[{i}]", fields)
        ma = doc.get("multiAgent")
        if isinstance(ma, dict) and isinstance(ma.get("memberships"), list):
            for i, rec in enumerate(ma["memberships"]):
                errors += _field_errors(rec, f"multiAgent.memberships[{i}]", {"id": _STR, "status": _STR})
    if "actor" in doc and not isinstance(doc["actor"], str):
        errors.append("actor must be a string when present.")
    parents = doc.get("parentRunIds")
    if "parentRunIds" in doc and (
        not isinstance(parents, list) or not all(isinstance(p, str) and RUN_ID_RE.fullmatch(p) for p in parents)
    ):
        errors.append("parentRunIds must be an array of run ids when present.")
    if "budget" in doc:
        errors += _budget_errors(doc["budget"])
    if "revenue" in doc and not isinstance(doc["revenue"], dict):
        errors.append("revenue must be an object when present.")
    return errors


_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_CODE_RE = re.compile(r"^[A-Z]{3}$")


def _budget_errors(budget: Any) -> list[str]:
    if not isinstance(budget, dict):
        return ["budget must be an object when present."]
    cb = budget.get("costBudget")
    if cb is None and "costBudget" not in budget:
        return []
    from cw.core.currency import is_currency

    if (
        not isinstance(cb, dict)
        or not isinstance(cb.get("amount"), str)
        or not _AMOUNT_RE.fullmatch(cb["amount"])
        or not isinstance(cb.get("currency"), str)
        or not is_currency(cb["currency"], withdrawn_ok=True)
    ):
        return ["budget.costBudget must be {amount: decimal text, currency: ISO 4217 code}."]
    return []


def _titleize(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in re.split(r"[-_\s]+", s) if w)


def normalize_state(doc: Any, *, run_dir: str, dir_name: str, dir_has_content: bool) -> dict[str, Any]:
    """Migrate and normalize a decoded state document in memory (cw-compat §1.2).

    ``run_dir`` is the absolute directory the state was read from (used only
    to fill missing ``paths`` keys and ``cwd``); ``dir_has_content`` tells
    whether ``tasks/`` or ``commits/`` hold files or the audit log is not
    empty (the data-loss guard).
    """
    if not isinstance(doc, dict):
        raise UnsupportedStateError("Unsupported CW run state: Run state must be a JSON object.")
    _schema_version(doc)
    if ("workflow" not in doc or "paths" not in doc) and dir_has_content:
        rid = doc.get("id")
        raise UnsupportedStateError(data_loss_message(rid if isinstance(rid, str) else dir_name))
    errors = []
    for key in ARRAY_KEYS:
        if key in doc and not isinstance(doc[key], list):
            errors.append(f"{key} must be an array when present.")
    for key in OBJECT_KEYS:
        if key in doc and not isinstance(doc[key], dict):
            errors.append(f"{key} must be an object when present.")
    ma = doc.get("multiAgent")
    if isinstance(ma, dict):
        for key in MULTI_AGENT_ARRAYS:
            if key in ma and not isinstance(ma[key], list):
                errors.append(f"multiAgent.{key} must be an array when present.")
    for key in ("id", "createdAt", "updatedAt", "cwd", "loopStage"):
        if key in doc and doc[key] is not None and not isinstance(doc[key], str):
            errors.append(f"{key} must be a string when present.")
    if "inputs" in doc and not isinstance(doc["inputs"], dict):
        errors.append("inputs must be an object when present.")
    errors += record_errors(doc)
    if errors:
        shown = errors[:5] + ([f"and {len(errors) - 5} more"] if len(errors) > 5 else [])
        raise UnsupportedStateError("Unsupported CW run state: " + "; ".join(shown))

    run = dict(doc)
    run["schemaVersion"] = SCHEMA_VERSION
    if not run.get("id"):
        run["id"] = dir_name or "unknown-run"
    if not run.get("createdAt"):
        run["createdAt"] = run.get("updatedAt") or EPOCH
    if not run.get("updatedAt"):
        run["updatedAt"] = run.get("createdAt") or EPOCH
    if not run.get("cwd"):
        parts = run_dir.rstrip("/").split("/")
        run["cwd"] = "/".join(parts[:-3]) or "/"
    if "inputs" not in run:
        run["inputs"] = {}
    if run.get("loopStage") not in LOOP_STAGES:
        run["loopStage"] = "interpret"
    wf = dict(run.get("workflow") or {})
    if not wf.get("id"):
        wf["id"] = run.get("workflowId") if isinstance(run.get("workflowId"), str) else "unknown-workflow"
    if not wf.get("title"):
        wf["title"] = _titleize(wf["id"])
    if "summary" not in wf:
        wf["summary"] = ""
    if not isinstance(wf.get("limits"), dict):
        wf["limits"] = {"maxAgents": 8, "maxConcurrentAgents": 4}
    run["workflow"] = wf
    paths = dict(run.get("paths") or {})
    base = paths.get("runDir") if isinstance(paths.get("runDir"), str) and paths.get("runDir") else run_dir
    for key, rel in PATH_KEYS:
        if key not in paths:
            paths[key] = base if not rel else f"{base}/{rel}"
    run["paths"] = paths
    for key in ARRAY_KEYS:
        if key not in run and key != "phases":
            run[key] = []
    if "audit" not in run:
        run["audit"] = {"schemaVersion": 1, "events": []}
    ma = dict(run.get("multiAgent") or {})
    ma.setdefault("schemaVersion", 1)
    for key in MULTI_AGENT_ARRAYS:
        ma.setdefault(key, [])
    run["multiAgent"] = ma
    if "blackboard" not in run:
        run["blackboard"] = {"schemaVersion": 1, "entries": []}
    if "topologies" not in run:
        run["topologies"] = {"schemaVersion": 1, "runs": []}
    if "phases" not in run:
        run["phases"] = _derive_phases(run["tasks"])
    return run


def _derive_phases(tasks: list[Any]) -> list[dict[str, Any]]:
    phases: dict[str, list[str]] = {}
    for t in tasks:
        if isinstance(t, dict):
            phases.setdefault(str(t.get("phase") or "main"), []).append(str(t.get("id")))
    return [{"id": name, "title": _titleize(name), "taskIds": ids} for name, ids in phases.items()]


def load_state(raw: bytes, *, label: str, run_dir: str, dir_name: str, dir_has_content: bool) -> dict[str, Any]:
    """Decode and normalize state.json bytes; refusals carry cw-compat §12's messages."""
    return normalize_state(decode_json(raw, label), run_dir=run_dir, dir_name=dir_name, dir_has_content=dir_has_content)
