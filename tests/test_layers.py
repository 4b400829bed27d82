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


# Calls the pure layers must never make: the clock, files, the environment, processes.
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("os", "environ"),
    ("os", "getenv"),
    ("os", "system"),
    ("os", "popen"),
    ("subprocess", "run"),
    ("subprocess", "Popen"),
    ("subprocess", "check_output"),
    ("uuid", "uuid4"),
    ("uuid", "uuid1"),
}
FORBIDDEN_NAMES = {"open", "input", "print", "getenv", "environ"}


def _world_touches(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            base = node.value
            name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
            if (name, node.attr) in FORBIDDEN_CALLS:
                found.append(f"line {node.lineno}: {name}.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: {node.func.id}()")
        elif isinstance(node, ast.ImportFrom) and node.module in {"os", "time", "subprocess", "uuid"}:
            found += [f"line {node.lineno}: from {node.module} import {a.name}" for a in node.names]
    return found


PURE_FILES = sorted(p for layer in ("core", "model") for p in (PKG / layer).rglob("*.py"))


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_the_pure_layers_call_no_clock_file_environment_or_process(path):
    touches = _world_touches(ast.parse(path.read_text(encoding="utf-8")))
    assert touches == [], f"{path.relative_to(PKG)} touches the world: {touches}"


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.utcnow()",
        "import time\nx = time.time()",
        "import os\nx = os.environ['HOME']",
        "x = open('f').read()",
        "import subprocess\nsubprocess.run(['true'])",
        "from os import getenv",
    ],
)
def test_the_world_check_catches_each_kind_of_touch(source):
    assert _world_touches(ast.parse(source)), source
