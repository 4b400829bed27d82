"""One exception root for everything cw refuses, with the exit code it maps to.

Surfaces turn a ``CwError`` into text (``cw: <message>`` and an optional
``  Try: <hint>`` line) and an exit code; nothing else prints errors.

Exit codes (documented in docs/cli.md):

* 0 - success
* 1 - a refused operation (unknown run, corrupt state, lock timeout, budget, ...): a ``RefusedError``
  or one of its subclasses (a bare ``CwError`` exits 1 too)
* 2 - a usage error (a bad flag or argument value); nothing was touched
"""

from __future__ import annotations

EXIT_REFUSED = 1
EXIT_USAGE = 2


class CwError(Exception):
    """Base of every error cw reports to a user."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else default_hint(message)

    def __str__(self) -> str:
        return self.message


class UsageError(CwError):
    """A flag or argument value is malformed (exit 2). Nothing was read or written."""

    exit_code = EXIT_USAGE


class RefusedError(CwError):
    """A well-formed request that cw declines (exit 1): budget exhausted, duplicate booking, and the kinds below."""


class NotFoundError(RefusedError):
    """A run, task, worker, entry or file does not exist."""


class UnsupportedStateError(RefusedError):
    """A state file cannot be trusted: bad JSON, future schema, wrong shape, data loss."""


class LockTimeoutError(RefusedError):
    """Another writer held the sidecar lock for longer than the timeout."""


class PolicyError(RefusedError):
    """A pricing or FX policy file is missing, unparseable or invalid."""


class LedgerError(RefusedError):
    """A revenue ledger does not verify; its run's revenue is refused."""


def from_os_error(exc: OSError) -> CwError:
    """What every surface says about a file the command could not read or write."""
    where = f" {exc.filename}" if exc.filename else ""
    return CwError(
        f"Cannot access{where}: {exc.strerror or exc}. Nothing was changed by this command unless it said so."
    )


def internal_error_message(exc: BaseException, action: str) -> str:
    """The one message for a bug in cw (never a traceback on the user's screen)."""
    return (
        f"internal error ({type(exc).__name__}: {exc}). Please report it with the {action}; "
        "set CW_DEBUG=1 to see the traceback."
    )


def default_hint(message: str) -> str | None:
    """CW's hint rule: messages about run ids or missing runs point at ``cw run list``."""
    low = message.lower()
    if "run id" in low or "run not found" in low:
        return "cw run list"
    return None
