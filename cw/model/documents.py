"""msgspec structs for the on-disk documents cw writes or extends.

``state.json`` is shared with CW, so the store keeps the raw object (every key
cw does not model survives a rewrite); these structs describe and check the
parts cw reads and the keys cw adds. ``schemas/*.schema.json`` are generated
from them (``python -m cw.shell.schemagen``) and a test keeps the two in step.

Evolution rules: new fields are optional with defaults; a field's type never
changes; CW's keys keep CW's names and meaning.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

NonNegInt = Annotated[int, Meta(ge=0)]
DecimalText = Annotated[
    str, Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="an exact decimal amount, written as a string")
]
CurrencyCode = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")]
SafeId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._:-]+$")]


class UsageRecord(Struct, omit_defaults=True, kw_only=True):
    """CW's UsageRecord as cw writes it, plus cw's ``reasoningTokens``, ``cacheWrite1hTokens``, ``actor`` and ``claimedActor``.

    Records written by CW may hold negatives, fractions or odd models; cw reads
    them as they are, so token fields accept any number when reading.
    """

    schemaVersion: int | UnsetType = UNSET
    source: str | UnsetType = UNSET
    attestedAt: str | UnsetType = UNSET
    model: str | UnsetType = UNSET
    inputTokens: float | UnsetType = UNSET
    outputTokens: float | UnsetType = UNSET
    totalTokens: float | UnsetType = UNSET
    cacheReadTokens: float | UnsetType = UNSET
    cacheWriteTokens: float | UnsetType = UNSET
    cacheWrite1hTokens: NonNegInt | UnsetType = UNSET
    reasoningTokens: NonNegInt | UnsetType = UNSET
    attestation: Literal["attested", "unattested", "absent"] | UnsetType = UNSET
    attestationReason: str | UnsetType = UNSET
    note: str | UnsetType = UNSET
    actor: str | UnsetType = UNSET
    claimedActor: str | UnsetType = UNSET


class CostBudget(Struct, forbid_unknown_fields=True):
    """A money budget, priced with the pricing policy; ``amount`` is an exact decimal."""

    amount: DecimalText
    currency: CurrencyCode


PositiveInt = Annotated[int, Meta(ge=1)]


class PeriodBudget(Struct, omit_defaults=True, kw_only=True, forbid_unknown_fields=True):
    """One actor's budget per calendar period (``cw budget set``): a token limit, a cost limit, or both."""

    actor: Annotated[str, Meta(min_length=1, max_length=200)]
    period: Literal["day", "week", "month"]
    tokens: PositiveInt | UnsetType = UNSET
    cost: CostBudget | UnsetType = UNSET
    tz: Annotated[str, Meta(min_length=1, description="the IANA zone the periods are calendar periods of")] = "UTC"
    weekStart: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    setAt: str | UnsetType = UNSET


class PeriodBudgets(Struct, forbid_unknown_fields=True):
    """``.cw/budgets.json`` (repo) or ``$CW_HOME/budgets.json`` (home): per-period budgets, one per actor and period."""

    schemaVersion: Literal[1]
    budgets: list[PeriodBudget]


class RunBudget(Struct, omit_defaults=True):
    costBudget: CostBudget | UnsetType = UNSET


class RunState(Struct, omit_defaults=True, kw_only=True):
    """The run document (``.cw/runs/<id>/state.json``): CW's keys plus cw's optional additions.

    Every key is optional on disk: CW's loader fills missing ones in memory
    (cw-compat §1.2), and cw writes all of CW's required keys. Records inside
    the arrays are CW's and are not modelled field by field here; unknown
    top-level keys are allowed and kept.
    """

    schemaVersion: Literal[0, 1] | UnsetType = UNSET
    id: str | UnsetType = UNSET
    createdAt: str | UnsetType = UNSET
    updatedAt: str | UnsetType = UNSET
    cwd: str | UnsetType = UNSET
    workflow: dict[str, Any] | UnsetType = UNSET
    inputs: dict[str, Any] | UnsetType = UNSET
    loopStage: str | UnsetType = UNSET
    phases: list[Any] | UnsetType = UNSET
    tasks: list[dict[str, Any]] | UnsetType = UNSET
    dispatches: list[Any] | UnsetType = UNSET
    commits: list[Any] | UnsetType = UNSET
    paths: dict[str, Any] | UnsetType = UNSET
    nodes: list[dict[str, Any]] | UnsetType = UNSET
    contracts: list[Any] | UnsetType = UNSET
    feedback: list[dict[str, Any]] | UnsetType = UNSET
    audit: dict[str, Any] | UnsetType = UNSET
    workers: list[dict[str, Any]] | UnsetType = UNSET
    sandboxProfiles: list[Any] | UnsetType = UNSET
    customSandboxProfiles: Any = UNSET
    candidates: list[dict[str, Any]] | UnsetType = UNSET
    candidateSelections: list[dict[str, Any]] | UnsetType = UNSET
    multiAgent: dict[str, Any] | UnsetType = UNSET
    blackboard: dict[str, Any] | UnsetType = UNSET
    topologies: dict[str, Any] | UnsetType = UNSET
    collaboration: dict[str, Any] | UnsetType = UNSET
    # cw additions
    actor: str | UnsetType = UNSET
    claimedActor: str | UnsetType = UNSET
    parentRunIds: list[SafeId] | UnsetType = UNSET
    budget: RunBudget | UnsetType = UNSET
    revenue: dict[str, Any] | UnsetType = UNSET


class RegistryRepo(Struct):
    root: str
    addedAt: str | None = None


class RegistryRepos(Struct):
    """``$CW_HOME/registry/repos.json`` (CW's file)."""

    schemaVersion: int
    repos: list[RegistryRepo]
