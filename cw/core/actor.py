"""Who caused a piece of work: actor provenance from the environment and the caller.

Inside a scheduled job the scheduler is the ground truth: the actor is
``cron:<name>`` whatever the caller claims, and the claim is kept as
``claimedActor`` for audit. Otherwise ``--actor``, then ``CW_ACTOR``, else
``unattributed``. The environment is passed in as a mapping (pure).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cw.model.errors import UsageError

CRON_ENV_VARS = ("CW_CRON_NAME", "WORKLOFT_CRON_JOB_NAME", "WORKLOFT_CRON_NAME")
UNATTRIBUTED = "unattributed"
_ACTOR_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,200}$")
_CRON_RE = re.compile(r"^[A-Za-z0-9._:@/-]{1,120}$")


def check_actor(value: str, flag: str = "--actor") -> str:
    """An actor id is 1-200 visible characters without spaces."""
    if not isinstance(value, str) or not _ACTOR_RE.fullmatch(value):
        raise UsageError(
            f"Invalid {flag} {value!r}: expected an id of 1-200 visible characters "
            "without spaces (e.g. --actor alice or --actor agent:reviewer)."
        )
    return value


def check_cron_name(value: str, where: str) -> str:
    if not _CRON_RE.fullmatch(value):
        raise UsageError(
            f"Invalid cron job name {value!r} in {where}: use letters, digits and ._:@/- (at most 120 characters)."
        )
    return value


def cron_name(env: Mapping[str, str]) -> str | None:
    """The scheduled job's name, from the first non-blank cron variable."""
    for var in CRON_ENV_VARS:
        v = env.get(var, "").strip()
        if v:
            return check_cron_name(v, var)
    return None


def resolve_actor(env: Mapping[str, str], claimed: str | None) -> tuple[str, str | None]:
    """Return ``(actor, claimedActor or None)``."""
    if claimed is not None:
        check_actor(claimed)
    cron = cron_name(env)
    if cron is not None:
        actor = f"cron:{cron}"
        return actor, (claimed if claimed is not None and claimed != actor else None)
    if claimed is not None:
        return claimed, None
    from_env = env.get("CW_ACTOR", "").strip()
    if from_env:
        return check_actor(from_env, "CW_ACTOR"), None
    return UNATTRIBUTED, None
