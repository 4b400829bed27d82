"""The ``cw`` executable: answers ``--version`` before importing anything, runs a plain command line without
click (``fastcli``), and hands everything else to the click CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:  # what click's version option prints, without loading click
        from cw import __version__

        sys.stdout.write(f"cw, version {__version__}\n")
        return
    from cw.surfaces.fastcli import try_run

    code = try_run(args)
    if code is not None:
        raise SystemExit(code)  # as click's standalone main ends
    from cw.surfaces.cli import main as cli_main

    cli_main(args)
