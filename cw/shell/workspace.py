"""The world as one command sees it: directories, environment, clock, store."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from cw.core.actor import resolve_actor
from cw.core.numbers import CALENDAR_TEXT, is_iso_timestamp, iso_from_ms
from cw.model.errors import PolicyError, UsageError
from cw.shell import paths
from cw.shell.store import DEFAULT_LOCK_TIMEOUT, Store

if TYPE_CHECKING:  # policies are loaded on first use: most verbs never price anything
    from cw.core.fx import FxPolicy
    from cw.core.pricing import PricingPolicy
    from cw.shell.config import Config, Setting


def system_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds and ``Z``."""
    ms = int(datetime.now(UTC).timestamp() * 1000)
    return iso_from_ms(ms)


class Progress:
    """``cw: <label> 1200/5000`` on one stderr line, redrawn at most ten times a second, then erased.

    Shown only on a terminal and only for long work (``min_total`` items), so
    pipes, logs, MCP and tests see nothing.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None, min_total: int = 200) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None and total >= min_total and _is_tty(stream) else None
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self._last >= 0.1 or self.done >= self.total:
            self._last = now
            self.stream.write(f"\rcw: {self.label} {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _token_hex(n: int) -> str:
    """``secrets.token_hex``, imported when an id is made (most verbs make none)."""
    import secrets

    return secrets.token_hex(n)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def _named_by(setting: Setting, key: str) -> Iterator[None]:
    """A policy a config file names that cannot be loaded: say which file and key named it."""
    try:
        yield
    except PolicyError as exc:
        if setting.base is None:  # a flag or the built-in default: the message already says enough
            raise
        raise PolicyError(f'{exc.message} (named by "{key}" in {setting.origin})', exc.hint) from None


class Workspace(msgspec.Struct):
    """Resolved once per command and handed to capability entries."""

    process_cwd: Path
    env: Mapping[str, str]
    clock: Callable[[], str] = system_now
    token: Callable[[int], str] = _token_hex
    read_only: bool = False  # the workbench's projection: readers skip even the metrics snapshot
    progress_stream: TextIO | None = None  # where long work reports progress (stderr on a terminal)

    @classmethod
    def from_process(cls) -> Workspace:
        return cls(Path(os.getcwd()), dict(os.environ), progress_stream=sys.stderr)

    def repo(self, cwd: str | None) -> Path:
        return paths.resolve_cwd(cwd, self.process_cwd)

    def store(self, cwd: str | None) -> Store:
        return Store(self.repo(cwd), self.lock_timeout())

    def lock_timeout(self) -> float:
        raw = self.env.get("CW_LOCK_TIMEOUT", "").strip()
        if not raw:
            return DEFAULT_LOCK_TIMEOUT
        try:
            v = float(raw)
        except ValueError:
            v = -1
        if not (0 <= v <= 3600):
            raise UsageError(f'Invalid CW_LOCK_TIMEOUT "{raw}": expected seconds between 0 and 3600.')
        return v

    @property
    def home(self) -> Path:
        return paths.cw_home(self.env)

    def now(self, given: Any = None) -> str:
        """``--now`` when given and not blank (checked: an ISO 8601 time with a zone, in cw's calendar), else
        the clock. The one place every verb's ``--now`` is read; a valid value is kept as it was written."""
        if isinstance(given, str) and given.strip():
            if not is_iso_timestamp(given):
                from cw.core.fingerprint import js_quote  # only on the error path: writers stay lean

                raise UsageError(
                    f"Invalid --now {js_quote(given)}: expected an ISO 8601 time with a zone, e.g. "
                    f"2026-06-08T10:00:00Z or 2026-06-08T12:00:00+02:00, {CALENDAR_TEXT}."
                )
            return given
        return self.clock()

    def config(self, cwd: str | None) -> Config:
        """The effective settings for a command run in the repo ``cwd`` names (see ``cw.shell.config``)."""
        from cw.shell.config import load_config

        return load_config(self.home, self.repo(cwd))

    def pricing(self, a: Mapping[str, Any]) -> tuple[PricingPolicy | None, dict[str, Any]]:
        """The pricing policy for a verb's arguments ``a`` (``--pricing`` over the config) and its header."""
        from cw.shell.policies import NAMED_PRICING, NO_POLICY, load_pricing_policy, resolve_pricing_path

        setting = self.config(a.get("cwd")).get("pricing", a.get("pricing"))
        with _named_by(setting, "pricing"):
            policy = load_pricing_policy(setting.value, setting.base or self.process_cwd)
        named = setting.value in NAMED_PRICING or setting.value == NO_POLICY
        name = setting.value if named else str(resolve_pricing_path(setting.value, setting.base or self.process_cwd))
        return policy, {"name": name, "id": policy.id if policy is not None else None, "from": setting.origin}

    def fx(self, a: Mapping[str, Any]) -> FxPolicy | None:
        """The FX policy for a verb's arguments ``a`` (``--fx`` over the config)."""
        from cw.shell.fxpolicy import load_fx_policy

        setting = self.config(a.get("cwd")).get("fx", a.get("fx"))
        with _named_by(setting, "fx"):
            return load_fx_policy(setting.value, setting.base or self.process_cwd)

    def currency(self, a: Mapping[str, Any]) -> str:
        """The reporting currency (``--currency`` over the config, else USD)."""
        return self.config(a.get("cwd")).get("currency", a.get("currency")).value

    def progress(self, label: str, total: int) -> Progress:
        return Progress(label, total, self.progress_stream)

    def actor(self, claimed: str | None) -> tuple[str, str | None]:
        return resolve_actor(self.env, claimed)
