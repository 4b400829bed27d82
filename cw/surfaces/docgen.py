"""Generate docs/cli.md from the CLI's command definitions (not from click's help layout).

``python -m cw.surfaces.docgen`` rewrites the file; ``--check`` exits 1 when it
is stale (the test suite runs the check), so the reference never drifts.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from cw.surfaces.cli import DefaultGroup, cli

HEADER = """# cw command reference

Generated from the CLI's own command definitions by `python -m cw.surfaces.docgen`;
do not edit by hand. `cw <command> --help` prints the same in the terminal.

Exit codes for every command: **0** success; **1** refused (the run, file or
policy cannot be used as asked, a lock timed out, a budget or ledger check
failed — the message says why and nothing was written); **2** usage error (a
flag or argument value is malformed — nothing was read or written). Errors go
to stderr as `cw: <message>`, sometimes followed by `  Try: <hint>`; stdout
carries only data (text, or the JSON payload with `--json`).
"""


def _walk(group: click.Group, prefix: list[str]) -> Iterator[tuple[list[str], click.Command]]:
    for name in sorted(group.commands):
        cmd = group.commands[name]
        path = [*prefix, name]
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, path)


def _clean(text: str | None) -> str:
    """Help text as cw wrote it, dedented by cw (click versions clean docstrings differently)."""
    return inspect.cleandoc(text or "").replace("\b\n", "")


def _takes(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return ""
    if isinstance(param.type, click.Choice):
        return "|".join(str(c) for c in param.type.choices)
    return param.metavar or param.name.upper() if param.name else ""


def _option_row(opt: click.Option) -> str:
    names = ", ".join(f"`{o}`" for o in [*opt.opts, *opt.secondary_opts])
    takes = _takes(opt)
    help_text = _clean(opt.help).replace("\n", " ").replace("|", "\\|")
    default = opt.default
    if isinstance(default, (str, int)) and not isinstance(default, bool) and not opt.is_flag:
        help_text += f" (default: {default})"
    cell = "`" + takes.replace("|", "\\|") + "`" if takes else ""
    return f"| {names} | {cell} | {help_text} |"


def _section(path: list[str], cmd: click.Command) -> str:
    args = [p for p in cmd.params if isinstance(p, click.Argument)]
    opts = [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]
    usage = " ".join(["cw", *path, "[OPTIONS]", *(_takes(a) + ("..." if a.nargs == -1 else "") for a in args)])
    rows = [_option_row(o) for o in opts] + ["| `-h`, `--help` |  | show the help and exit |"]
    table = "| option | takes | what it does |\n|---|---|---|\n" + "\n".join(rows)
    return f"## cw {' '.join(path)}\n\n`{usage}`\n\n{_clean(cmd.help)}\n\n{table}\n"


def render() -> str:
    parts = [HEADER]
    for path, cmd in _walk(cli, []):
        if isinstance(cmd, DefaultGroup):  # `cw budget RUN`: the default's section, under the group's name
            parts.append(_section(path, cmd.default))
        elif not isinstance(cmd, click.Group) and not _is_default_alias(path):
            parts.append(_section(path, cmd))
    return "\n".join(parts)


def _is_default_alias(path: list[str]) -> bool:
    parent = cli.commands.get(path[0]) if len(path) == 2 else None
    return isinstance(parent, DefaultGroup) and parent.commands.get(path[1]) is parent.default


def main(argv: list[str]) -> int:
    target = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    text = render()
    if "--check" in argv:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print("docs/cli.md is stale: run python -m cw.surfaces.docgen", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
