"""cw's Python API (``cw.api``), generated from the capability table like the CLI and the MCP server.

``Workspace(repo_dir)`` gets one method per capability, named by its CLI
words joined with ``_`` (``metrics show`` -> ``metrics_show``). A verb's
positional parameters are positional-or-keyword arguments, its options are
keyword-only and spelled as the long option in snake_case (``--usage-input-tokens``
-> ``usage_input_tokens``; ``--from`` -> ``from_``). ``--cwd`` and ``--json``
are not arguments: the workspace is the repo, and a method always returns the
payload ``cw <verb> --json`` prints, decoded with every fractional number as a
``Decimal`` (exactly the digits the CLI prints).

A call turns its arguments into the dictionary the CLI hands the entry
(``cw.surfaces.arguments.entry_args``, the MCP server's code path), then runs
the entry on a shell ``Workspace`` built as ``Workspace.from_process`` builds
it, except that the repo directory, ``CW_HOME`` and the clock come from this
object: so validation, locks and actor rules (``--actor``, then the cron
variables, then ``CW_ACTOR``, read from ``os.environ`` at each call) are the
CLI's. Errors are the CLI's: ``UsageError`` (exit code 2, nothing read or
written) and ``RefusedError`` (exit code 1) carry its message and hint.

``cw/api.pyi`` is the typed stub of the generated methods; ``python -m
cw.surfaces.python_api --write-stub`` rewrites it (``make generate``) and
``--check`` fails when it is stale.
"""

from __future__ import annotations

import inspect
import json
import keyword
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cw.capabilities import all_capabilities
from cw.capabilities.table import Capability, Param
from cw.core.jsonout import dumps
from cw.core.numbers import is_iso_timestamp, iso_from_ms, parse_iso_ms
from cw.model.errors import CwError, RefusedError, UsageError, from_os_error
from cw.shell import paths
from cw.shell.workspace import Workspace as ShellWorkspace
from cw.shell.workspace import system_now
from cw.surfaces.arguments import entry_args

#: CLI parameters that are not method arguments: the workspace is the repo, and a method returns the payload.
NOT_ARGUMENTS = frozenset({"cwd", "json"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STUB = Path(__file__).resolve().parents[1] / "api.pyi"


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple)) and any(isinstance(v, str) and not v.strip() for v in value)


def method_name(cap: Capability) -> str:
    """``metrics show`` -> ``metrics_show``."""
    return "_".join(w.replace("-", "_") for w in cap.path)


def arg_name(p: Param) -> str:
    """The keyword a parameter is passed as: its long option in snake_case (``from_`` for ``--from``)."""
    name = p.flag.lstrip("-").replace("-", "_") if not p.positional else p.name
    return name + "_" if keyword.iskeyword(name) else name


def api_params(cap: Capability) -> list[Param]:
    """The parameters a method takes, positional ones first (in table order), as the CLI takes them."""
    ps = [p for p in cap.params if p.cli and p.name not in NOT_ARGUMENTS]
    return [p for p in ps if p.positional] + [p for p in ps if not p.positional]


def _required(p: Param) -> bool:
    return p.required and not (p.positional and p.multiple)  # the CLI's rule: an empty list of ids is allowed


def _iso(value: Any, what: str) -> str:
    """A datetime with a zone (as CW writes instants: UTC, milliseconds, ``Z``) or an ISO 8601 string with a zone."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise UsageError(f"Invalid {what} {value.isoformat()}: the datetime has no time zone; give it one.")
        return iso_from_ms((value - _EPOCH) // timedelta(milliseconds=1))
    if not is_iso_timestamp(value):
        raise UsageError(
            f'Invalid {what} "{value}": expected an ISO 8601 time with a zone, e.g. 2026-06-08T10:00:00Z '
            "(or a datetime with a time zone)."
        )
    return str(value)


def _clock_text(now: str) -> str:
    """What writes record for a pinned ``now``: the instant in CW's form (UTC, milliseconds, ``Z``)."""
    ms = parse_iso_ms(now)
    assert ms is not None  # checked by _iso
    return iso_from_ms(ms)


def _as_api_error(err: CwError) -> CwError:
    """Every error the CLI exits 1 for is a ``RefusedError`` here, with the same message and hint."""
    if isinstance(err, (UsageError, RefusedError)):
        return err
    return RefusedError(err.message, err.hint)


