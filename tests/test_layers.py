"""Import direction: surfaces -> capabilities -> shell -> core -> model; the core loads no I/O library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "cw"
ORDER = ["model", "core", "shell", "capabilities", "surfaces"]
FORBIDDEN_IN_PURE = {
    "click",
    "filelock",
    "mcp",
    "os",
    "subprocess",
    "socket",
    "http",
    "pathlib",
    "tempfile",
    "shutil",
    "time",
    "random",
    "secrets",
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cw" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ORDER else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    mods = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.append(node.module)
    return mods


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_no_upward_imports(path):
    rel = path.relative_to(PKG).parts
    here = rel[0] if rel[0] in ORDER else None
    if here is None:
        return
    for mod in _imports(path):
        there = _layer(mod)
        if there is not None:
            assert ORDER.index(there) <= ORDER.index(here), f"{path.name} ({here}) imports {mod} ({there})"
        if here in ("model", "core"):
            assert mod.split(".")[0] not in FORBIDDEN_IN_PURE, f"{path.name} imports {mod}: the core is pure"


def test_importing_the_core_loads_no_io_library():
    code = (
        "import sys; import cw.core.metrics, cw.core.pnl, cw.core.ledger, cw.core.transitions; "
        "bad = [m for m in ('click','filelock','mcp','cw.shell','cw.surfaces') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
