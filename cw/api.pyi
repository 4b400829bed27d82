"""Types of cw.api. Generated from the capability table by python -m cw.surfaces.python_api --write-stub."""

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cw.model.errors import CwError as CwError
from cw.model.errors import RefusedError as RefusedError
from cw.model.errors import UsageError as UsageError

__all__ = ["CwError", "RefusedError", "UsageError", "Workspace"]

class Workspace:
    repo_dir: Path
    home: Path | None
    now: str | None
    def __init__(
        self,
        repo_dir: str | os.PathLike[str],
        *,
        home: str | os.PathLike[str] | None = None,
        now: str | datetime | None = None,
    ) -> None: ...
    def run_new(
        self,
        *,
        id: str | None = None,
        app: str | None = None,
        title: str | None = None,
        parent: Sequence[str] | None = None,
        token_budget: int | str | None = None,
        cost_budget: Sequence[str] | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Create a run in CW's format."""
    def run_list(
        self,
        *,
        scope: Literal["repo", "home"] = "repo",
        app: str | None = None,
        actor: str | None = None,
        lifecycle: Literal["open", "completed", "failed", "empty"] | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """List runs with their derived lifecycle."""
    def run_show(self, run_id: str, *, now: str | datetime | None = None) -> dict[str, Any]:
        """Show one run's state."""
    def task_add(
        self,
        run_id: str,
        task_id: str,
        *,
        backend: str | None = None,
        kind: str | None = None,
        phase: str | None = None,
    ) -> dict[str, Any]:
        """Add a pending task to a run."""
    def dispatch(
        self,
        run_id: str,
        task_ids: Sequence[str] | None = None,
        *,
        backend: str | None = None,
        allow_unreported: bool = False,
        pricing: str | None = None,
        fx: str | None = None,
    ) -> dict[str, Any]:
        """Move pending tasks to running and create their workers."""
    def result(
        self,
        run_id: str,
        task_id: str,
        file: str,
        *,
        usage_input_tokens: int | str | None = None,
        usage_output_tokens: int | str | None = None,
        usage_total_tokens: int | str | None = None,
        usage_cache_read_tokens: int | str | None = None,
        usage_cache_write_tokens: int | str | None = None,
        usage_cache_write_1h_tokens: int | str | None = None,
        usage_reasoning_tokens: int | str | None = None,
        usage_model: str | None = None,
        usage_source: Literal["host-attested", "operator-recorded"] | None = None,
        usage_attested_at: str | None = None,
        usage_note: str | None = None,
        actor: str | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Record a task's result file, with host-attested usage."""
    def worker_output(
        self,
        run_id: str,
        worker_id: str,
        file: str,
        *,
        usage_input_tokens: int | str | None = None,
        usage_output_tokens: int | str | None = None,
        usage_total_tokens: int | str | None = None,
        usage_cache_read_tokens: int | str | None = None,
        usage_cache_write_tokens: int | str | None = None,
        usage_cache_write_1h_tokens: int | str | None = None,
        usage_reasoning_tokens: int | str | None = None,
        usage_model: str | None = None,
        usage_source: Literal["host-attested", "operator-recorded"] | None = None,
        usage_attested_at: str | None = None,
        usage_note: str | None = None,
        actor: str | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Record a worker's own result file, with usage."""
    def worker_fail(self, run_id: str, worker_id: str, message: str, *, code: str | None = None) -> dict[str, Any]:
        """Mark a worker failed (its task fails, feedback opens)."""
    def verify(
        self,
        run_id: str,
        target: str,
        *,
        status: Literal["verified", "completed", "committed", "failed", "rejected", "blocked", "pending", "running"],
    ) -> dict[str, Any]:
        """Record a verifier decision on a task or verifier node."""
    def candidate_register(
        self,
        run_id: str,
        *,
        worker: str | None = None,
        task: str | None = None,
        kind: Literal["manual", "result", "worker-output"] | None = None,
        id: str | None = None,
    ) -> dict[str, Any]:
        """Register a candidate from a worker or task."""
    def candidate_select(
        self,
        run_id: str,
        candidate_id: str,
        *,
        reason: str | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Select (accept) a candidate."""
    def candidate_reject(self, run_id: str, candidate_id: str, *, reason: str) -> dict[str, Any]:
        """Reject a candidate (opens feedback)."""
    def feedback_open(
        self,
        run_id: str,
        *,
        message: str,
        task: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        """Open a feedback item."""
    def feedback_task(self, run_id: str, feedback_id: str, *, message: str | None = None) -> dict[str, Any]:
        """Mark feedback as tasked."""
    def feedback_resolve(
        self,
        run_id: str,
        feedback_id: str,
        *,
        node: str,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Resolve feedback with a node."""
    def feedback_reject(self, run_id: str, feedback_id: str, *, message: str | None = None) -> dict[str, Any]:
        """Reject feedback."""
    def member_add(
        self,
        run_id: str,
        *,
        agent: str,
        id: str | None = None,
        role: str | None = None,
        status: Literal["assigned", "running", "reported", "verified", "failed", "rejected"] = "assigned",
    ) -> dict[str, Any]:
        """Add a multi-agent membership."""
    def member_set(
        self,
        run_id: str,
        member_id: str,
        *,
        status: Literal["assigned", "running", "reported", "verified", "failed", "rejected"],
    ) -> dict[str, Any]:
        """Set a membership's status."""
    def loop_add(
        self,
        run_id: str,
        phase: str,
        *,
        task: Sequence[str] | None = None,
        max_rounds: int | str | None = None,
        until: Literal["budget-target", "predicate"] = "budget-target",
        target: int | str | None = None,
        ref: str | None = None,
    ) -> dict[str, Any]:
        """Make a phase of pending tasks round 1 of a budget-target loop."""
    def loop_list(self, run_id: str, *, now: str | datetime | None = None) -> dict[str, Any]:
        """Show a run's loops: rounds, spend against target and budget."""
    def loop_next(
        self,
        run_id: str,
        phase: str,
        *,
        allow_unreported: bool = False,
        pricing: str | None = None,
        fx: str | None = None,
    ) -> dict[str, Any]:
        """Decide a finished round: end the loop or open the next round."""
    def metrics_show(
        self,
        run_id: str | None = None,
        *,
        pricing: str | None = None,
        fx: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Derive one run's metrics: durations, rates with samples, attested usage, cost."""
    def metrics_summary(
        self,
        *,
        scope: Literal["repo", "home"] = "repo",
        limit: int | str | None = None,
        pricing: str | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        period: Literal["day", "week", "month"] | None = None,
        week_start: str | None = None,
        now: str | datetime | None = None,
        no_cache: bool = False,
    ) -> dict[str, Any]:
        """Pool metrics across runs, with per-app, per-backend and per-actor breakdowns."""
    def registry_add(self, path: str | None = None) -> dict[str, Any]:
        """Register a repo for the home scope."""
    def registry_list(self, *, now: str | datetime | None = None) -> dict[str, Any]:
        """List the repos the home scope reads."""
    def registry_remove(self, path: str) -> dict[str, Any]:
        """Forget a repo (its files are untouched)."""
    def run_link(self, run_id: str, *, parent: Sequence[str]) -> dict[str, Any]:
        """Link a run to parent runs (for revenue attribution)."""
    def revenue_add(
        self,
        run_id: str,
        amount: str,
        currency: str,
        *,
        ref: str,
        note: str | None = None,
        at: str | None = None,
    ) -> dict[str, Any]:
        """Book revenue on the run that earned it (append-only)."""
    def revenue_reverse(
        self,
        run_id: str,
        entry_id: str,
        *,
        amount: str | None = None,
        reason: str,
        at: str | None = None,
    ) -> dict[str, Any]:
        """Reverse (part of) a booking with a correcting entry."""
    def revenue_list(
        self,
        *,
        run: str | None = None,
        scope: Literal["repo", "home"] = "repo",
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """List revenue entries and per-currency totals."""
    def ledger_verify(
        self,
        *,
        scope: Literal["repo", "home"] = "repo",
        run: str | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Check every revenue ledger's hash chain and head file."""
    def pnl(
        self,
        *,
        scope: Literal["repo", "home"] = "repo",
        by: Literal["actor", "app", "run", "model"] = "actor",
        currency: str | None = None,
        fx: str | None = None,
        pricing: str | None = None,
        attribution: Literal["last-touch", "first-touch", "linear", "position-based", "time-decay"] = "last-touch",
        half_life: str | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        period: Literal["day", "week", "month"] | None = None,
        week_start: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Spend against revenue per actor, app or run, in one currency."""
    def budget(
        self,
        run_id: str,
        *,
        pricing: str | None = None,
        fx: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Show a run's budgets and its actor's period budgets, and whether dispatch would go on."""
    def budget_set(
        self,
        *,
        actor: str,
        period: Literal["day", "week", "month"],
        tokens: str | None = None,
        cost: Sequence[str] | None = None,
        scope: Literal["repo", "home"] = "repo",
        tz: str | None = None,
        week_start: str | None = None,
    ) -> dict[str, Any]:
        """Set an actor's budget per day, week or month (tokens, cost, or both)."""
    def budget_list(
        self,
        *,
        only: Literal["repo", "home"] | None = None,
        pricing: str | None = None,
        fx: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """List per-period budgets with what each has used and has left."""
    def budget_remove(
        self,
        *,
        actor: str,
        period: Literal["day", "week", "month"],
        scope: Literal["repo", "home"] = "repo",
    ) -> dict[str, Any]:
        """Remove an actor's budget for a period."""
    def pricing_import(
        self,
        *,
        from_: Literal["genai-prices"],
        provider: Sequence[str] | None = None,
        model: Sequence[str] | None = None,
        output: str,
        id: str | None = None,
        default_price: Sequence[str] | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Write a pricing policy from the installed genai-prices data."""
    def pricing_check(
        self,
        *,
        pricing: str | None = None,
        max_age: str | None = None,
        scope: Literal["repo", "home"] = "repo",
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """List models the policy cannot price, and entries older than --max-age."""
    def fx_import(
        self,
        file: str,
        *,
        output: str,
        id: str | None = None,
        max_rate_age: str | None = None,
    ) -> dict[str, Any]:
        """Write an FX policy from the ECB's reference-rate file (CSV or XML)."""
    def revenue_import(
        self,
        file: str,
        *,
        format: Literal["stripe-payments", "stripe-balance"],
        run_column: str,
        actor_column: str | None = None,
        dry_run: bool = False,
        skip_bad: bool = False,
    ) -> dict[str, Any]:
        """Book revenue from a Stripe export on the runs its rows name."""
    def export(
        self,
        *,
        format: Literal["jsonl", "csv", "otlp", "focus", "parquet"],
        output: str | None = None,
        scope: Literal["repo", "home"] = "repo",
        currency: str | None = None,
        fx: str | None = None,
        pricing: str | None = None,
        attribution: Literal["last-touch", "first-touch", "linear", "position-based", "time-decay"] = "last-touch",
        half_life: str | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        now: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Export usage and revenue rows: JSON lines, CSV, OTLP, FOCUS or Parquet."""
