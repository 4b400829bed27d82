"""Running one CLI verb, without click: what the click commands (``cli.py``) and the fast path (``fastcli.py``) share.

Which verb a command line names, the handler's argument dictionary, what is printed and how a failure is
reported live here once, so both paths print the same bytes and exit with the same codes.
"""

from __future__ import annotations

import codecs
import os
import sys
from typing import TYPE_CHECKING, Any

from cw.capabilities import VERB_MODULES, capability_at
from cw.model.errors import EXIT_REFUSED, CwError, from_os_error, internal_error_message

if TYPE_CHECKING:
    from cw.capabilities.table import Capability

EXIT_INTERNAL = 70


def _has_subverbs(cap: Capability) -> bool:
    head = " ".join(cap.path) + " "
    return len(cap.path) == 1 and any(k.startswith(head) for k in VERB_MODULES)


def one_verb(args: list[str]) -> Capability | None:
    """The verb ``args`` names when a root group holding only it can run them; None when it takes the whole tree."""
    words: list[str] = []
    for a in args[:2]:
        if a.startswith("-"):
            break
        words.append(a)
    cap = capability_at(words)
    if cap is None or _has_subverbs(cap):  # `cw budget RUN` and `cw budget set`: one group, built whole
        return None
    return cap


def adds_format_option(cap: Capability) -> bool:
    """Whether the CLI gives the verb the hidden ``--format text|json`` (a verb with ``--json`` and no ``--format``)."""
    return any(p.name == "json" for p in cap.params) and not any(p.flag == "--format" for p in cap.params)


def handler_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The command line's values as a handler gets them: absent ones (None, False, nothing repeated) left out."""
    out: dict[str, Any] = {}
    for k, v in kwargs.items():
        if isinstance(v, tuple):
            v = list(v)
        if v is None or v is False or v == []:
            continue
        out[k] = v
    return out


def render(cap: Capability, payload: Any, as_json: bool) -> str:
    """What the CLI prints for a payload (without the trailing newline)."""
    if as_json or cap.text is None:
        from cw.core.jsonout import dumps

        return dumps(payload)
    return cap.text(payload)


def _plain(stream: Any) -> bool:
    """A stream click.echo would write to as it is: a text stream with an encoding that is not ASCII."""
    encoding = getattr(stream, "encoding", None)
    if not encoding or getattr(stream, "errors", None) is None or os.name == "nt":
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True


def echo(text: str, err: bool = False) -> None:
    """``click.echo(text, err=err)`` without loading click for plain text on a plain stream.

    Text holding an escape character (click strips ANSI codes off a non-terminal) and streams click would
    re-wrap go to click.echo itself."""
    stream = sys.stderr if err else sys.stdout
    if "\x1b" in text or not _plain(stream):
        import click

        click.echo(text, err=err)
        return
    stream.write(text + "\n")
    stream.flush()


def show_error(err: CwError) -> None:
    """``cw: <message>`` (bold and red on a terminal) and ``  Try: <hint>`` on stderr."""
    color = sys.stderr.isatty() and not os.environ.get("NO_COLOR") and not os.environ.get("CW_NO_COLOR")
    if color:
        import click

        echo(f"{click.style('cw:', bold=True)} {click.style(err.message, fg='red')}", err=True)
    else:
        echo(f"cw: {err.message}", err=True)
    if err.hint:
        echo(f"  Try: {err.hint}", err=True)


def as_failure(exc: Exception) -> CwError | int:
    """What a verb's exception tells the user: a CwError to show, or the exit code once it is said.

    A bug is one message and exit 70, never a traceback, unless CW_DEBUG asks for it (then it is re-raised)."""
    if isinstance(exc, CwError):
        return exc
    if isinstance(exc, BrokenPipeError):
        return EXIT_REFUSED
    if isinstance(exc, OSError):
        return from_os_error(exc)
    if os.environ.get("CW_DEBUG"):
        raise exc
    echo(f"cw: {internal_error_message(exc, 'command you ran')}", err=True)
    return EXIT_INTERNAL


def run_verb(cap: Capability, params: dict[str, Any]) -> int:
    """Call the verb with the command line's values (as click's context holds them), print its payload and
    return its exit code."""
    kwargs = dict(params)
    fmt = kwargs.pop("fmt", None)
    as_json = bool(kwargs.pop("json", False)) or fmt == "json"
    from cw.shell.workspace import Workspace

    payload = cap.entry(Workspace.from_process(), handler_args(kwargs))
    echo(render(cap, payload, as_json))
    return cap.exit_code(payload) if cap.exit_code is not None else 0
