"""The ``cw`` command line, generated from the capability table.

Each capability becomes a click command at its path (``cw metrics show``);
its parameters become arguments and options. stdout carries data only (text,
or the JSON payload with ``--json``); errors go to stderr as ``cw: <message>``
with an optional ``  Try: <hint>`` line. Exit codes: 0 success, 1 refused,
2 usage error (see docs/cli.md).

Start-up matters (hosts call ``cw result`` once per task): a well-formed
command line is run without click by ``cw.surfaces.fastcli`` and never gets
here. What does (help, errors, unusual spellings) and names one verb builds
a root group holding only that verb and imports only the module declaring it
(``group_for``); everything else (``cw --help``, a group's help, an unknown
word, ``mcp``, ``workbench``, ``cron-run``) gets the whole tree, ``cli``,
built on first use. What both paths share is in ``cw.surfaces.cliverb``.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

import click

from cw import __version__
from cw.capabilities import all_capabilities
from cw.model.errors import CwError, UsageError
from cw.shell.paths import undecodable_byte
from cw.surfaces.cliverb import adds_format_option, as_failure, one_verb, run_verb, show_error

if TYPE_CHECKING:
    from cw.capabilities.table import Capability, Param


class CwClickError(click.ClickException):
    """Carries a CwError through click with cw's own formatting and exit code."""

    def __init__(self, err: CwError) -> None:
        super().__init__(err.message)
        self.err = err
        self.exit_code = err.exit_code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: Any = None) -> None:
        show_error(self.err)


class CwGroup(click.Group):
    """Turns every cw error (and I/O failure) into one clear message and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # never show a traceback to a user
            got = as_failure(exc)
            if isinstance(got, int):
                raise SystemExit(got) from None
            raise CwClickError(got) from None


def _param_label(p: click.Parameter, ctx: click.Context) -> str:
    if isinstance(p, click.Argument):
        return p.make_metavar(ctx)
    return max(p.opts, key=len)


def _has_empty_text(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, str) and not v.strip() for v in value)
    return False


class CwCommand(click.Command):
    """A command whose text arguments are checked once, before its handler runs: a value that was not
    valid UTF-8 on the command line is a usage error naming the flag, and nothing is read or written."""

    def invoke(self, ctx: click.Context) -> Any:
        for p in self.params:
            if p.name is None or p.type is click.UNPROCESSED:  # cron-run's command line passes through untouched
                continue
            bad = undecodable_byte(ctx.params.get(p.name))
            if bad is not None:
                raise UsageError(
                    f"Invalid {_param_label(p, ctx)}: not valid UTF-8 (the byte {bad}); nothing was read or written. "
                    "Pass the value as UTF-8 text."
                )
            if isinstance(p, click.Option) and _has_empty_text(ctx.params.get(p.name)):
                # an empty value would otherwise read as "flag not given" and silently pick the default
                raise UsageError(
                    f"Invalid {_param_label(p, ctx)}: the value is empty; give a value or leave the flag out."
                )
        return super().invoke(ctx)


def _click_param(p: Param) -> click.Parameter:
    flags = [p.flag, *([p.cli_short] if p.cli_short else []), p.name]
    if p.positional:
        return click.Argument(
            [p.name], required=p.required and not p.multiple, nargs=-1 if p.multiple else 1, metavar=p.metavar
        )
    kw: dict[str, Any] = {"help": p.help + (" (repeatable)" if p.multiple else "")}
    if p.type == "boolean":
        return click.Option(flags, is_flag=True, default=False, **kw)
    if p.choices:
        kw["type"] = click.Choice(p.choices)
    if p.nargs > 1:
        kw["nargs"] = p.nargs
    if p.multiple:
        kw["multiple"] = True
    if p.metavar:
        kw["metavar"] = p.metavar
    if p.default is not None:
        kw["default"] = p.default
        kw["show_default"] = True
    return click.Option(flags, required=p.required, **kw)


def make_command(cap: Capability) -> click.Command:
    params = [_click_param(p) for p in cap.params if p.cli]
    if adds_format_option(cap):
        params.append(
            click.Option(
                ["--format", "fmt"],
                type=click.Choice(["text", "json"]),
                default=None,
                help="text (default) or json; same as --json",
                hidden=True,
            )
        )

    def callback(**kwargs: Any) -> None:
        code = run_verb(cap, kwargs)
        if code:
            raise SystemExit(code)

    help_text = cap.summary + ("\n\n" + cap.description if cap.description else "")
    epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in cap.examples) if cap.examples else None
    return CwCommand(
        cap.path[-1],
        params=params,
        callback=callback,
        help=help_text,
        epilog=epilog,
        short_help=cap.summary,
        no_args_is_help=False,
    )


GROUP_HELP = {
    "run": "Create, list and show runs.",
    "task": "Add tasks to a run.",
    "worker": "Record worker output or failure.",
    "candidate": "Register, select or reject candidates.",
    "feedback": "Open and move feedback items.",
    "member": "Multi-agent memberships.",
    "loop": "Budget-target loops: rounds of tasks repeated until recorded spend reaches a target.",
    "metrics": "Derived metrics: per run (show) and across runs (summary).",
    "registry": "Repos known to the home scope.",
    "revenue": "Append-only revenue ledger: book, reverse, list.",
    "ledger": "Check revenue ledgers for tampering.",
    "pricing": "Pricing policies: import from genai-prices, check against the workspace.",
    "fx": "FX policies: import the ECB's reference rates.",
    "budget": "Budgets. `cw budget RUN` (or `cw budget show RUN`) shows a run's budgets and its actor's period "
    "budgets with what is left; set, list and remove manage per-period budgets per actor.",
}


ROOT_HELP = """cw keeps AI-agent run state in plain files (.cw/runs/<id>/state.json) and tells you what
every run, app, backend and actor cost and earned.

