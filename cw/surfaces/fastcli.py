"""The click-free fast path: a well-formed command line naming one verb runs without importing click.

Hosts call ``cw result`` and ``cw task add`` once per task, and importing click is a large share of such a
command. ``parse`` accepts a strict subset of what click accepts and yields exactly the values click's
context would hold; on anything else (help, errors, unusual spellings) it declines and click runs the
command as before, so every message about a command line is still click's. ``tests/test_fastcli.py``
checks the two agree.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cw.capabilities.table import Param
from cw.shell.paths import undecodable_byte
from cw.surfaces.cliverb import adds_format_option, as_failure, echo, one_verb, run_verb, show_error

if TYPE_CHECKING:
    from cw.capabilities.table import Capability

# the hidden option cli.make_command adds to a verb with --json
_FORMAT = Param("fmt", "text or json", choices=("text", "json"), cli_flag="--format")


def _usable(value: str) -> bool:
    # click (or CwCommand) refuses an empty option value and one that was not UTF-8: let it say so
    return bool(value.strip()) and undecodable_byte(value) is None


def parse(cap: Capability, argv: list[str]) -> dict[str, Any] | None:
    """The values click's context would hold for ``argv`` (the words after the verb's), in click's order;
    None when the command line is not one this parser is sure about."""
    params = [p for p in cap.params if p.cli]
    if adds_format_option(cap):
        params.append(_FORMAT)
    spellings: dict[str, Param] = {}
    for p in params:
        if not p.positional:
            spellings[p.flag] = p
            if p.cli_short:
                spellings[p.cli_short] = p
    given: dict[str, Any] = {}  # option values, in the order click meets them
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            if not _usable(arg):
                return None
            words.append(arg)
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        opt = spellings.get(name)  # None: -h, --help, --version, --, -, an unknown option, -oVALUE
        if opt is None or opt.nargs > 1 or (opt.name in given and not opt.multiple):
            return None
        if opt.type == "boolean":
            if eq or opt.multiple:
                return None
            given[opt.name] = True
            continue
        if not eq:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        if value.startswith("-") or not _usable(value) or (opt.choices and value not in opt.choices):
            return None
        if opt.multiple:
            given.setdefault(opt.name, []).append(value)
        else:
            given[opt.name] = value
    out = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    # then the positionals, one word each and a repeatable one (the last) the rest
    positionals = [p for p in params if p.positional]
    for p in positionals:
        if p.multiple:
            if p is not positionals[-1]:
                return None
            out[p.name], words = tuple(words), []
        elif words:
            out[p.name] = words.pop(0)
        elif p.required:
            return None
        else:
            out[p.name] = None
    if words:
        return None
    for p in params:  # then what click fills in for each option not given
        if p.positional or p.name in out:
            continue
        if p.type == "boolean":
            out[p.name] = False
        elif p.default is not None:
            if p.multiple or not isinstance(p.default, str):
                return None
            out[p.name] = p.default
        elif p.required:
            return None
        else:
            out[p.name] = () if p.multiple else None
    return out


def try_run(args: list[str]) -> int | None:
    """Run ``args`` without click and return the exit code, or None (nothing done) to leave them to click."""
    if os.environ.get("CW_NO_FAST_CLI") or os.environ.get("_CW_COMPLETE"):  # _CW_COMPLETE: click's completion
        return None
    cap = one_verb(args)
    if cap is None:
        return None
    params = parse(cap, args[len(cap.path) :])
    if params is None:
        return None
    try:
        return run_verb(cap, params)
    except KeyboardInterrupt:  # what click's main says
        echo("", err=True)
        echo("Aborted!", err=True)
        return 1
    except Exception as exc:
        got = as_failure(exc)
        if isinstance(got, int):
            return got
        show_error(got)
        return got.exit_code
