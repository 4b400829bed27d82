"""The ``cw`` executable: answers ``--version`` before importing anything, runs a plain command line without
click (``fastcli``), and hands everything else to the click CLI."""

from __future__ import annotations

import sys


def _import_msgspec() -> None:
    """Import msgspec without typing_extensions, which it takes when installed (and with it ``inspect``, about
    a tenth of a write's start-up): on Python 3.11+ its fallback, the standard ``typing``, serves every type
    cw declares. Later importers still get typing_extensions; should msgspec ever need it, it is imported."""
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # makes its import fail at once
    try:
        import msgspec  # noqa: F401
    except ImportError:
        pass
    finally:
        del sys.modules["typing_extensions"]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:  # what click's version option prints, without loading click
        from cw import __version__

        sys.stdout.write(f"cw, version {__version__}\n")
        return
    _import_msgspec()
    from cw.surfaces.fastcli import try_run

    code = try_run(args)
    if code is not None:
        raise SystemExit(code)  # as click's standalone main ends
    from cw.surfaces.cli import main as cli_main

    cli_main(args)