class Workspace:
    """A repo directory to run cw's verbs in, one method per verb (see docs/api.md).

    ``home`` sets ``CW_HOME`` (the home registry and home-scope budgets) for
    this workspace's calls only; ``now`` (a datetime with a zone, or an ISO
    8601 string with one) pins the clock for every call: writes record it,
    and verbs that take ``now`` read it as the CLI's ``--now``.
    """

    repo_dir: Path
    home: Path | None
    now: str | None

    def __init__(
        self,
        repo_dir: str | os.PathLike[str],
        *,
        home: str | os.PathLike[str] | None = None,
        now: str | datetime | None = None,
    ) -> None:
        self.repo_dir = self._directory(repo_dir)
        self.home = (
            None if home is None else Path(paths.check_path_text(os.fspath(home), "home")).expanduser().resolve()
        )
        self.now = None if now is None else _iso(now, "now")

    @staticmethod
    def _directory(value: Any) -> Path:
        if not isinstance(value, (str, os.PathLike)):
            raise UsageError(f"Invalid repo_dir: expected a path (str or os.PathLike), got {type(value).__name__}.")
        p = Path(paths.check_path_text(os.fspath(value), "repo_dir")).expanduser().resolve()
        if not p.is_dir():
            raise UsageError(f"repo_dir is not a directory: {p}")
        return p

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("home", "now") if getattr(self, k) is not None)
        return f"Workspace({str(self.repo_dir)!r}{extra})"

    def _shell_workspace(self) -> ShellWorkspace:
        """The shell's workspace for one call: this repo, the process environment with ``home``, this clock."""
        env = dict(os.environ)
        if self.home is not None:
            env["CW_HOME"] = str(self.home)
        clock: Callable[[], str] = system_now
        if self.now is not None:
            pinned = _clock_text(self.now)
            clock = lambda: pinned  # noqa: E731
        return ShellWorkspace(self.repo_dir, env, clock=clock)

    def _call(self, cap: Capability, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Run ``cap`` with method-style arguments; the payload ``cw <verb> --json`` prints, decoded."""
        label = f"Workspace.{method_name(cap)}()"
        params = api_params(cap)
        positional = [arg_name(p) for p in params if p.positional]
        if len(args) > len(positional):
            takes = ", ".join(positional) or "none"
            raise UsageError(
                f"{label} takes {len(positional)} positional argument(s) ({takes}), got {len(args)}; "
                "pass options by keyword."
            )
        given = dict(zip(positional, args, strict=False))
        for k, v in kwargs.items():
            if k in given:
                raise UsageError(f"{label} got two values for argument {k}.")
            given[k] = v
        if any(p.name == "now" for p in params):
            if given.get("now") is None:
                given["now"] = self.now
            elif isinstance(given["now"], datetime):
                given["now"] = _iso(given["now"], "now")
        for p in params:
            # as on the command line: an empty option is a mistake, not "use the default"
            if not p.positional and _blank(given.get(arg_name(p))):
                raise UsageError(f"{label} argument {arg_name(p)} is empty; give a value or leave it out.")
        a = entry_args(cap, given, label, params=params, key=arg_name, required=_required)
        try:
            payload = cap.entry(self._shell_workspace(), a)
        except CwError as err:
            api_err = _as_api_error(err)
            if api_err is err:
                raise
            raise api_err from err
        except OSError as exc:
            raise _as_api_error(from_os_error(exc)) from exc
        payload_dict: dict[str, Any] = json.loads(dumps(payload), parse_float=Decimal)
        return payload_dict


# ---------------------------------------------------------------------------
# the methods, from the table


def _annotation(p: Param) -> str:
    if p.multiple or p.nargs > 1:
        base = "Sequence[str]"
    elif p.choices:
        base = "Literal[" + ", ".join(json.dumps(c) for c in p.choices) + "]"
    elif p.name == "now":
        base = "str | datetime"
    else:
        base = {"string": "str", "integer": "int | str", "number": "float | str", "boolean": "bool"}[p.type]
    return base if _required(p) or p.type == "boolean" or p.default is not None else f"{base} | None"


def _default(p: Param) -> Any:
    if _required(p):
        return inspect.Parameter.empty
    if p.type == "boolean":
        return False
    return p.default


def signature(cap: Capability) -> inspect.Signature:
    """The method's signature: positionals positional-or-keyword, options keyword-only."""
    ps = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for p in api_params(cap):
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if p.positional else inspect.Parameter.KEYWORD_ONLY
        ps.append(inspect.Parameter(arg_name(p), kind, default=_default(p), annotation=_annotation(p)))
    return inspect.Signature(ps, return_annotation="dict[str, Any]")


def docstring(cap: Capability) -> str:
    """The method's help: the verb's summary and description, each argument with its CLI spelling."""
    lines = [cap.summary]
    if cap.description:
        lines += ["", cap.description]
    lines += ["", f"Same as ``cw {' '.join(cap.path)} --json``; returns that payload"]
    lines[-1] += f" (schemas/{cap.output_schema})." if cap.output_schema else "."
    params = api_params(cap)
    if params:
        lines += ["", "Arguments:"]
        for p in params:
            cli = p.metavar or p.name.upper() if p.positional else p.flag
            extra = []
            if p.choices:
                extra.append("one of " + ", ".join(p.choices))
            if p.default is not None and p.type != "boolean":
                extra.append(f"default {p.default}")
            if _required(p):
                extra.append("required")
            if p.multiple or p.nargs > 1:
                extra.append("a list" if p.nargs == 1 else f"a list of {p.nargs}")
            tail = f" ({'; '.join(extra)})" if extra else ""
            lines.append(f"    {arg_name(p)}: {p.help}{tail} [CLI: {cli}]")
    if cap.examples:
        lines += ["", "CLI examples:", *(f"    {e}" for e in cap.examples)]
    lines += [
        "",
        "Raises UsageError (exit code 2; nothing read or written) for a malformed argument, "
        "RefusedError (exit code 1) when cw declines, with the CLI's message.",
    ]
    return "\n".join(lines)


def _make_method(cap: Capability) -> Callable[..., dict[str, Any]]:
    def method(self: Workspace, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._call(cap, args, kwargs)

    name = method_name(cap)
    method.__name__ = name
    method.__qualname__ = f"Workspace.{name}"
    method.__module__ = "cw.api"
    method.__doc__ = docstring(cap)
    method.__signature__ = signature(cap)  # type: ignore[attr-defined]
    method.capability = cap  # type: ignore[attr-defined]
    return method


def _install() -> None:
    reserved = set(dir(Workspace)) | set(Workspace.__annotations__)
    for cap in all_capabilities():
        name = method_name(cap)
        if name in reserved:
            raise RuntimeError(f"capability {cap.name} would shadow Workspace.{name}")
        params = api_params(cap)
        names = [arg_name(p) for p in params]
        if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
            raise RuntimeError(f"capability {cap.name} has arguments Python cannot spell: {names}")
        setattr(Workspace, name, _make_method(cap))
        reserved.add(name)


_install()
Workspace.__module__ = "cw.api"


# ---------------------------------------------------------------------------
# the typed stub (cw/api.pyi)


def _stub_default(p: Param) -> str:
    d = _default(p)
    if d is inspect.Parameter.empty:
        return ""
    return " = " + (json.dumps(d) if isinstance(d, str) else repr(d))


def _stub_method(cap: Capability) -> list[str]:
    params = api_params(cap)
    parts = ["self"]
    pos = [p for p in params if p.positional]
    opts = [p for p in params if not p.positional]
    parts += [f"{arg_name(p)}: {_annotation(p)}{_stub_default(p)}" for p in pos]
    if opts:
        parts.append("*")
        parts += [f"{arg_name(p)}: {_annotation(p)}{_stub_default(p)}" for p in opts]
    head = f"    def {method_name(cap)}("
    one_line = head + ", ".join(parts) + ") -> dict[str, Any]: ..."
    doc = f'        """{cap.summary}"""'
    if len(one_line) <= 120:
        return [one_line[: -len(" ...")], doc]
    return [head, *(f"        {x}," for x in parts), "    ) -> dict[str, Any]:", doc]


STUB_HEADER = '''"""Types of cw.api. Generated from the capability table by python -m cw.surfaces.python_api --write-stub."""

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
'''


def stub_text() -> str:
    """The text of ``cw/api.pyi``: every generated method with its types."""
    lines = STUB_HEADER.splitlines()
    for cap in all_capabilities():
        lines += _stub_method(cap)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--write-stub"]:
        STUB.write_text(stub_text(), encoding="utf-8")
        return 0
    if argv == ["--check"]:
        if not STUB.is_file() or STUB.read_text(encoding="utf-8") != stub_text():
            print(f"{STUB} is stale: run make generate", file=sys.stderr)
            return 1
        return 0
    print("usage: python -m cw.surfaces.python_api --write-stub | --check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
