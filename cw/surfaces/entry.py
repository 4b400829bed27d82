"""The ``cw`` executable: answers ``--version`` before importing anything, then hands over to the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:  # what click's version option prints, without loading click
        from cw import __version__

        sys.stdout.write(f"cw, version {__version__}\n")
        return
    from cw.surfaces.cli import main as cli_main

    cli_main(args)
