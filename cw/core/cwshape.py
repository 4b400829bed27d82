"""CW's defaults for the records cw creates, so CW's own verbs can act on cw's runs.

CW 0.2.6 reads fields of its records without checking they exist (a worker's
``sandboxPolicy.workerOutput``, a feedback's ``evidence`` array, the seven
blackboard arrays). Every record cw writes therefore carries every key CW's
writer gives it, with the value CW gives it when nothing else is known: the
bundled ``readonly`` sandbox profile, the local ``node`` backend, empty
evidence and artifact lists. The values are CW's; the functions are pure.
"""

from __future__ import annotations

from typing import Any

SANDBOX_PROFILE_ID = "readonly"
DISPATCH_SANDBOX_PROFILE_ID = "default"  # what CW records on a dispatch when no --sandbox is given
CONTRACT_ID = "cw.pipeline.default"

_ENFORCED_BY_CW = [
    "profile validation",
    "path normalization",
    "worker result acceptance against sandbox write policy",
    "durable ErrorFeedback for denied worker output",
]
_HOST_REQUIRED = [
    "OS-level read isolation",
    "OS-level write isolation before result acceptance",
    "process execution restrictions",
    "network restrictions",
    "environment variable filtering",
]


def worker_paths(run_dir: str, worker_id: str) -> dict[str, str]:
    d = f"{run_dir}/workers/{worker_id}"
    return {
        "workerDir": d,
        "inputPath": f"{d}/input.md",
        "resultPath": f"{d}/result.md",
        "artifactsDir": f"{d}/artifacts",
        "logsDir": f"{d}/logs",
    }


def sandbox_policy(cwd: str, run_dir: str, worker_id: str, now: str) -> dict[str, Any]:
    """CW's bundled ``readonly`` profile resolved for one worker (``sandboxPolicyForWorker``)."""
    p = worker_paths(run_dir, worker_id)
    return {
        "schemaVersion": 1,
        "id": SANDBOX_PROFILE_ID,
        "title": "Readonly Workspace",
        "description": "Workers may read the workspace and write only worker-local output paths accepted by CW.",
        "readPaths": [cwd, p["workerDir"]],
        "writePaths": [],
        "workerOutput": {"result": True, "artifacts": True, "logs": True},
        "execute": {"mode": "any"},
        "network": {"mode": "none"},
        "env": {"inherit": False, "expose": []},
        "enforcement": {"enforcedByCW": list(_ENFORCED_BY_CW), "hostRequired": list(_HOST_REQUIRED)},
        "hostInstructions": [
            "Deny network access unless the operator explicitly layers a site policy over this profile.",
            "Mount or expose the workspace read-only when the agent host supports it.",
        ],
        "resolvedAt": now,
        "metadata": {"cwd": cwd, "runDir": run_dir, **p},
    }


def backend_attestation(backend_id: str, now: str) -> dict[str, Any]:
    """What CW records for a local backend running the ``readonly`` profile."""
    return {
        "schemaVersion": 1,
        "backendId": backend_id,
        "locality": "local",
        "kind": "local",
        "sandboxProfileId": SANDBOX_PROFILE_ID,
        "required": ["read", "write", "network", "env"],
        "enforced": ["write"],
        "attested": ["read", "network", "env"],
        "unenforceable": [],
        "status": "enforced",
        "enforcedByCW": list(_ENFORCED_BY_CW),
        "hostRequired": list(_HOST_REQUIRED),
        "recordedAt": now,
    }


def classify_feedback(code: str, source: str | None) -> str:
    """CW's ``classifyFeedback`` for a coded error (same order of tests)."""
    c = code.lower()
    if "missing-artifact" in c or "artifact-path" in c:
        return "missing-artifact"
    if "missing-required-evidence" in c or "missing-evidence" in c:
        return "missing-evidence"
    if "verifier" in c or source == "verifier":
        return "verifier-failure"
    if "illegal-transition" in c or "state-transition" in c:
        return "state-transition"
    if "contract" in c or "unexpected-node" in c:
        return "contract-violation"
    if c.startswith("sandbox-"):
        return "sandbox-policy"
    if "parse" in c or "json" in c:
        return "parse-error"
    if "pipeline" in c:
        return "pipeline-failure"
    if code == "runtime-error":
        return "runtime-error"
    return "unknown"


def feedback_severity(classification: str, retryable: bool = False) -> str:
    """CW's ``severityFor``."""
    if classification in ("verifier-failure", "contract-violation"):
        return "high"
    if classification in ("sandbox-policy", "state-transition", "missing-evidence"):
        return "medium"
    if classification in ("missing-artifact", "parse-error", "pipeline-failure"):
        return "medium" if retryable else "low"
    return "low"


def empty_blackboard() -> dict[str, Any]:
    """The blackboard CW's ``plan`` writes (its loader's in-memory default differs)."""
    keys = ("boards", "topics", "messages", "contexts", "artifacts", "snapshots", "decisions")
    return {"schemaVersion": 1, **{k: [] for k in keys}}


def task_node_id(run_id: str, task_id: str) -> str:
    return f"{run_id}:task:{task_id}"
