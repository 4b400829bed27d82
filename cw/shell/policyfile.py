"""Reading a policy file (pricing, FX, budgets): a regular file, decoded strictly.

JSON lets an object repeat a key and every common parser (msgspec included)
then keeps one of the values without a word, so a policy could mean one
price to cw and another to the person who reads it. ``duplicate_key`` finds
the first repeated key (and where it is) in a second, pure-Python pass; the
loaders refuse the file naming both.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from cw.model.errors import UsageError
from cw.shell.paths import check_path_text

MAX_POLICY_BYTES = 64 * 1024 * 1024  # the bundled pricing policy is ~100 KB


def duplicate_problem(raw: bytes) -> str | None:
    """``duplicate key 'k' in models[3]: ...`` for the first repeated key of ``raw``, or None."""
    dup = duplicate_key(raw)
    if dup is None:
        return None
    return f"duplicate key '{dup[0]}' in {dup[1]}: JSON readers would silently keep one of its values; keep one"


class _Repeated(dict[str, Any]):
    """An object that repeated a key (the first repeat is ``key``)."""

    key = ""


def _pairs(found: list[bool]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out and not found:
                found.append(True)
                rep = _Repeated(out)
                rep.key = k
                rep[k] = v
                out = rep
                continue
            out[k] = v
        return out

    return hook


def _where(doc: Any, path: str) -> tuple[str, str] | None:
    if isinstance(doc, _Repeated):
        return doc.key, path or "(top level)"
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        hit = _where(v, f"{path}[{k}]" if isinstance(k, int) else (f"{path}.{k}" if path else str(k)))
        if hit is not None:
            return hit
    return None


def duplicate_key(raw: bytes) -> tuple[str, str] | None:
    """The first key some object of the JSON document ``raw`` repeats and the JSON path of that object, or None.

    ``raw`` has been decoded once already (so it is valid JSON); numbers are not converted here.
    """
    found: list[bool] = []
    try:
        doc = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_pairs(found),
            parse_float=lambda _: 0,
            parse_int=lambda _: 0,
            parse_constant=lambda _: 0,
        )
    except (ValueError, RecursionError):  # the caller's decoder has already judged the bytes
        return None
    return _where(doc, "") if found else None


#: Arguments that name a file to read, and those that name one to write (``cw pricing import --output``).
FILE_ARGS = ("pricing", "fx", "file")
OUTPUT_ARGS = ("output",)


def _policy_names(name: str) -> set[str]:
    from cw.shell.fxpolicy import BUNDLED_NAMES
    from cw.shell.policies import NAMED_PRICING, NO_POLICY

    if name == "pricing":
        return {*NAMED_PRICING, NO_POLICY, ""}
    if name == "fx":
        return {*BUNDLED_NAMES, "none", ""}
    return set()


def check_served_files(args: dict[str, Any], roots: list[Path], base: Path, label: str) -> None:
    """For a served surface (MCP, the workbench): every file argument is a policy by name or a regular file
    inside one of ``roots`` (the repos the surface serves), an output file a path inside them; refused at once
    otherwise (a FIFO, ``/dev/zero``, a file elsewhere), before anything is opened. ``base`` resolves relative
    paths. The command line keeps its freedom: whoever types a path there can read it anyway."""
    real_roots = [os.path.realpath(r) for r in roots]

    def inside(p: str) -> bool:
        return any(p == r or p.startswith(r.rstrip("/") + "/") for r in real_roots)

    for name in (*FILE_ARGS, *OUTPUT_ARGS):
        value = args.get(name)
        if not isinstance(value, str) or value in _policy_names(name):
            continue
        check_path_text(value, name)
        real = os.path.realpath(os.path.join(base, value))
        where = os.path.dirname(real) if name in OUTPUT_ARGS else real
        if not inside(where):
            raise UsageError(
                f"{label}: {name} {value} resolves to {real}, outside the repos served here "
                f"({', '.join(real_roots)}). Name a policy (default, none) or a file inside them."
            )
        try:
            st = os.stat(real)
        except OSError:
            continue  # a missing file gets the loader's own message
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{label}: {name} {real} is not a regular file.")
