"""Where things live: the repo root, run directories, the home registry, containment checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cw.core.state import check_run_id
from cw.model.errors import RefusedError, UsageError


def undecodable_byte(value: Any) -> str | None:
    """The first byte of ``value`` that was not UTF-8 on the command line (``0xff``), or None.

    On POSIX Python decodes argv with ``surrogateescape``: each such byte arrives as a lone surrogate,
    which no file cw writes can hold (and no run id, path or note should). Every surface checks its text
    arguments with this before a handler runs."""
    for v in value if isinstance(value, (list, tuple)) else (value,):
        if isinstance(v, str) and not v.isascii():
            for ch in v:
                if 0xD800 <= ord(ch) <= 0xDFFF:
                    code = ord(ch)
                    return f"0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
    return None


def check_path_text(value: str, flag: str) -> str:
    """A path argument must be text the OS can take: no NUL byte."""
    if "\x00" in value:
        raise UsageError(f"Invalid {flag}: the path contains a NUL byte.")
    return value


def resolve_cwd(cwd: str | None, process_cwd: Path) -> Path:
    """``--cwd DIR`` resolved against the process directory; it must be an existing directory."""
    if cwd is None or cwd == "":
        return process_cwd
    check_path_text(cwd, "--cwd")
    p = (process_cwd / cwd).resolve()
    if not p.is_dir():
        raise UsageError(f"--cwd is not a directory: {p}")
    return p


def cw_home(env: Mapping[str, str]) -> Path:
    """``CW_HOME``, else ``$XDG_STATE_HOME/cool-workflow``, else ``~/.local/state/cool-workflow``."""
    home = env.get("CW_HOME", "").strip()
    if home:
        return Path(home).expanduser().resolve()
    xdg = env.get("XDG_STATE_HOME", "").strip()
    if xdg:
        return Path(xdg).expanduser().resolve() / "cool-workflow"
    return Path(env.get("HOME") or Path.home()).expanduser() / ".local" / "state" / "cool-workflow"


def runs_dir(repo: Path) -> Path:
    """``<repo>/.cw/runs``; a symlinked ``.cw`` or ``.cw/runs`` is refused, never followed out of the repo."""
    d = repo / ".cw" / "runs"
    refuse_symlinks(repo, d)
    return d


def refuse_symlinks(base: Path, target: Path) -> None:
    """Refuse when any component of ``target`` below ``base`` is a symbolic link."""
    rel = target.relative_to(base)
    p = base
    for part in rel.parts:
        p = p / part
        if p.is_symlink():
            raise RefusedError(
                f"Refusing {p}: it is a symbolic link; cw's run files must be real files and folders inside the repo."
            )


def run_dir(repo: Path, run_id: str) -> Path:
    """The run's directory, refusing ids that are not one safe segment or that escape via symlinks."""
    check_run_id(run_id)
    d = runs_dir(repo) / run_id
    refuse_symlinks(repo, d)
    return d


def contained_file(path_arg: str, repo: Path, process_cwd: Path, flag: str = "FILE") -> Path:
    """A file a verb reads, resolved (symlinks followed) and required to lie inside the repo."""
    check_path_text(path_arg, flag)
    raw = Path(path_arg)
    p = raw if raw.is_absolute() else process_cwd / raw
    real = Path(os.path.realpath(p))
    root = Path(os.path.realpath(repo))
    if real != root and root not in real.parents:
        raise RefusedError(
            f"Refusing {flag} {path_arg}: it resolves to {real}, outside the repo {root}. "
            "Copy the file into the repo first."
        )
    return real
