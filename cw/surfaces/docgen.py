"""Generate docs/cli.md from the CLI's own ``--help`` output.

``python -m cw.surfaces.docgen`` rewrites the file; ``--check`` exits 1 when it
is stale (the test suite runs the check), so the reference never drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from cw.surfaces.cli import cli

HEADER = """# cw command reference

Generated from `cw <command> --help` by `python -m cw.surfaces.docgen`; do not edit by hand.

Exit codes for every command: **0** success; **1** refused (the run, file or
policy cannot be used as asked, a lock timed out, a budget or ledger check
failed — the message says why and nothing was written); **2** usage error (a
flag or argument value is malformed — nothing was read or written). Errors go
to stderr as `cw: <message>`, sometimes followed by `  Try: <hint>`; stdout
carries only data (text, or the JSON payload with `--json`).
"""


def _walk(group: click.Group, prefix: list[str]):
    for name in sorted(group.commands):
        cmd = group.commands[name]
        path = [*prefix, name]
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, path)


def render() -> str:
    runner = CliRunner()
    parts = [HEADER]
    for path, cmd in _walk(cli, []):
        if isinstance(cmd, click.Group):
            continue
        res = runner.invoke(cli, [*path, "--help"], terminal_width=100)
        parts.append(f"## cw {' '.join(path)}\n\n```\n{res.output.rstrip()}\n```\n")
    return "\n".join(parts)


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