Exit codes: 0 success, 1 refused (the message says why; nothing was written), 2 usage error."""


def _root() -> click.Group:
    group = CwGroup(
        "cli", help=ROOT_HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
    )
    return click.version_option(__version__, prog_name="cw")(group)


class DefaultGroup(CwGroup):
    """A group that is also a command: ``cw budget RUN`` runs the default, ``cw budget set …`` a subcommand.

    The default is reachable as ``show`` too, so ``cw budget show RUN`` works.
    """

    def __init__(self, name: str, default: click.Command, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.default = default
        self.add_command(default, "show")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


def _add(root: click.Group, cap: Capability) -> None:
    group = root
    for word in cap.path[:-1]:
        sub = group.commands.get(word)
        if sub is None:
            sub = CwGroup(word, help=GROUP_HELP.get(word))
            group.add_command(sub)
        elif not isinstance(sub, click.Group):  # a verb that gains subcommands keeps its own meaning
            sub = DefaultGroup(word, sub, help=f"{GROUP_HELP.get(word, '')}\n\n\b\n{sub.short_help}")
            group.add_command(sub)
        group = sub
    group.add_command(make_command(cap))


@cache
def full_cli() -> click.Group:
    """Every command: the capability table's verbs, then the surfaces that are not verbs."""
    root = _root()
    for cap in all_capabilities():
        _add(root, cap)
    for cmd in (cron_run, mcp_cmd, workbench_cmd):
        root.add_command(cmd)
    return root


def group_for(args: list[str]) -> click.Group:
    """The root group to run ``args`` with: only the named verb when the words name one, else every command."""
    cap = one_verb(args)
    if cap is None:
        return full_cli()
    root = _root()
    _add(root, cap)
    return root


@click.command(
    "cron-run", cls=CwCommand, context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.argument("name")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def cron_run(name: str, command: tuple[str, ...]) -> None:
    """Run COMMAND with CW_CRON_NAME=NAME, so every run and usage record it makes is attributed to cron:NAME.

    A drop-in wrapper for crontab lines; exits with the command's exit code.

    \b
    Example:
      0 3 * * *  cd /srv/repo && cw cron-run nightly-triage -- ./triage.sh
    """
    from cw.core.actor import check_cron_name

    check_cron_name(name, "cw cron-run NAME")
    cmd = list(command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("cw cron-run needs a command after `--` (e.g. cw cron-run nightly -- ./job.sh).")
    import subprocess

    env = dict(os.environ, CW_CRON_NAME=name)
    try:
        rc = subprocess.call(cmd, env=env)
    except FileNotFoundError:
        raise CwError(f"Command not found: {cmd[0]}") from None
    except PermissionError:
        raise CwError(f"Command is not executable: {cmd[0]}") from None
    raise SystemExit(rc if rc >= 0 else 128 - rc)


@click.command("mcp", cls=CwCommand)
def mcp_cmd() -> None:
    """Serve cw's capabilities as MCP tools over stdio (needs: pip install 'cw-runs[mcp]')."""
    from cw.surfaces.mcp_server import serve

    serve()


@click.command("workbench", cls=CwCommand)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=7717,
    show_default=True,
    help="port on 127.0.0.1 (0 picks a free one)",
)
@click.option(
    "--scope", type=click.Choice(["repo", "home"]), default="repo", show_default=True, help="which repos the pages read"
)
@click.option("--cwd", metavar="DIR", help="the repo directory (default: the current directory)")
@click.option("--pricing", metavar="PATH|default", help="pricing policy for cost figures")
def workbench_cmd(port: int, scope: str, cwd: str | None, pricing: str | None) -> None:
    """Serve read-only pages (runs, run detail, summary, P&L) on 127.0.0.1."""
    from cw.shell.workspace import Workspace
    from cw.surfaces.workbench import serve

    serve(Workspace.from_process(), port=port, scope=scope, cwd=cwd, pricing=pricing)


def __getattr__(name: str) -> Any:
    if name == "cli":  # the whole tree, for tests, docgen and the demo
        return full_cli()
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    group_for(args).main(args=args, prog_name="cw")
